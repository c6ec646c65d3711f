import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { Bargains, bargainCuts, type BargainStarted } from '../../inventory/bargain.ts';
import { waitFor } from '../helpers/wait.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';
import { outbox, redisNow } from './helpers.ts';
import { bargainFigures, bargainMetrics } from '../../orders/team-stats.ts';

/**
 * Bargains (砍价) on the real Redis, Kafka and Postgres: the K-th help reaches the floor exactly,
 * every cut is the seeded generator's and at least 1 fen, a user helps once, and the starter
 * buys at the current price through the normal hold and payment.
 */

let p: Pipeline;
let bargains: Bargains;

beforeAll(async () => {
  p = await startPipeline(createRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'bargain-test'), { confirmTimeoutMs: 10_000 });
  bargains = new Bargains({ redis: p.redis, keys: p.keys, scripts: p.scripts });
}, 120_000);

afterAll(async () => {
  await p?.stop();
  p?.redis.disconnect();
});

async function bargainItem(spec: { start: number; floor: number; helpers: number; windowMs?: number; newUsersOnly?: boolean }): Promise<string> {
  const now = await redisNow(p.redis);
  const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'bargain', price: spec.start, totalStock: 100, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 60 });
  await p.flash.createItem({ itemId: row.id, roomId: p.roomId, total: 100, price: spec.start, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 60_000 });
  await bargains.configure(row.id, { windowMs: 600_000, ...spec });
  return row.id;
}

function started(r: Awaited<ReturnType<Bargains['start']>>): BargainStarted {
  if (r.outcome !== 'started' && r.outcome !== 'existing') throw new Error(`no bargain: ${JSON.stringify(r)}`);
  return r;
}

async function seedOf(itemId: string, bargainId: string): Promise<number> {
  const e = (await outbox(p.redis, p.keys.item(itemId))).find((x) => x.type === 'bargain.started' && x.bargain === bargainId);
  return e!.seed as number;
}

