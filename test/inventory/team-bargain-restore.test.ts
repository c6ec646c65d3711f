import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { Bargains, bargainCuts, type BargainHeld, type BargainStarted, type Helped } from '../../inventory/bargain.ts';
import { TeamBuy, type TeamHeld, type TeamJoinResult } from '../../inventory/team-buy.ts';
import { privateRedis } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait.ts';
import { redisNow } from './helpers.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

/**
 * Team buys and bargains after Redis lost all its data (a private Redis, FLUSHALL): built through
 * the real pipeline (outbox, relay, Kafka, the ledger writer on Postgres), lost, rebuilt from the
 * ledger, then continued. The team buy's settings, its open, formed and failed teams (seats,
 * members, state, window end) and counters, the bargain settings and the bargains (helpers,
 * cuts, generator, price, state) come back exactly as they were, so that: an open team forms
 * with its last seat and never goes over its size; a team whose window ends fails and refunds
 * its paid member once, in Redis and in the ledger; a helper cannot help twice; the starter buys
 * at the cut price; retries of openings and joins answer their first answers.
 */

let server: Awaited<ReturnType<typeof privateRedis>>;
let redis: Redis;
let p: Pipeline;
let teams: TeamBuy;
let bargains: Bargains;

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis({ redisUrl: server.url }, 'team-bargain-restore-test');
  p = await startPipeline(redis);
  teams = new TeamBuy({ redis, keys: p.keys, scripts: p.scripts });
  bargains = new Bargains({ redis, keys: p.keys, scripts: p.scripts });
}, 120_000);

afterAll(async () => {
  await p?.stop();
  redis?.disconnect();
  await server?.destroy();
});

const held = (r: TeamJoinResult): TeamHeld => {
  if (r.outcome !== 'held') throw new Error(`expected a seat, got ${JSON.stringify(r)}`);
  return r;
};
const helped = (r: Helped | { outcome: string }): Helped => {
  if (r.outcome !== 'helped') throw new Error(`expected a help, got ${JSON.stringify(r)}`);
  return r as Helped;
};

/** Redis's team and bargain state of an item (and the holds and users they rest on). */
async function offerState(itemId: string) {
  const k = p.keys.item(itemId);
  return {
    teams: await redis.hgetall(k.teams),
    ends: await redis.zrange(k.teamEnds, 0, -1, 'WITHSCORES'),
    bargains: await redis.hgetall(k.bargains),
    users: await redis.hgetall(k.users),
  };
}

