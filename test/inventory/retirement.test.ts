import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { Bargains } from '../../inventory/bargain.ts';
import { recordRetired } from '../../inventory/retirement.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { TeamBuy } from '../../inventory/team-buy.ts';
import { idleLoad, type IdleLoad } from '../../scripts/stack/idle-load.ts';
import { privateRedis } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait.ts';
import { redisNow } from './helpers.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

/**
 * State that retires: 1,000 items are created and finished (two of them with real sales: holds
 * paid, cancelled and expired, a tiered group that settles), the sweeper and the relay drain
 * them, they retire, and once the (short) retention has passed, the idle Redis load of the
 * sweeper, the relay and the keeper, and the key count, are those of a fresh system. The sale
 * items' ledger matches what happened, and a retired item refuses everything without a 5xx and
 * is never rebuilt as if Redis had lost it.
 *
 * Everything runs against a private redis-server, so INFO commandstats counts only the
 * components under test.
 */

const finishedItems = 1000;
const retentionMs = 8000;
const windowMs = 4000;
/** The bound: idle commands within 5 % of a fresh system's, plus 2 commands of timer jitter per window. */
const relativeBound = 0.05;
const jitterCommands = 2;

let server: Awaited<ReturnType<typeof privateRedis>>;
let redis: Redis;
let p: Pipeline;
let retiring: Sweeper;
let fresh: IdleLoad;

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis({ redisUrl: server.url }, 'retirement-test');
  p = await startPipeline(redis);
  retiring = new Sweeper({
    redis,
    keys: p.keys,
    scripts: p.scripts,
    log: p.log,
    retentionMs,
    retireGraceMs: 0,
    onRetired: (items) => recordRetired(p.db, items),
  });
}, 60_000);

afterAll(async () => {
  await retiring?.stop();
  await p?.stop();
  redis?.disconnect();
  await server?.destroy();
});

