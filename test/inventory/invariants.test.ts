import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import type { LivesaleError } from '../../common/platform/errors.ts';
import type { Held } from '../../inventory/flash-sale.ts';
import type { Joined } from '../../inventory/group-buy.ts';
import { parseHold } from '../../inventory/item-ops.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { waitFor } from '../helpers/wait.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';
import { redisNow } from './helpers.ts';

/**
 * Invariants under load: many concurrent clients mix reservations (any quantity, replayed
 * idempotency keys, and keys reused with another quantity, which are refused), payments (some at stale versions, some after their deadline), cancellations,
 * expiry by several sweepers at once, and host stock adjustments, on a flash sale and a tiered
 * group buy at once. During the run every sample of the counters balances; after it drains,
 * every inventory invariant of docs/architecture.md holds exactly, in Redis and in the ledger.
 */

const LIMIT = 3;
const USERS = 50;
let p: Pipeline;

beforeAll(async () => {
  // The production confirmation bound: on a busy machine Kafka's acknowledgement can take seconds.
  p = await startPipeline(createRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'invariants-test'), { confirmTimeoutMs: 5000 });
});

afterAll(async () => {
  await p?.stop();
  p?.redis.disconnect();
});

/** A reservation as sent: a retry sends the same user, key and quantity. */
interface Sent {
  user: string;
  idem: string;
  qty: number;
  held: boolean;
}

interface Book {
  holds: (Held | Joined)[];
  byIdem: Map<string, string>;
  /** Every first request, for replays. */
  sent: Sent[];
  /** Replays of a held key with another quantity, refused as IDEMPOTENCY_KEY_REUSED. */
  reused: number;
  paid: Set<string>;
  refusedExpired: Set<string>;
  cancelled: Set<string>;
  adjust: number;
  unexpected: string[];
}

function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}

async function item(kind: 'flash' | 'group', total: number): Promise<string> {
  const now = await redisNow(p.redis);
  const row = await p.catalog.createItem({ roomId: p.roomId, kind, title: kind, price: 1000, totalStock: total, perUserLimit: LIMIT, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 10 });
  const common = { itemId: row.id, roomId: p.roomId, perUserLimit: LIMIT, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 1000, remindMs: 500 };
  if (kind === 'flash') await p.flash.createItem({ ...common, total, price: 1000 });
  else await p.groups.create({ ...common, capacity: total, basePrice: 1000, tiers: [{ threshold: 10, price: 900 }, { threshold: 25, price: 800 }], countBy: 'people', belowFirstTier: 'base' });
  return row.id;
}