describe('team buys and bargains survive a Redis loss', () => {
  it('come back from the ledger as they were, and go on: teams form or fail, refunds reach the ledger once, helpers help once, the starter buys at the cut price', async () => {
    const now = await redisNow(redis);
    const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'Beans', price: 10_000, totalStock: 100, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 600 });
    const id = row.id;
    await p.flash.createItem({ itemId: id, roomId: p.roomId, total: 100, price: 10_000, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
    const pay = (orderId: string, user: string) => p.payments.pay(id, orderId, user);

    // Team F opens under a short window (it is to fail), G and H under a long one.
    await teams.configure(id, { size: 3, price: 7000, windowMs: 15_000 });
    const fa = held(await teams.open(id, 'a', 'ka'));
    const fb = held(await teams.join(id, fa.teamId, 'b', 'kb'));
    await pay(fa.orderId, 'a');
    await teams.configure(id, { size: 3, price: 7000, windowMs: 600_000 });
    const gc = held(await teams.open(id, 'c', 'kc'));
    const gd = held(await teams.join(id, gc.teamId, 'd', 'kd'));
    await pay(gc.orderId, 'c');
    await pay(gd.orderId, 'd');
    const he = held(await teams.open(id, 'e', 'ke'));
    for (const u of ['f', 'g']) await pay(held(await teams.join(id, he.teamId, u, `k${u}`)).orderId, u);
    await pay(he.orderId, 'e');
    expect(await teams.afterPaid(id, he.orderId)).toMatchObject({ outcome: 'formed' });

    // Bargain B1 with two helps; B2 with one help, bought by its starter.
    await bargains.configure(id, { start: 10_000, floor: 6000, helpers: 4, windowMs: 600_000 });
    const b1 = (await bargains.start(id, 's1')) as BargainStarted;
    const b2 = (await bargains.start(id, 's2')) as BargainStarted;
    helped(await bargains.help(id, b1.bargainId, 'h1'));
    helped(await bargains.help(id, b1.bargainId, 'h2'));
    const cut2 = helped(await bargains.help(id, b2.bargainId, 'h1'));
    const bought2 = (await bargains.buy(id, b2.bargainId, 's2')) as BargainHeld;
    expect(bought2).toMatchObject({ outcome: 'held', unitPrice: cut2.price });

    await p.drain();
    const before = await offerState(id);
    const viewsBefore = { f: await teams.team(id, fa.teamId), b1: await bargains.bargain(id, b1.bargainId) };
    expect(viewsBefore.f).toMatchObject({ state: 'open', seats: 2, paid: 1 });

    // Redis loses everything; the item fails closed.
    await redis.flushall();
    await expect(teams.join(id, gc.teamId, 'x', 'kx')).rejects.toMatchObject({ code: 'ITEM_UNAVAILABLE' });
    await expect(bargains.help(id, b1.bargainId, 'h3')).rejects.toMatchObject({ code: 'ITEM_UNAVAILABLE' });

    const report = await p.rebuilder.rebuild(id);
    expect(report).toMatchObject({ outcome: 'rebuilt', anomalies: [] });
    // Exactly as before: settings, teams, seats, window ends, counters, bargains, helpers, generators.
    expect(await offerState(id)).toEqual(before);
    expect(await teams.team(id, fa.teamId)).toEqual({ ...viewsBefore.f, ver: report.ver });
    expect(await bargains.bargain(id, b1.bargainId)).toEqual(viewsBefore.b1);
    const [audit] = await p.auditor.audit([id]);
    expect(audit).toMatchObject({ ok: true, drift: [] });

    // Retries of an opening and a join answer their first answers.
    expect(await teams.open(id, 'c', 'kc')).toEqual({ outcome: 'duplicate', first: gc });
    expect(await teams.join(id, gc.teamId, 'd', 'kd')).toEqual({ outcome: 'duplicate', first: gd });
    // A user in a live team cannot open another (one team per user).
    expect((await teams.open(id, 'a', 'ka2')).outcome).toBe('team_limit');

    // Team G has one seat left: five shoppers race for it, one gets it; its payment forms the team.
    const racers = ['x1', 'x2', 'x3', 'x4', 'x5'];
    const race = await Promise.all(racers.map((u) => teams.join(id, gc.teamId, u, `k${u}`)));
    expect(race.filter((r) => r.outcome === 'held')).toHaveLength(1);
    expect(race.filter((r) => r.outcome === 'team_full')).toHaveLength(4);
    const winner = race.findIndex((r) => r.outcome === 'held');
    const last = held(race[winner]!);
    await pay(last.orderId, racers[winner]!);
    expect(await teams.afterPaid(id, last.orderId)).toMatchObject({ outcome: 'formed', paid: 3 });
    expect(await teams.team(id, gc.teamId)).toMatchObject({ state: 'formed', seats: 3, paid: 3 });
    // Team H formed before the loss: closed to joins.
    expect((await teams.join(id, he.teamId, 'z', 'kz')).outcome).toBe('team_closed');

    // Team F's window ends: it fails, a's payment is refunded, b's hold cancelled; once.
    const f = (await teams.team(id, fa.teamId))!;
    await waitFor("team F's window to end", async () => (await redisNow(redis)) >= f.endsAt, 30_000, 50);
    const settled = await teams.settleDue(id);
    expect(settled).toEqual([expect.objectContaining({ teamId: fa.teamId, outcome: 'failed', refunds: 1, refundTotal: 7000, cancelled: 1 })]);
    expect(await teams.settle(id, fa.teamId)).toMatchObject({ outcome: 'failed', refunds: 0, already: true });
    expect(await teams.counts(id)).toEqual({ opened: 3, formed: 2, failed: 1, refunded: 7000, open: 0 });

    // Bargain B1: a helper cannot help twice; the next help cuts the seeded draw; the starter buys at that price.
    expect(await bargains.help(id, b1.bargainId, 'h1')).toMatchObject({ outcome: 'already_helped' });
    expect(await bargains.start(id, 's1')).toMatchObject({ outcome: 'existing', bargainId: b1.bargainId, price: viewsBefore.b1!.price });
    const started = await p.db.selectFrom('order_events').select('payload').where('event_id', '=', `${id}:bargain:${b1.bargainId}:started`).executeTakeFirstOrThrow();
    const seed = (started.payload as { seed: number }).seed;
    const third = helped(await bargains.help(id, b1.bargainId, 'h3'));
    const cuts = bargainCuts(seed, 10_000, 6000, 4);
    expect(third).toMatchObject({ cut: cuts[2], price: 10_000 - cuts[0]! - cuts[1]! - cuts[2]!, helped: 3 });
    const bought1 = (await bargains.buy(id, b1.bargainId, 's1')) as BargainHeld;
    expect(bought1).toMatchObject({ outcome: 'held', unitPrice: third.price, already: false });
    // B2 was bought before the loss: buying again answers its hold; nobody can help it now.
    expect(await bargains.buy(id, b2.bargainId, 's2')).toMatchObject({ outcome: 'held', orderId: bought2.orderId, already: true });
    expect(await bargains.help(id, b2.bargainId, 'h4')).toMatchObject({ outcome: 'bargain_closed' });
    expect(await bargains.counts(id)).toEqual({ started: 2, helps: 4, bought: 2 });

    // The ledger: one refund for a's seat, b's seat cancelled, every team event once.
    await p.drain();
    const refunds = await p.db.selectFrom('refunds').select(['order_id', 'amount', 'reason']).where('item_id', '=', id).execute();
    expect(refunds.map((r) => ({ ...r, amount: Number(r.amount) }))).toEqual([{ order_id: fa.orderId, amount: 7000, reason: 'team_failed' }]);
    const orders = await p.db.selectFrom('orders').select(['order_id', 'state']).where('order_id', 'in', [fa.orderId, fb.orderId, bought1.orderId]).execute();
    expect(Object.fromEntries(orders.map((o) => [o.order_id, o.state]))).toEqual({ [fa.orderId]: 'refunded', [fb.orderId]: 'cancelled', [bought1.orderId]: 'held' });
    const types = await p.db.selectFrom('order_events').select('type').where('item_id', '=', id).where('type', 'like', 'team.%').execute();
    const count = (t: string) => types.filter((x) => x.type === t).length;
    expect([count('team.configured'), count('team.opened'), count('team.formed'), count('team.failed')]).toEqual([2, 3, 2, 1]);
    const [after] = await p.auditor.audit([id]);
    expect(after).toMatchObject({ ok: true, drift: [] });
  }, 120_000);

  it('settings whose configured event the ledger lacks come back from the latest opening and start', async () => {
    const now = await redisNow(redis);
    const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'Rice', price: 5000, totalStock: 20, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 600 });
    const id = row.id;
    await p.flash.createItem({ itemId: id, roomId: p.roomId, total: 20, price: 5000, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
    await teams.configure(id, { size: 2, price: 4000, windowMs: 600_000, teamsPerUser: 2 });
    await bargains.configure(id, { start: 5000, floor: 3000, helpers: 2, windowMs: 600_000, newUsersOnly: true });
    const t = held(await teams.open(id, 'o1', 'k1'));
    const b = (await bargains.start(id, 'st')) as BargainStarted;
    await p.drain();
    const cfg = { team: await redis.hget(p.keys.item(id).teams, 'cfg'), bargain: await redis.hget(p.keys.item(id).bargains, 'cfg') };
    // A ledger from before the settings were recorded as events of their own.
    await p.db.deleteFrom('order_events').where('item_id', '=', id).where('type', 'in', ['team.configured', 'bargain.configured']).execute();

    await redis.flushall();
    expect(await p.rebuilder.rebuild(id)).toMatchObject({ outcome: 'rebuilt', anomalies: [] });
    expect({ team: await redis.hget(p.keys.item(id).teams, 'cfg'), bargain: await redis.hget(p.keys.item(id).bargains, 'cfg') }).toEqual(cfg);
    // Two teams per user and new users only, as configured.
    expect(held(await teams.open(id, 'o1', 'k2')).size).toBe(2);
    expect(held(await teams.join(id, t.teamId, 'j1', 'k3')).seats).toBe(2);
    expect(await bargains.help(id, b.bargainId, 'o1')).toMatchObject({ outcome: 'not_new_user' });
    expect((await bargains.start(id, 'st2')).outcome).toBe('started');
  }, 60_000);
});
