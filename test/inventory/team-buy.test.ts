import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { TeamBuy, type TeamHeld, type TeamJoinResult } from '../../inventory/team-buy.ts';
import { parseHold } from '../../inventory/item-ops.ts';
import { waitFor } from '../helpers/wait.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';
import { redisNow } from './helpers.ts';
import { teamFigures, teamMetrics } from '../../orders/team-stats.ts';

/**
 * Team buys (拼团) on the real Redis, Kafka and Postgres: seats are exact under concurrency, a
 * team forms when every seat is paid, and a team whose window ends first fails with every paid
 * member refunded in full through the ledger.
 */

let p: Pipeline;
let teams: TeamBuy;
const items: string[] = [];

beforeAll(async () => {
  p = await startPipeline(createRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'team-buy-test'), { confirmTimeoutMs: 10_000 });
  teams = new TeamBuy({ redis: p.redis, keys: p.keys, scripts: p.scripts });
}, 120_000);

afterAll(async () => {
  await p?.stop();
  p?.redis.disconnect();
});

async function teamItem(total: number, windowMs: number, opts: { size?: number; holdMs?: number; teamsPerUser?: number } = {}): Promise<string> {
  const now = await redisNow(p.redis);
  const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 'team', price: 1990, totalStock: total, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 60 });
  await p.flash.createItem({ itemId: row.id, roomId: p.roomId, total, price: 1990, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 600_000, holdMs: opts.holdMs ?? 60_000 });
  await teams.configure(row.id, { size: opts.size ?? 5, price: 1290, windowMs, teamsPerUser: opts.teamsPerUser ?? 1 });
  items.push(row.id);
  return row.id;
}

function held(r: TeamJoinResult): TeamHeld {
  if (r.outcome !== 'held') throw new Error(`expected a seat, got ${JSON.stringify(r)}`);
  return r;
}

async function stockBalances(itemId: string): Promise<void> {
  const v = (await p.flash.view(itemId))!;
  expect(v.available + v.held + v.sold).toBe(v.total);
  expect(v.available).toBeGreaterThanOrEqual(0);
}

