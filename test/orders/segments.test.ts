import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import { createDbFromConfig, type Database } from '../../common/contracts/ledger-schema.ts';
import type { Config } from '../../common/platform/config.ts';
import { writeInventoryBatch } from '../../orders/ledger-write.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { segmentFromFacts, segmentOf, segmentSizes, segmentThresholds, usersInSegment } from '../../orders/segments.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { cancelled, held, paid, refund } from './events.ts';

/**
 * Shopper segments: the thresholds at their edges (a pure function), and segmentOf /
 * usersInSegment / segmentSizes over orders written into a real ledger by the writer's batch
 * write (paid, partly refunded, refunded, unpaid, and in another room).
 */

const day = 86_400_000;
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

describe('segmentFromFacts: the documented thresholds at their edges', () => {
  const f = (over: Partial<{ firstAt: number; lastAt: number; recentOrders: number; recentNet: number }>) => ({ firstAt: NOW - 400 * day, lastAt: NOW, recentOrders: 1, recentNet: 0, ...over });

  it('recency: 7, 30, 60, 90 days are the last days of 5, 4, 3, 2', () => {
    const r = (days: number, extra = 0) => segmentFromFacts('u', f({ lastAt: NOW - days * day - extra }), NOW).r;
    expect([r(0), r(7), r(7, 1), r(30), r(30, 1), r(60), r(60, 1), r(90), r(90, 1), r(365)]).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
  });

  it('frequency and monetary: at least 10 / 5 / 3 / 2 purchases, ¥2,000 / ¥800 / ¥300 / ¥100', () => {
    const fr = (n: number) => segmentFromFacts('u', f({ recentOrders: n }), NOW).f;
    expect([0, 1, 2, 3, 4, 5, 9, 10, 50].map(fr)).toEqual([1, 1, 2, 3, 3, 4, 4, 5, 5]);
    const m = (fen: number) => segmentFromFacts('u', f({ recentNet: fen }), NOW).m;
    expect([0, 9_999, 10_000, 29_999, 30_000, 79_999, 80_000, 199_999, 200_000].map(m)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5]);
  });

  it('stages: new within 30 days of the first purchase, then active / dormant / churned by the last one', () => {
    const stage = (firstDays: number, lastDays: number) => segmentFromFacts('u', f({ firstAt: NOW - firstDays * day, lastAt: NOW - lastDays * day }), NOW).stage;
    expect(stage(30, 0)).toBe('new');
    expect(stage(31, 0)).toBe('active');
    expect(stage(100, 30)).toBe('active');
    expect(stage(100, 31)).toBe('dormant');
    expect(stage(100, 90)).toBe('dormant');
    expect(stage(100, 91)).toBe('churned');
  });

  it('for any facts: scores in 1..5, rfm their digits, the stage agrees with the dates', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 10_000_000 }), (a, b, n, net) => {
        const firstAt = NOW - Math.max(a, b) * 3_600_000;
        const lastAt = NOW - Math.min(a, b) * 3_600_000;
        const s = segmentFromFacts('u', { firstAt, lastAt, recentOrders: n, recentNet: net }, NOW);
        for (const x of [s.r, s.f, s.m]) expect(x >= 1 && x <= 5).toBe(true);
        expect(s.rfm).toBe(`${s.r}${s.f}${s.m}`);
        const since = NOW - lastAt;
        if (s.stage === 'new') expect(NOW - firstAt).toBeLessThanOrEqual(segmentThresholds.activeDays * day);
        if (s.stage === 'active') expect(since).toBeLessThanOrEqual(segmentThresholds.activeDays * day);
        if (s.stage === 'dormant') expect(since).toBeGreaterThan(segmentThresholds.activeDays * day);
        if (s.stage === 'churned') expect(since).toBeGreaterThan(segmentThresholds.dormantDays * day);
      }),
    );
  });
});

