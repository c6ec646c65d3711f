import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Held } from '../../inventory/flash-sale.ts';
import { startRedis, type RedisProcess } from '../../scripts/stack/redis.ts';
import { privateRedis } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

/**
 * Redis loses its data in the middle of a sale (a private Redis, wiped or restarted without
 * persistence). The item fails closed, is rebuilt from the ledger, reopens, and the sale goes on.
 * Afterwards: no oversell, every confirmed payment is in the ledger, Redis equals the ledger.
 */

const TOTAL = 400;

let server: Awaited<ReturnType<typeof privateRedis>>;
/** The server after a restart (a new process on the same port and directory). */
let restarted: RedisProcess | undefined;
let redis: Redis;
let p: Pipeline;

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis({ redisUrl: server.url }, 'redis-loss-test');
  p = await startPipeline(redis);
});

afterAll(async () => {
  await p?.stop();
  redis?.disconnect();
  await restarted?.stop();
  await server?.destroy();
});

interface Tally {
  held: Held[];
  confirmed: Set<string>;
  unavailable: number;
  failed: number;
  refusedLost: number;
}

/** Shoppers buying and paying until told to stop. */
function shoppers(itemId: string, n: number, stop: () => boolean): { done: Promise<void>; tally: Tally } {
  const tally: Tally = { held: [], confirmed: new Set(), unavailable: 0, failed: 0, refusedLost: 0 };
  let seq = 0;
  const one = async (worker: number) => {
    while (!stop()) {
      const user = `w${worker}-${seq++}`;
      try {
        const r = await p.flash.reserve(itemId, user, 1 + (seq % 2), `k-${user}`);
        if (r.outcome !== 'held') {
          if (r.outcome === 'sold_out' || r.outcome === 'insufficient_stock') await new Promise((res) => setTimeout(res, 5));
          continue;
        }
        tally.held.push(r);
        if (seq % 10 < 7) {
          const paid = await p.payments.pay(itemId, r.orderId, user, r.version);
          tally.confirmed.add(paid.orderId);
        }
      } catch (err) {
        if (err instanceof LivesaleError && err.code === 'ITEM_UNAVAILABLE') tally.unavailable++;
        else if (err instanceof LivesaleError && err.code === 'ORDER_NOT_FOUND') tally.refusedLost++;
        else tally.failed++;
        await new Promise((res) => setTimeout(res, 5));
      }
    }
  };
  return { done: Promise.all(Array.from({ length: n }, (_, i) => one(i))).then(() => undefined), tally };
}

async function newItem(): Promise<string> {
  const now = Date.now();
  const row = await p.catalog.createItem({
    roomId: p.roomId,
    kind: 'flash',
    title: 'Cherries',
    price: 9900,
    totalStock: TOTAL,
    perUserLimit: 2,
    startsAt: now - 1000,
    endsAt: now + 600_000,
    holdSeconds: 600,
  });
  await p.flash.createItem({ itemId: row.id, roomId: p.roomId, total: TOTAL, price: 9900, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
  return row.id;
}

async function saleWithLoss(lose: () => Promise<void>): Promise<{ itemId: string; tally: Tally }> {
  const itemId = await newItem();
  let stop = false;
  const { done, tally } = shoppers(itemId, 24, () => stop);
  await waitFor('the sale under way', () => tally.held.length >= 80, 30_000, 10);
  await lose();
  await waitFor('the item rebuilt and reopened', () => p.rebuilt.some((r) => r.itemId === itemId), 60_000, 20);
  await waitFor('the sale to sell out after the rebuild', async () => (await p.flash.view(itemId))?.available === 0, 60_000, 20);
  stop = true;
  await done;
  await p.drain();
  return { itemId, tally };
}

async function checkAgainstLedger(itemId: string, tally: Tally): Promise<void> {
  // Redis equals the ledger, exactly (the auditor's comparison), and is not behind it.
  const [audit] = await p.auditor.audit([itemId]);

  expect(audit).toMatchObject({ itemId, ok: true, drift: [] });
  const v = (await p.flash.view(itemId))!;
  expect(v.available + v.held + v.sold).toBe(v.total);
  expect(v.available).toBeGreaterThanOrEqual(0);

  // No oversell in the ledger: what is held and paid never exceeds the stock.
  const rows = await p.db.selectFrom('orders').select(['order_id', 'state', 'qty']).where('item_id', '=', itemId).execute();
  const qty = (state: string) => rows.filter((r) => r.state === state).reduce((s, r) => s + r.qty, 0);
  expect(qty('held') + qty('paid')).toBeLessThanOrEqual(TOTAL);
  // The final counts equal the ledger's.
  expect({ held: v.held, sold: v.sold }).toEqual({ held: qty('held'), sold: qty('paid') });

  // Every payment confirmed to a payer is in the ledger, as paid.
  const paid = new Set(rows.filter((r) => r.state === 'paid').map((r) => r.order_id));
  const missing = [...tally.confirmed].filter((id) => !paid.has(id));
  expect(missing).toEqual([]);
  expect(tally.confirmed.size).toBeGreaterThan(0);
}

describe('when Redis loses data in the middle of a sale', () => {
  beforeAll(() => {
    p.keeper.start();
  });

  it('wiped (FLUSHALL): fails closed, rebuilds from the ledger, reopens; no oversell, no confirmed payment lost', async () => {
    const { itemId, tally } = await saleWithLoss(async () => {
      await redis.flushall();
    });
    expect(tally.unavailable).toBeGreaterThan(0); // no sale while unsure
    await checkAgainstLedger(itemId, tally);
    const report = p.rebuilt.find((r) => r.itemId === itemId)!;
    expect(report.ver).toBeGreaterThan(1_000_000);

    // The idempotency record of a restored order answers as the first time.
    // (A retry is the same request: the same user, key and quantity.)
    const rows = await p.db.selectFrom('orders').select(['order_id', 'user_id', 'idem', 'qty']).where('item_id', '=', itemId).where('state', '=', 'paid').where('idem', 'is not', null).limit(1).execute();
    const again = await p.flash.reserve(itemId, rows[0]!.user_id, rows[0]!.qty, rows[0]!.idem!);
    expect(again).toMatchObject({ outcome: 'duplicate', first: { outcome: 'held', orderId: rows[0]!.order_id } });
  });

  it('restarted without persistence: the same, with the script cache gone too', async () => {
    const { itemId, tally } = await saleWithLoss(async () => {
      await server.stop();
      restarted = await startRedis({ port: server.port, dir: server.dir });
    });
    await checkAgainstLedger(itemId, tally);
    expect(tally.unavailable + tally.failed).toBeGreaterThan(0);
  });
});