describe('state that retires', () => {
  it('1,000 finished items leave no idle load and no keys behind; their sales are in the ledger', async () => {
    // A fresh system: the same components, no items.
    retiring.start();
    p.keeper.start();
    fresh = await idleLoad(redis, windowMs);

    const now = await redisNow(redis);
    // Items that ended without a sale, up to 1,000.
    for (let i = 0; i < finishedItems - 2; i++) {
      await p.flash.createItem({ itemId: `idle-${i}`, roomId: p.roomId, total: 5, price: 100, perUserLimit: 1, startsAt: now - 2000, endsAt: now - 1000, holdMs: 1000 });
    }
    // A flash sale with real sales.
    const flashRow = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'f', price: 1000, totalStock: 10, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 2 });
    const flashId = flashRow.id;
    await p.flash.createItem({ itemId: flashId, roomId: p.roomId, total: 10, price: 1000, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 2000 });
    const paid = await p.flash.reserve(flashId, 'u1', 2, 'k-u1');
    const cancelled = await p.flash.reserve(flashId, 'u2', 1, 'k-u2');
    const expiring = await p.flash.reserve(flashId, 'u3', 1, 'k-u3');
    if (paid.outcome !== 'held' || cancelled.outcome !== 'held' || expiring.outcome !== 'held') throw new Error('no holds');
    await p.payments.pay(flashId, paid.orderId, 'u1');
    await p.flash.cancel(flashId, cancelled.orderId, { userId: 'u2' });

    // A tiered group buy: two join, one pays; closed by the host; the sweeper settles it.
    const tiers = [{ threshold: 2, price: 400 }];
    const groupRow = await p.catalog.createItem({ roomId: p.roomId, kind: 'group', title: 'g', price: 500, totalStock: 10, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 2, group: { tiers, countBy: 'people', belowFirstTier: 'fail' } });
    const groupId = groupRow.id;
    await p.groups.create({ itemId: groupId, roomId: p.roomId, capacity: 10, basePrice: 500, tiers, countBy: 'people', belowFirstTier: 'fail', perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 2000 });
    const x = await p.groups.join(groupId, 'x', 1, 'k-x');
    const y = await p.groups.join(groupId, 'y', 1, 'k-y');
    if (x.outcome !== 'held' || y.outcome !== 'held') throw new Error('no group holds');
    await p.payments.pay(groupId, x.orderId, 'x');

    // The shows end.
    await p.flash.setWindow(flashId, undefined, 'now', 'host');
    await p.groups.setWindow(groupId, undefined, 'now', 'host');

    // The sweeper expires the unpaid hold; the relay drains the outbox; the item retires.
    const retiredAt = await waitFor('the flash item retired', () => redis.hget(p.keys.item(flashId).item, 'retired'), 60_000, 50);
    expect(Number(retiredAt)).toBeGreaterThanOrEqual(now);
    // Retired, keys still kept (for the retention): counters hold, answers repeat, nothing changes any more.
    const view = await p.flash.view(flashId);
    expect(view).toBeDefined();
    expect(view!.available + view!.held + view!.sold).toBe(view!.total);
    expect([view!.available, view!.held, view!.sold]).toEqual([8, 0, 2]);
    expect(await p.flash.reserve(flashId, 'u1', 2, 'k-u1')).toMatchObject({ outcome: 'duplicate', first: { outcome: 'held', orderId: paid.orderId } });
    expect(await p.flash.reserve(flashId, 'u9', 1, 'k-new')).toMatchObject({ outcome: 'ended' });
    const refund = await p.flash.cancel(flashId, paid.orderId, { host: 'host' }).catch((e: unknown) => e);
    expect(refund).toBeInstanceOf(LivesaleError);
    expect(refund).toMatchObject({ code: 'ENDED', status: 409, details: { retired: true } });
    const reopen = await p.flash.setWindow(flashId, undefined, now + 3_600_000, 'host').catch((e: unknown) => e);
    expect(reopen).toMatchObject({ code: 'ENDED' });
    expect((await p.payments.pay(flashId, paid.orderId, 'u1')).already).toBe(true);
    // The group settles and every other item retires too, and all leave the registry.
    await waitFor('every item retired and out of the registry', async () => (await redis.scard(p.keys.outboxRegistry)) === 0, 60_000, 100);
    await p.fence.wait(30_000);

    // Ledger: every order in its final state, the money as it happened.
    const orders = await p.db.selectFrom('orders').select(['order_id', 'item_id', 'state', 'qty', 'amount', 'refunded_amount']).where('item_id', 'in', [flashId, groupId]).execute();
    const byOrder = new Map(orders.map((o) => [o.order_id, o]));
    expect(orders).toHaveLength(5);
    expect(byOrder.get(paid.orderId)).toMatchObject({ state: 'paid', qty: 2, amount: '2000' });
    expect(byOrder.get(cancelled.orderId)).toMatchObject({ state: 'cancelled' });
    expect(byOrder.get(expiring.orderId)).toMatchObject({ state: 'expired' });
    // x joined at the base price (500) and the group reached tier 1 (400): 100 back.
    expect(byOrder.get(x.orderId)).toMatchObject({ state: 'paid', refunded_amount: '100' });
    expect(byOrder.get(y.orderId)).toMatchObject({ state: 'expired' });
    // Each event exactly once in the ledger, each order once.
    const events = await p.db.selectFrom('order_events').select(['event_id']).where('item_id', 'in', [flashId, groupId]).execute();
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    expect(events.filter((e) => e.event_id.endsWith(':held'))).toHaveLength(5);

    const retiredRows = await p.db.selectFrom('item_retirements').select('item_id').execute();
    expect(retiredRows.map((r) => r.item_id).sort()).toEqual([flashId, groupId].sort());

    // The retention passes: every key of every item is gone.
    await waitFor('the retired keys to expire', async () => (await redis.dbsize()) <= fresh.keys, retentionMs + 30_000, 200);
    const after = await idleLoad(redis, windowMs);
    console.log(
      `idle, fresh: ${fresh.commandsPerSecond.toFixed(2)} commands/s, ${fresh.keys} keys; ` +
        `after ${finishedItems} finished items retired: ${after.commandsPerSecond.toFixed(2)} commands/s, ${after.keys} keys ` +
        `(ratio ${(after.commandsPerSecond / fresh.commandsPerSecond).toFixed(3)})`,
    );
    expect(after.keys).toBeLessThanOrEqual(fresh.keys);
    expect(after.commands).toBeLessThanOrEqual(fresh.commands * (1 + relativeBound) + jitterCommands);

    // Gone from Redis, the item fails closed: no reservation, and it is not rebuilt.
    const late = await p.flash.reserve(flashId, 'u9', 1, 'k-later').catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 'ITEM_UNAVAILABLE' });
    expect(await p.rebuilder.rebuild(flashId)).toMatchObject({ outcome: 'retired' });
    expect(await p.keeper.checkOnce()).toEqual([]);
    expect(p.rebuilt).toEqual([]);
    expect(await redis.exists(p.keys.item(flashId).item)).toBe(0);
  }, 240_000);

  it('an item with a team buy and a bargain retires only once its teams are settled, and every one of its keys expires', async () => {
    const teams = new TeamBuy({ redis, keys: p.keys, scripts: p.scripts });
    const bargains = new Bargains({ redis, keys: p.keys, scripts: p.scripts });
    const now = await redisNow(redis);
    const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'team and bargain', price: 1000, totalStock: 10, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 2 });
    await p.flash.createItem({ itemId: row.id, roomId: p.roomId, total: 10, price: 1000, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 2000 });
    await teams.configure(row.id, { size: 3, price: 800, windowMs: 6000 });
    await bargains.configure(row.id, { start: 1000, floor: 100, helpers: 3, windowMs: 60_000 });
    const opened = await teams.open(row.id, 't1', 'k-team');
    if (opened.outcome !== 'held') throw new Error('no team');
    const started = await bargains.start(row.id, 'b1');
    if (!('bargainId' in started)) throw new Error('no bargain');
    expect(await bargains.help(row.id, started.bargainId, 'b2')).toMatchObject({ outcome: 'helped' });
    // The sale ends while the team is still open: the item waits for the team's window.
    await p.flash.setWindow(row.id, undefined, 'now', 'host');
    const k = p.keys.item(row.id);
    await waitFor('the team settled (failed: its window ended unformed)', async () => (await redis.zcard(k.teamEnds)) === 0, 60_000, 50);
    await waitFor('the item retired', () => redis.hget(k.item, 'retired'), 60_000, 50);
    for (const key of [k.item, k.users, k.holds, k.teams, k.bargains]) {
      const ttl = await redis.pttl(key);
      expect({ key, expires: ttl > 0 && ttl <= retentionMs }).toEqual({ key, expires: true });
    }
    for (const key of k.all) expect({ key, persists: (await redis.pttl(key)) === -1 }).toEqual({ key, persists: false });
  }, 120_000);
});