describe('segments from the ledger', () => {
  let config: Config;
  let db: Kysely<Database>;
  let ver = 1;
  const events: InventoryEvent[] = [];
  /** A paid order of `price` fen by `user`, paid `daysAgo` days before NOW. */
  function purchase(user: string, daysAgo: number, price: number, room = '9101'): InventoryEvent {
    const at = NOW - daysAgo * day;
    const h = held({ item: '9201', room, user, price, at: at - 1000, ver: ver++ });
    events.push(h, paid(h, at, ver++));
    return h;
  }

  beforeAll(async () => {
    config = testConfig();
    db = createDbFromConfig(config, 4);
    await migrateToLatest(db, config.databaseSchema);
    purchase('u-new', 3, 5_000);
    // Active: first purchase 200 days ago, five in the last 90 days adding up to ¥900.
    purchase('u-active', 200, 1_000);
    for (const d of [10, 20, 40, 60, 80]) purchase('u-active', d, 18_000);
    purchase('u-dormant', 45, 12_000);
    purchase('u-dormant', 150, 12_000);
    purchase('u-churned', 120, 500_000);
    // Paid ¥300 twice, ¥250 of one refunded: two purchases, net ¥350.
    const p = purchase('u-partial', 5, 30_000);
    purchase('u-partial', 50, 30_000);
    events.push(refund(p, 25_000, NOW - 4 * day, ver++));
    // Refunded in full (cancelled after payment): no purchase.
    const r = purchase('u-refunded', 2, 7_000);
    events.push(refund(r, 7_000, NOW - day, ver++, 'cancelled_after_payment'), cancelled(r, NOW - day, ver++, 'host'));
    // Held, never paid.
    events.push(held({ item: '9201', room: '9101', user: 'u-unpaid', at: NOW - day, ver: ver++ }));
    // A purchase in another room only.
    purchase('u-elsewhere', 1, 2_000, '9102');
    await db.transaction().execute((trx) => writeInventoryBatch(trx, events.map((event) => ({ event, raw: JSON.stringify(event) }))));
  });

  afterAll(async () => {
    await db?.destroy();
    if (config) await dropNamespace(config);
  });

  it('segmentOf: each shopper by the thresholds; none without a purchase', async () => {
    const of = async (u: string) => {
      const s = await segmentOf(db, u, NOW);
      return s && { stage: s.stage, rfm: s.rfm, recentOrders: s.recentOrders, recentNet: s.recentNet };
    };
    expect(await of('u-new')).toEqual({ stage: 'new', rfm: '511', recentOrders: 1, recentNet: 5_000 });
    expect(await of('u-active')).toEqual({ stage: 'active', rfm: '444', recentOrders: 5, recentNet: 90_000 });
    expect(await of('u-dormant')).toEqual({ stage: 'dormant', rfm: '312', recentOrders: 1, recentNet: 12_000 });
    expect(await of('u-churned')).toEqual({ stage: 'churned', rfm: '111', recentOrders: 0, recentNet: 0 });
    expect(await of('u-partial')).toEqual({ stage: 'active', rfm: '523', recentOrders: 2, recentNet: 35_000 });
    expect(await of('u-refunded')).toBeNull();
    expect(await of('u-unpaid')).toBeNull();
    expect(await of('u-nobody')).toBeNull();
  });

  it('usersInSegment: by stage and by minimum scores', async () => {
    expect(await usersInSegment(db, { stage: 'active' }, NOW)).toEqual(['u-active', 'u-partial']);
    expect(await usersInSegment(db, { stage: 'new' }, NOW)).toEqual(['u-elsewhere', 'u-new']);
    expect(await usersInSegment(db, { minR: 5 }, NOW)).toEqual(['u-elsewhere', 'u-new', 'u-partial']);
    expect(await usersInSegment(db, { minF: 4, minM: 4 }, NOW)).toEqual(['u-active']);
    expect(await usersInSegment(db, { stage: 'churned', minM: 2 }, NOW)).toEqual([]);
  });

  it("segmentSizes: every shopper's stage and score counts, or a room's buyers only", async () => {
    const all = await segmentSizes(db, { now: NOW });
    expect(all.stages).toEqual({ new: 2, active: 2, dormant: 1, churned: 1 });
    expect(all.shoppers).toBe(6);
    expect(all.r).toEqual([1, 0, 1, 1, 3]);
    const room = await segmentSizes(db, { roomId: '9101', now: NOW });
    expect(room.stages).toEqual({ new: 1, active: 2, dormant: 1, churned: 1 });
    expect(room.shoppers).toBe(5);
    expect([room.r, room.f, room.m].map((x) => x.reduce((a, b) => a + b, 0))).toEqual([5, 5, 5]);
  });
});