describe('bargain', () => {
  it('the K-th help reaches the floor exactly, each cut the seeded draw and at least 1 fen; a second help by the same user is refused; the starter buys at the floor', async () => {
    const itemId = await bargainItem({ start: 9900, floor: 100, helpers: 7 });
    const b = started(await bargains.start(itemId, 'starter'));
    expect(b).toMatchObject({ outcome: 'started', price: 9900, floor: 100, helpers: 7 });
    expect(started(await bargains.start(itemId, 'starter'))).toMatchObject({ outcome: 'existing', bargainId: b.bargainId });
    expect((await bargains.help(itemId, b.bargainId, 'starter')).outcome).toBe('already_helped');
    const expected = bargainCuts(await seedOf(itemId, b.bargainId), 9900, 100, 7);
    const cuts: number[] = [];
    let price = 9900;
    for (let i = 1; i <= 7; i++) {
      const h = await bargains.help(itemId, b.bargainId, `helper${i}`);
      if (h.outcome !== 'helped') throw new Error(JSON.stringify(h));
      expect(h.cut).toBeGreaterThanOrEqual(1);
      price -= h.cut;
      expect(h).toMatchObject({ price, helped: i });
      cuts.push(h.cut);
      if (i === 3) expect((await bargains.help(itemId, b.bargainId, 'helper3')).outcome).toBe('already_helped');
    }
    expect(cuts).toEqual(expected);
    expect(price).toBe(100);
    expect((await bargains.help(itemId, b.bargainId, 'helper8')).outcome).toBe('bargain_at_floor');
    const view = (await bargains.bargain(itemId, b.bargainId))!;
    expect(view).toMatchObject({ state: 'open', price: 100, helped: 7, helperIds: ['helper1', 'helper2', 'helper3', 'helper4', 'helper5', 'helper6', 'helper7'] });

    const held = await bargains.buy(itemId, b.bargainId, 'starter');
    if (held.outcome !== 'held') throw new Error(JSON.stringify(held));
    expect(held).toMatchObject({ unitPrice: 100, already: false });
    expect((await bargains.buy(itemId, b.bargainId, 'helper1')).outcome).toBe('bargain_not_found');
    expect(await bargains.buy(itemId, b.bargainId, 'starter')).toMatchObject({ orderId: held.orderId, already: true });
    const paid = await p.payments.pay(itemId, held.orderId, 'starter');
    expect(paid.amount).toBe(100);
    expect((await bargains.help(itemId, b.bargainId, 'helper9')).outcome).toBe('bargain_closed');
    await p.drain();
    const row = await p.db.selectFrom('orders').select(['state', 'paid_amount', 'unit_price']).where('order_id', '=', held.orderId).executeTakeFirstOrThrow();
    expect(row.state).toBe('paid');
    expect([Number(row.unit_price), Number(row.paid_amount)]).toEqual([100, 100]);
    expect(await bargains.counts(itemId)).toEqual({ started: 1, helps: 7, bought: 1 });
    const figures = await bargainFigures(p.db, p.roomId);
    expect(figures).toEqual({ started: 1, helped: 7, bought: 1 });
    expect(bargainMetrics(figures).map((m) => [m.metric, m.value])).toEqual([
      ['bargains_started', 1],
      ['bargains_helped', 7],
      ['bargains_bought', 1],
    ]);
    console.log(`bargain: 9900 -> 100 fen in 7 helps, cuts ${cuts.join(' + ')} = ${cuts.reduce((a, c) => a + c, 0)} fen; bought and paid at ${paid.amount} fen`);
  }, 60_000);

  it('the scripts draw the same cuts as bargainCuts for random terms, and 60 concurrent helpers make exactly K helps', async () => {
    for (let round = 0; round < 12; round++) {
      const helpers = 1 + Math.floor(Math.random() * 12);
      const floor = Math.floor(Math.random() * 500);
      const start = floor + helpers + Math.floor(Math.random() * 3000);
      const itemId = await bargainItem({ start, floor, helpers });
      const b = started(await bargains.start(itemId, 's'));
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => bargains.help(itemId, b.bargainId, `h${i}`)));
      const helped = results.filter((r) => r.outcome === 'helped');
      expect(helped.length).toBe(helpers);
      expect(results.filter((r) => r.outcome === 'bargain_at_floor').length).toBe(60 - helpers);
      const cuts = helped.map((h) => (h.outcome === 'helped' ? h : undefined)!).sort((x, y) => x.helped - y.helped).map((h) => h.cut);
      expect(cuts).toEqual(bargainCuts(await seedOf(itemId, b.bargainId), start, floor, helpers));
      expect((await bargains.bargain(itemId, b.bargainId))!.price).toBe(floor);
    }
  }, 120_000);

  it('bargainCuts: K cuts, each at least 1 fen, summing to start - floor exactly, for any seed and terms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2_147_483_646 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 1_000_000 }), (seed, helpers, floor, extra) => {
        const start = floor + helpers + extra;
        const cuts = bargainCuts(seed, start, floor, helpers);
        expect(cuts.length).toBe(helpers);
        expect(cuts.every((c) => Number.isInteger(c) && c >= 1)).toBe(true);
        expect(cuts.reduce((a, c) => a + c, 0)).toBe(start - floor);
      }),
      { numRuns: 500 },
    );
  });

  it('new users only: a shopper who has held the item may not help; a bargain past its window takes no help and no buy', async () => {
    const itemId = await bargainItem({ start: 1000, floor: 500, helpers: 3, newUsersOnly: true, windowMs: 2000 });
    const buyer = await p.flash.reserve(itemId, 'old', 1, 'k1');
    expect(buyer.outcome).toBe('held');
    const b = started(await bargains.start(itemId, 's'));
    expect((await bargains.help(itemId, b.bargainId, 'old')).outcome).toBe('not_new_user');
    expect((await bargains.help(itemId, b.bargainId, 'fresh')).outcome).toBe('helped');
    await waitFor('the bargain window ended', async () => (await redisNow(p.redis)) >= b.endsAt, 10_000);
    expect((await bargains.help(itemId, b.bargainId, 'fresh2')).outcome).toBe('bargain_closed');
    expect((await bargains.buy(itemId, b.bargainId, 's')).outcome).toBe('bargain_closed');
    expect((await bargains.bargain(itemId, b.bargainId))!.state).toBe('expired');
    expect((await bargains.help(itemId, 'nosuch', 'fresh')).outcome).toBe('bargain_not_found');
  }, 30_000);
});
