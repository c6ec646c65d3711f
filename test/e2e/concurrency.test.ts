import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { metricValue, type RoomSocket } from '../../web/client.ts';
import type { BuyResult } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS = 1000;
const STOCK = 100;
const PRICE = 9900;

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

it('2,000 concurrent WebSocket buys by 1,000 users on stock 100: exactly 100 holds, 100 ledger rows, GMV = 100 x price', async () => {
  const host = sys.http(await sys.token('host', 'host-1'));
  const room = await host.createRoom('Flash sale show');
  const now = Date.now();
  const item = await host.addItem(room.id, { title: 'Cherries 2 kg', price: PRICE, stock: STOCK, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 600_000 });
  await host.putOnAir(room.id, item.id);

  // A viewer who never buys: its view must end at 0 remaining.
  const watcher = await sys.connect(room.id, await sys.token('shopper', 'watcher'));
  expect(watcher.view!.doc.onAir).toBe(item.id);
  expect(watcher.view!.stock[item.id]!.available).toBe(STOCK);

  const sockets: RoomSocket[] = [];
  for (let i = 0; i < USERS; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, USERS - i) }, async (_, j) => sys.connect(room.id, await sys.token('shopper', `user-${i + j}`))),
    );
    sockets.push(...batch);
  }

  // Every user makes two attempts at once: even users retry with the same key (a network retry),
  // odd users try again with a new key (a second tap).
  type Attempt = { user: number; key: string; result?: BuyResult };
  const attempts: Attempt[] = [];
  for (let u = 0; u < USERS; u++) {
    attempts.push({ user: u, key: `u${u}-a` });
    attempts.push({ user: u, key: u % 2 === 0 ? `u${u}-a` : `u${u}-b` });
  }
  await Promise.all(
    attempts.map(async (a) => {
      a.result = await sockets[a.user]!.buy(item.id, 1, a.key);
    }),
  );

  const held = attempts.filter((a) => a.result!.outcome === 'held');
  expect(held).toHaveLength(STOCK);
  const heldUsers = new Map<number, number>();
  for (const a of held) heldUsers.set(a.user, (heldUsers.get(a.user) ?? 0) + 1);
  expect(Math.max(...heldUsers.values())).toBe(1); // no user over the limit of 1
  const orderIds = new Set(held.map((a) => (a.result as { orderId: string }).orderId));
  expect(orderIds.size).toBe(STOCK);

  // Retries with the same key got the first answer, marked duplicate; never a second hold.
  const byKey = new Map<string, BuyResult[]>();
  for (const a of attempts) byKey.set(`${a.user}/${a.key}`, [...(byKey.get(`${a.user}/${a.key}`) ?? []), a.result!]);
  for (const results of byKey.values()) {
    if (results.length === 1) continue;
    const dup = results.filter((r) => r.outcome === 'duplicate');
    const firsts = results.filter((r) => r.outcome !== 'duplicate');
    expect(dup).toHaveLength(1);
    expect(firsts).toHaveLength(1);
    expect((dup[0] as { first: BuyResult }).first).toEqual(firsts[0]);
  }
  const refusals = attempts.filter((a) => !['held', 'duplicate'].includes(a.result!.outcome)).map((a) => a.result!.outcome);
  expect(refusals.filter((o) => o !== 'sold_out' && o !== 'limit_reached')).toEqual([]);
  expect(refusals.length + held.length + USERS / 2).toBe(attempts.length);

  // Redis: nothing left, 100 held, one hold per order.
  const k = sys.keys.item(item.id);
  expect(await sys.redis.hmget(k.item, 'avail', 'held', 'sold')).toEqual(['0', String(STOCK), '0']);
  expect(await sys.redis.hlen(k.holds)).toBe(STOCK);

  // The ledger: exactly 100 order rows once the pipeline drains, and the figures from them.
  await waitFor('100 orders in Postgres', async () => {
    const r = await sys.db.selectFrom('orders').select(sql<string>`count(*)`.as('n')).where('room_id', '=', room.id).executeTakeFirstOrThrow();
    return Number(r.n) === STOCK;
  });
  const rows = await sys.db.selectFrom('orders').select(['order_id', 'amount', 'state', 'user_id']).where('room_id', '=', room.id).execute();
  expect(new Set(rows.map((r) => r.order_id))).toEqual(orderIds);
  expect(rows.every((r) => r.state === 'held' && Number(r.amount) === PRICE)).toBe(true);
  const events = await sys.db.selectFrom('order_events').select(sql<string>`count(*)`.as('n')).where('type', '=', 'order.held').executeTakeFirstOrThrow();
  expect(Number(events.n)).toBe(STOCK);

  const ops = sys.http(await sys.token('ops', 'ops-1'));
  const stats = await ops.stats(room.id);
  expect(metricValue(stats, 'ordered_gmv')).toBe(STOCK * PRICE);
  expect(metricValue(stats, 'placed_orders')).toBe(STOCK);

  // Live updates: every viewer ends on 0 remaining.
  await watcher.until((v) => v.stock[item.id]!.available === 0);
  await Promise.all(sockets.slice(0, 50).map((s) => s.until((v) => v.stock[item.id]!.available === 0)));
  for (const s of sockets) s.close();
});