async function client(kind: 'flash' | 'group', itemId: string, book: Book, stop: () => boolean): Promise<void> {
  const mine: (Held | Joined)[] = [];
  while (!stop()) {
    const dice = rnd(100);
    try {
      if (dice < 45) {
        // A quarter are replays of an earlier request: the same user, key and quantity.
        const replay = rnd(4) === 0 && book.sent.length ? book.sent[rnd(book.sent.length)]! : undefined;
        const user = replay?.user ?? `u${rnd(USERS)}`;
        const idem = replay?.idem ?? `i${rnd(1e9)}`;
        const qty = replay?.qty ?? (kind === 'flash' ? 1 + rnd(3) : 1 + rnd(2));
        const buy = (q: number) => (kind === 'flash' ? p.flash.reserve(itemId, user, q, idem) : p.groups.join(itemId, user, q, idem));
        if (replay?.held && rnd(4) === 0) {
          // The key of a hold with another quantity: another request, refused; it changes nothing.
          try {
            const r = await buy(qty + 1);
            book.unexpected.push(`idempotency key ${user} ${idem} sent with another quantity answered ${r.outcome}`);
          } catch (err) {
            if ((err as LivesaleError).code !== 'IDEMPOTENCY_KEY_REUSED') throw err;
            book.reused++;
          }
          continue;
        }
        const r = await buy(qty);
        if (replay && r.outcome !== 'duplicate') book.unexpected.push(`the replay of ${user} ${idem} answered ${r.outcome}, not its first answer`);
        const first = r.outcome === 'duplicate' ? r.first : r;
        // Recorded once answered: a replay never races its first request.
        if (!replay) book.sent.push({ user, idem, qty, held: first.outcome === 'held' });
        if (first.outcome === 'held') {
          const key = `${user} ${idem}`;
          const seen = book.byIdem.get(key);
          if (seen && seen !== first.orderId) book.unexpected.push(`idempotency key ${key} answered ${first.orderId} after ${seen}`);
          if (!seen) book.byIdem.set(key, first.orderId);
          if (!book.holds.some((h) => h.orderId === first.orderId)) {
            book.holds.push(first);
            mine.push(first);
          }
        }
      } else if (dice < 75 && mine.length) {
        const h = mine[rnd(mine.length)]!;
        const holder = [...book.byIdem].find(([, o]) => o === h.orderId)![0].split(' ')[0]!;
        const version = rnd(10) === 0 ? 2 : 1;
        try {
          await p.payments.pay(itemId, h.orderId, holder, version);
          book.paid.add(h.orderId);
        } catch (err) {
          const code = (err as LivesaleError).code;
          if (code === 'HOLD_EXPIRED') book.refusedExpired.add(h.orderId);
          else if (!['HOLD_CHANGED', 'HOLD_CANCELLED'].includes(code)) throw err;
        }
      } else if (dice < 85 && mine.length) {
        const h = mine[rnd(mine.length)]!;
        const holder = [...book.byIdem].find(([, o]) => o === h.orderId)![0].split(' ')[0]!;
        try {
          const c = await p.flash.cancel(itemId, h.orderId, { userId: holder });
          if (!c.already) book.cancelled.add(h.orderId);
        } catch (err) {
          if (!['HOLD_EXPIRED', 'ORDER_PAID'].includes((err as LivesaleError).code)) throw err;
        }
      } else if (dice < 92) {
        const delta = rnd(2) ? 1 + rnd(10) : -(1 + rnd(10));
        try {
          await p.flash.adjustStock(itemId, delta, 'host-1');
          book.adjust += delta;
        } catch (err) {
          if ((err as LivesaleError).code !== 'STOCK_BELOW_COMMITTED') throw err;
        }
      }
    } catch (err) {
      book.unexpected.push(`${(err as Error).message}`);
    }
  }
}