describe('team buy', () => {
  it('refuses what a team may not take: a full team, a second seat, a second team, an unknown team, a formed team; a repeated key answers the first seat', async () => {
    const itemId = await teamItem(50, 600_000, { size: 2 });
    const lead = held(await teams.open(itemId, 'lead', 'k1'));
    expect(lead).toMatchObject({ unitPrice: 1290, seats: 1, size: 2 });
    expect((await teams.open(itemId, 'lead', 'k1')).outcome).toBe('duplicate');
    expect((await teams.join(itemId, lead.teamId, 'lead', 'k2')).outcome).toBe('team_limit');
    expect((await teams.open(itemId, 'lead', 'k3')).outcome).toBe('team_limit');
    expect((await teams.join(itemId, 'nosuchteam', 'm1', 'k1')).outcome).toBe('team_not_found');
    const m1 = held(await teams.join(itemId, lead.teamId, 'm1', 'k1'));
    expect(m1.seats).toBe(2);
    expect((await teams.join(itemId, lead.teamId, 'm1', 'k1')).outcome).toBe('duplicate');
    expect((await teams.join(itemId, lead.teamId, 'm2', 'k1')).outcome).toBe('team_full');
    await p.payments.pay(itemId, lead.orderId, 'lead');
    expect((await teams.settle(itemId, lead.teamId)).outcome).toBe('open');
    await p.payments.pay(itemId, m1.orderId, 'm1');
    expect(await teams.settle(itemId, lead.teamId)).toMatchObject({ outcome: 'formed', paid: 2, refunds: 0, already: false });
    expect(await teams.settle(itemId, lead.teamId)).toMatchObject({ outcome: 'formed', already: true });
    expect((await teams.join(itemId, lead.teamId, 'm2', 'k2')).outcome).toBe('team_closed');
    const view = (await teams.team(itemId, lead.teamId))!;
    expect(view).toMatchObject({ state: 'formed', leader: 'lead', seats: 2, paid: 2 });
    await stockBalances(itemId);
  });

  it('a seat freed by an expired hold is taken again; a team failing at its end refunds its paid member and cancels the rest', async () => {
    const itemId = await teamItem(50, 6000, { size: 3, holdMs: 1000 });
    const lead = held(await teams.open(itemId, 'lead', 'k1'));
    const late = held(await teams.join(itemId, lead.teamId, 'late', 'k1'));
    await p.payments.pay(itemId, lead.orderId, 'lead');
    // late's hold lapses: its seat is free again once the deadline passed.
    await waitFor('the hold lapsed', async () => (await redisNow(p.redis)) > late.deadline, 10_000);
    await expect(p.payments.pay(itemId, late.orderId, 'late')).rejects.toMatchObject({ code: 'HOLD_EXPIRED' });
    held(await teams.join(itemId, lead.teamId, 'b', 'k1'));
    const c = held(await teams.join(itemId, lead.teamId, 'c', 'k1'));
    expect(c.seats).toBe(3);
    expect((await teams.join(itemId, lead.teamId, 'd', 'k1')).outcome).toBe('team_full');
    const end = (await teams.team(itemId, lead.teamId))!.endsAt;
    await waitFor('the team window ended', async () => (await redisNow(p.redis)) >= end, 15_000);
    const [s] = await teams.settleDue(itemId);
    expect(s).toMatchObject({ outcome: 'failed', refunds: 1, refundTotal: 1290 });
    expect((await teams.team(itemId, lead.teamId))!.members.map((m) => m.state)).toEqual(['refunded', 'expired', expect.stringMatching(/^(cancelled|expired)$/), expect.stringMatching(/^(cancelled|expired)$/)]);
    await expect(p.payments.pay(itemId, c.orderId, 'c')).rejects.toMatchObject({ code: expect.stringMatching(/^(HOLD_CANCELLED|HOLD_EXPIRED)$/) });
    await stockBalances(itemId);
    const v = (await p.flash.view(itemId))!;
    expect(v).toMatchObject({ available: 50, held: 0, sold: 0 });
  }, 60_000);

  it('2,000 concurrent joins for 100 teams of 5: exactly 100 teams formed or failed, none over 5, every failed member refunded to the fen', async () => {
    const TEAMS = 100;
    const SIZE = 5;
    const JOINS = 2000;
    const windowMs = 30_000;
    const itemId = await teamItem(10_000, windowMs);
    const leaders = await Promise.all(Array.from({ length: TEAMS }, (_, i) => teams.open(itemId, `lead${i}`, 'open').then(held)));
    // 2,000 joins at once from 1,600 shoppers: 400 of them try a second team too (refused: one team each).
    const attempts = Array.from({ length: JOINS }, (_, j) => ({ user: `s${j % 1600}`, team: leaders[j % TEAMS]!.teamId, idem: `j${j}` }));
    for (let i = attempts.length - 1; i > 0; i--) {
      const r = Math.floor(Math.random() * (i + 1));
      [attempts[i], attempts[r]] = [attempts[r]!, attempts[i]!];
    }
    const results = await Promise.all(attempts.map((a) => teams.join(itemId, a.team, a.user, a.idem).then((r) => ({ ...a, r }))));
    const seats = new Map<string, TeamHeld[]>(leaders.map((l) => [l.teamId, [l]]));
    const outcomes = new Map<string, number>();
    for (const { r } of results) {
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
      if (r.outcome === 'held') seats.get(r.teamId)!.push(r);
    }
    expect([...outcomes.keys()].sort()).toEqual(['held', 'team_full', 'team_limit']);
    const perUser = new Map<string, number>();
    for (const { user, r } of results) if (r.outcome === 'held') perUser.set(user, (perUser.get(user) ?? 0) + 1);
    expect(Math.max(...perUser.values())).toBe(1);
    for (const [, s] of seats) expect(s.length).toBeLessThanOrEqual(SIZE);
    expect([...seats.values()].every((s) => s.length === SIZE)).toBe(true);
    expect(outcomes.get('held')).toBe(TEAMS * (SIZE - 1));

    // Even teams: every member pays (half of them settled right after, half left to the end).
    // Odd teams: every member but the last pays, so the team fails at its end.
    const members = [...seats.entries()].map(([teamId, s], i) => ({ teamId, i, s }));
    const pays = members.flatMap(({ i, s }) => (i % 2 === 0 ? s : s.slice(0, SIZE - 1)));
    const paid = new Set<string>();
    const userOf = new Map<string, string>();
    for (const { user, r } of results) if (r.outcome === 'held') userOf.set(r.orderId, user);
    for (const l of leaders) userOf.set(l.orderId, `lead${leaders.indexOf(l)}`);
    const queue = [...pays];
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        for (let h = queue.shift(); h; h = queue.shift()) {
          await p.payments.pay(itemId, h.orderId, userOf.get(h.orderId)!);
          paid.add(h.orderId);
        }
      }),
    );
    expect(paid.size).toBe(pays.length);
    for (const m of members.filter((m) => m.i % 4 === 0)) expect((await teams.settle(itemId, m.teamId)).outcome).toBe('formed');

    const lastEnd = Math.max(...leaders.map((l) => l.teamEndsAt));
    await waitFor('every team window ended', async () => (await redisNow(p.redis)) >= lastEnd, windowMs + 30_000, 200);
    const settled = [];
    for (let due = await teams.settleDue(itemId); due.length; due = await teams.settleDue(itemId)) settled.push(...due);
    const counts = await teams.counts(itemId);
    expect(counts.formed + counts.failed).toBe(TEAMS);
    expect(counts.open).toBe(0);
    expect(counts).toMatchObject({ opened: TEAMS, formed: TEAMS / 2, failed: TEAMS / 2 });
    for (const m of members) {
      const v = (await teams.team(itemId, m.teamId))!;
      expect(v.members.length).toBe(SIZE);
      expect(v.state).toBe(m.i % 2 === 0 ? 'formed' : 'failed');
      expect(v.paid).toBe(m.i % 2 === 0 ? SIZE : 0);
    }
    const failedPaid = members.filter((m) => m.i % 2 === 1).flatMap((m) => m.s.slice(0, SIZE - 1));
    const expectedRefund = failedPaid.reduce((a, h) => a + h.amount, 0);
    expect(counts.refunded).toBe(expectedRefund);
    expect(settled.filter((s) => s.outcome === 'failed').reduce((a, s) => a + s.refundTotal, 0)).toBe(expectedRefund);
    await stockBalances(itemId);
    const v = (await p.flash.view(itemId))!;
    expect(v.sold).toBe((TEAMS / 2) * SIZE);
    expect(v.held).toBe(0);
    const k = p.keys.item(itemId);
    const holds = await p.redis.hgetall(k.holds);
    for (const h of failedPaid) expect(parseHold(h.orderId, holds[h.orderId]!)?.state).toBe('refunded');

    // The ledger: one refund per paid member of a failed team, each the amount paid, to the fen.
    await p.drain();
    const refunds = await p.db
      .selectFrom('refunds')
      .select(['order_id', 'amount', 'reason'])
      .where('item_id', '=', itemId as never)
      .execute();
    expect(refunds.every((r) => r.reason === 'team_failed')).toBe(true);
    const byOrder = new Map(refunds.map((r) => [r.order_id, Number(r.amount)]));
    expect(byOrder.size).toBe(failedPaid.length);
    for (const h of failedPaid) expect(byOrder.get(h.orderId)).toBe(h.amount);
    const ledgerTotal = refunds.reduce((a, r) => a + Number(r.amount), 0);
    expect(ledgerTotal).toBe(expectedRefund);
    const states = await p.db.selectFrom('orders').select(['state', sql<number>`count(*)::int`.as('n'), sql<string>`sum(paid_amount)::text`.as('paid')]).where('item_id', '=', itemId as never).groupBy('state').execute();
    const stateCount = Object.fromEntries(states.map((s) => [s.state, s.n]));
    expect(stateCount).toEqual({ paid: (TEAMS / 2) * SIZE, refunded: failedPaid.length, cancelled: TEAMS / 2 });
    const teamEvents = await p.db
      .selectFrom('order_events')
      .select(['type', sql<number>`count(*)::int`.as('n')])
      .where('item_id', '=', itemId as never)
      .where('type', 'in', ['team.opened', 'team.formed', 'team.failed'])
      .groupBy('type')
      .execute();
    expect(Object.fromEntries(teamEvents.map((e) => [e.type, e.n]))).toEqual({ 'team.opened': TEAMS, 'team.formed': TEAMS / 2, 'team.failed': TEAMS / 2 });
    console.log(
      `team buy: ${JOINS} joins -> ${outcomes.get('held')} seats, ${outcomes.get('team_full')} full, ${outcomes.get('team_limit')} one-team refusals; ` +
        `teams ${counts.opened} opened, ${counts.formed} formed, ${counts.failed} failed; refunds ${refunds.length} = ${ledgerTotal} fen (expected ${expectedRefund} fen)`,
    );
  }, 240_000);

  it("the room's team figures in the report are the ledger's: opened, formed, failed, refunded to the fen", async () => {
    await p.drain();
    const all = await Promise.all(items.map((id) => teams.counts(id)));
    const sum = (f: (c: (typeof all)[number]) => number) => all.reduce((a, c) => a + f(c), 0);
    const figures = await teamFigures(p.db, p.roomId);
    expect(figures).toEqual({ opened: sum((c) => c.opened), formed: sum((c) => c.formed), failed: sum((c) => c.failed), refunds: figures.refunds, refunded: sum((c) => c.refunded) });
    expect(teamMetrics(figures).map((m) => [m.metric, m.value])).toEqual([
      ['teams_opened', figures.opened],
      ['teams_formed', figures.formed],
      ['teams_failed', figures.failed],
      ['team_refunded', figures.refunded],
    ]);
    console.log(`team figures of the room: ${figures.opened} opened, ${figures.formed} formed, ${figures.failed} failed, ${figures.refunds} refunds = ${figures.refunded} fen`);
  }, 60_000);
});