it('every invariant holds exactly after a randomized storm of reserve, pay, cancel, expire and stock adjustments', async () => {
  const items = { flash: await item('flash', 120), group: await item('group', 120) };
  const books: Record<string, Book> = {};
  let stop = false;
  const samples: string[] = [];
  let sampled = 0;
  const sampler = (async () => {
    while (!stop) {
      for (const id of Object.values(items)) {
        const [a, h, s, t] = (await p.redis.hmget(p.keys.item(id).item, 'avail', 'held', 'sold', 'total')).map(Number);
        sampled++;
        if (a! + h! + s! !== t! || a! < 0) samples.push(`item ${id}: ${a} + ${h} + ${s} != ${t}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const sweepers = Array.from({ length: 3 }, () => new Sweeper({ redis: p.redis, keys: p.keys, scripts: p.scripts, intervalMs: 20, batch: 7 }));
  for (const s of sweepers) s.start();
  const clients: Promise<void>[] = [];
  for (const [kind, id] of Object.entries(items) as ['flash' | 'group', string][]) {
    const book: Book = { holds: [], byIdem: new Map(), sent: [], reused: 0, paid: new Set(), refusedExpired: new Set(), cancelled: new Set(), adjust: 0, unexpected: [] };
    books[id] = book;
    for (let i = 0; i < 15; i++) clients.push(client(kind, id, book, () => stop));
  }
  await new Promise((r) => setTimeout(r, 3000));
  stop = true;
  await Promise.all([...clients, sampler]);
  // Drain: every hold's deadline passes and the sweepers expire what was not paid.
  const last = Math.max(...Object.values(books).flatMap((b) => b.holds.map((h) => h.deadline)));
  await waitFor('every deadline passed', async () => (await redisNow(p.redis)) > last, 10_000, 20);
  await waitFor('no unpaid hold left', async () => {
    for (const id of Object.values(items)) if ((await p.redis.zcard(p.keys.item(id).deadlines)) > 0) return false;
    return true;
  });
  for (const s of sweepers) await s.stop();
  await p.drain();

  expect(samples).toEqual([]);
  expect(sampled).toBeGreaterThan(50);
  for (const [kind, id] of Object.entries(items)) {
    const book = books[id]!;
    expect(book.unexpected).toEqual([]);
    expect(book.holds.length).toBeGreaterThan(50);
    expect(book.reused).toBeGreaterThan(0);
    expect(book.paid.size).toBeGreaterThan(10);
    const v = (await p.flash.view(id))!;

    // 1. available + held + sold = total, available >= 0; after the drain nothing is held.
    expect(v.available + v.held + v.sold).toBe(v.total);
    expect(v.available).toBeGreaterThanOrEqual(0);
    expect(v.held).toBe(0);
    expect(v.total).toBe(120 + book.adjust);
    const byId = new Map(book.holds.map((h) => [h.orderId, h]));
    expect(v.sold).toBe([...book.paid].reduce((s, o) => s + byId.get(o)!.qty, 0));

    // 2. Per user, held + bought never exceeds the limit, and the users hash says exactly that.
    const holds = await p.redis.hgetall(p.keys.item(id).holds);
    const perUser = new Map<string, number>();
    for (const [orderId, raw] of Object.entries(holds)) {
      if (orderId.includes(' ')) continue;
      const h = parseHold(orderId, raw)!;
      if (h.state === 'paid') perUser.set(h.userId, (perUser.get(h.userId) ?? 0) + h.qty);
      expect(['paid', 'cancelled', 'expired']).toContain(h.state);
      expect(h.state === 'paid').toBe(book.paid.has(orderId));
    }
    const users = await p.redis.hgetall(p.keys.item(id).users);
    for (const [u, q] of perUser) {
      expect(q).toBeLessThanOrEqual(LIMIT);
      expect(Number(users[u])).toBe(q);
    }
    expect(Object.keys(users).filter((f) => !f.includes(' ')).sort()).toEqual([...perUser.keys()].sort());

    // 3. The same idempotency key always returned the first answer (checked as answers came),
    //    and no two keys share an order.
    expect(new Set(book.byIdem.values()).size).toBe(book.byIdem.size);

    // 4. Every reservation is in the ledger exactly once (written by the call that reserved it).
    const events = await p.db.selectFrom('order_events').select(['event_id', 'type', 'order_id', 'payload']).where('item_id', '=', id).execute();
    const heldEvents = events.filter((e) => e.type === 'order.held');
    expect(heldEvents.map((e) => e.order_id).sort()).toEqual(book.holds.map((h) => h.orderId).sort());

    // 5. Every unpaid hold returned its stock exactly once; no payment after expiry counted.
    const expired = events.filter((e) => e.type === 'order.expired').map((e) => e.order_id!);
    const cancelled = events.filter((e) => e.type === 'order.cancelled').map((e) => e.order_id!);
    const paid = new Set(events.filter((e) => e.type === 'order.paid').map((e) => e.order_id!));
    expect(new Set(expired).size).toBe(expired.length);
    expect(new Set([...expired, ...cancelled]).size).toBe(expired.length + cancelled.length);
    for (const o of expired) expect(paid.has(o)).toBe(false);
    for (const o of book.refusedExpired) expect(expired).toContain(o);
    expect(paid).toEqual(book.paid);
    expect(new Set([...expired, ...cancelled, ...paid])).toEqual(new Set(book.holds.map((h) => h.orderId)));
    expect(new Set(cancelled)).toEqual(book.cancelled);

    // The ledger and Redis agree exactly.
    const [audit] = await p.auditor.audit([id]);
    expect(audit).toMatchObject({ ok: true, drift: [] });

    if (kind === 'group') {
      // The group counts the people holding or owning units.
      expect(v.group!.count).toBe(perUser.size);
    }
  }
});
