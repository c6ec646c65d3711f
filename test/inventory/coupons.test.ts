import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import { memberTiers, resolvePrice, type CouponCampaign, type MemberDayRule, type MemberTier, type PriceInput } from '../../common/contracts/pricing.ts';
import { Promotions } from '../../inventory/promotions.ts';
import type { Held, ReserveResult } from '../../inventory/flash-sale.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { inventoryEnv, type InventoryEnv } from './env.ts';
import { redisNow } from './helpers.ts';

/**
 * Member-day rules, coupons and the one price: the resolver's properties over random rule sets,
 * the reserve script pricing exactly as the resolver does, and the coupon's life with its hold
 * (reserved with it, freed on cancel and expiry, spent on payment, restored on refund), also in a
 * storm where coupons and stock are both scarce.
 */

const config = testConfig();
let env: InventoryEnv & { close(): Promise<void> };
let promo: Promotions;

beforeAll(async () => {
  env = await inventoryEnv(config, createRedis(config));
  promo = new Promotions({ redis: env.redis, keys: env.keys, scripts: env.scripts });
});

afterAll(async () => {
  await env?.close();
  env?.redis.disconnect();
  await dropNamespace(config);
});

const fen = (max: number) => fc.integer({ min: 0, max });
const tierArb = fc.constantFrom<MemberTier>(...memberTiers);
const memberDayArb: fc.Arbitrary<MemberDayRule> = fc.record({
  threshold: fen(20_000),
  off: fc.record({ regular: fen(2_000), silver: fen(3_000), gold: fen(50_000) }),
});
const couponArb = (now: number): fc.Arbitrary<CouponCampaign> =>
  fc.record({
    id: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
    kind: fc.constantFrom<'fixed' | 'percent' | 'spend'>('fixed', 'percent', 'spend'),
    amount: fen(30_000),
    percent: fc.integer({ min: 1, max: 99 }),
    minSpend: fen(30_000),
    budget: fc.integer({ min: 1, max: 5 }),
    perUser: fc.integer({ min: 1, max: 3 }),
    startsAt: fc.constant(now - 60_000),
    endsAt: fc.constant(now + 3_600_000),
  });
const inputArb = (now: number): fc.Arbitrary<PriceInput> =>
  fc.record({
    unitPrice: fen(20_000),
    qty: fc.integer({ min: 1, max: 5 }),
    tier: tierArb,
    memberDay: fc.option(memberDayArb, { nil: undefined }),
    coupon: fc.option(couponArb(now), { nil: undefined }),
    now: fc.constant(now),
  });

describe('the price resolver (property tests over random rule sets)', () => {
  it('is never below zero, its steps sum to the price, and precedence holds', () => {
    fc.assert(
      fc.property(inputArb(1_000_000_000_000), (input) => {
        const r = resolvePrice(input);
        const base = input.unitPrice * input.qty;
        expect(r.amount).toBeGreaterThanOrEqual(0);
        expect(r.steps.reduce((s, x) => s + x.amount, 0)).toBe(r.amount);
        // base first, then member, then at most one coupon, each discount within what was left
        expect(r.steps[0]).toEqual({ step: 'base', rule: `unit ${input.unitPrice} x ${input.qty}`, amount: base });
        const order = r.steps.map((s) => s.step);
        expect(['base', 'base,member', 'base,coupon', 'base,member,coupon']).toContain(order.join(','));
        let left = base;
        for (const s of r.steps.slice(1)) {
          expect(s.amount).toBeLessThanOrEqual(0);
          expect(-s.amount).toBeLessThanOrEqual(left);
          left += s.amount;
        }
        // the member step fires exactly when the base reaches the threshold and the tier has an amount
        const md = input.memberDay;
        const memberOff = md && base >= md.threshold ? Math.min(md.off[input.tier], base) : 0;
        expect(0 - (r.steps.find((s) => s.step === 'member')?.amount ?? 0)).toBe(memberOff);
        // the coupon sees what the member step left
        const c = input.coupon;
        const afterMember = base - memberOff;
        if (!c) expect(r.couponRefusal).toBeUndefined();
        else if (afterMember < c.minSpend) expect(r.couponRefusal).toBe('below_min_spend');
        else {
          const raw = c.kind === 'percent' ? Math.floor((afterMember * c.percent) / 100) : c.amount;
          expect(r.couponOff).toBe(Math.min(raw, afterMember));
          expect(r.amount).toBe(afterMember - r.couponOff);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a coupon outside its validity', () => {
    const c: CouponCampaign = { id: 'c', kind: 'fixed', amount: 100, percent: 0, minSpend: 0, budget: 1, perUser: 1, startsAt: 10, endsAt: 20 };
    expect(resolvePrice({ unitPrice: 500, qty: 1, tier: 'gold', coupon: c, now: 20 }).couponRefusal).toBe('not_valid_now');
    expect(resolvePrice({ unitPrice: 500, qty: 1, tier: 'gold', coupon: c, now: 9 }).couponRefusal).toBe('not_valid_now');
    expect(resolvePrice({ unitPrice: 500, qty: 1, tier: 'gold', coupon: c, now: 10 }).amount).toBe(400);
  });
});

async function flashItem(price: number, total: number, over: { holdMs?: number; perUserLimit?: number } = {}): Promise<string> {
  const itemId = env.itemId();
  const now = await redisNow(env.redis);
  await env.flash.createItem({ itemId, roomId: 'r1', total, price, perUserLimit: over.perUserLimit ?? 10, startsAt: now - 60_000, endsAt: now + 3_600_000, holdMs: over.holdMs ?? 600_000 });
  return itemId;
}

function held(r: ReserveResult): Held {
  if (r.outcome !== 'held') throw new Error(`expected a hold, got ${JSON.stringify(r)}`);
  return r;
}

describe('the reserve script prices as the resolver does', () => {
  it('agrees on amount and breakdown over random rule sets, and reserves the coupon with the hold', async () => {
    const now = await redisNow(env.redis);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(inputArb(now), async (input) => {
        runs++;
        const itemId = await flashItem(input.unitPrice, 10);
        if (input.memberDay) await promo.setMemberDay(itemId, input.memberDay);
        if (input.coupon) await promo.addCampaign(itemId, input.coupon);
        const expected = resolvePrice(input);
        const buy = () => env.flash.reserve(itemId, 'u1', input.qty, `k${runs}`, { tier: input.tier, coupon: input.coupon?.id });
        if (expected.couponRefusal) {
          await expect(buy()).rejects.toMatchObject({ code: 'COUPON_NOT_APPLICABLE', details: { reason: expected.couponRefusal } });
          expect((await env.flash.view(itemId))!.available).toBe(10);
          return;
        }
        const h = held(await buy());
        expect(h.amount).toBe(expected.amount);
        expect(h.breakdown).toEqual(expected.steps);
        const again = await env.flash.reserve(itemId, 'u1', input.qty, `k${runs}`, { tier: input.tier, coupon: input.coupon?.id });
        expect(again).toMatchObject({ outcome: 'duplicate', first: { amount: expected.amount, breakdown: expected.steps } });
        if (input.coupon) {
          expect(await promo.campaign(itemId, input.coupon.id)).toMatchObject({ left: input.coupon.budget - 1, issued: 1, spent: 0 });
          expect(await promo.holdCoupon(itemId, h.orderId)).toMatchObject({ state: 'reserved', campaign: input.coupon.id, couponOff: expected.couponOff });
        }
      }),
      { numRuns: 60 },
    );
    console.log(`resolver agreement: ${runs} random rule sets priced by the reserve script, each equal to the resolver`);
  });
});

describe('a coupon lives with its hold', () => {
  const campaign = (over: Partial<CouponCampaign> = {}): CouponCampaign => ({
    id: 'off500', kind: 'spend', amount: 500, percent: 0, minSpend: 3000, budget: 2, perUser: 1, startsAt: 0, endsAt: 99_999_999_999_999, ...over,
  });

  it('is freed by a cancel, spent by a payment, restored by a refund; the charge and refund are the discounted price', async () => {
    const itemId = await flashItem(1990, 10);
    await promo.setMemberDay(itemId, { threshold: 6800, off: { regular: 600, silver: 800, gold: 1000 } });
    await promo.addCampaign(itemId, campaign());
    expect(await promo.addCampaign(itemId, campaign())).toBe(false);
    await expect(promo.addCampaign(itemId, campaign({ amount: 900 }))).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });

    // 4 × 1990 = 7960 ≥ 6800: gold takes 1000 off, then 满3000减500
    const a = held(await env.flash.reserve(itemId, 'alice', 4, 'a1', { tier: 'gold', coupon: 'off500' }));
    expect(a.amount).toBe(7960 - 1000 - 500);
    expect(a.breakdown.map((s) => s.rule)).toEqual(['unit 1990 x 4', 'member-day:gold', 'coupon:off500']);
    // one per user
    await expect(env.flash.reserve(itemId, 'alice', 2, 'a2', { coupon: 'off500' })).rejects.toMatchObject({ code: 'COUPON_EXHAUSTED', details: { reason: 'user' } });
    await env.flash.cancel(itemId, a.orderId, { userId: 'alice' });
    expect(await promo.campaign(itemId, 'off500')).toMatchObject({ left: 2, issued: 1, spent: 0 });
    expect(await promo.holdCoupon(itemId, a.orderId)).toMatchObject({ state: 'freed' });

    const b = held(await env.flash.reserve(itemId, 'alice', 2, 'a3', { tier: 'silver', coupon: 'off500' }));
    expect(b.amount).toBe(3980 - 500); // below the member-day threshold: no member step
    const paid = await env.payments.pay(itemId, b.orderId, 'alice');
    expect(paid.amount).toBe(3480);
    expect(await promo.campaign(itemId, 'off500')).toMatchObject({ left: 1, issued: 2, spent: 1 });
    const refund = await env.flash.cancel(itemId, b.orderId, { host: 'host1' });
    expect(refund).toMatchObject({ outcome: 'refunded', refund: 3480 });
    expect(await promo.campaign(itemId, 'off500')).toMatchObject({ left: 2, issued: 2, spent: 0 });
    expect(await promo.userCoupons(itemId, 'off500', 'alice')).toBe(0);
    // a repeated refund changes nothing
    await env.flash.cancel(itemId, b.orderId, { host: 'host1' });
    expect(await promo.campaign(itemId, 'off500')).toMatchObject({ left: 2, spent: 0 });
  });

  it('comes back when its hold expires, exactly once', async () => {
    const itemId = await flashItem(5000, 5, { holdMs: 1000 });
    await promo.addCampaign(itemId, campaign({ id: 'pct', kind: 'percent', amount: 0, percent: 10, minSpend: 0, budget: 1 }));
    const h = held(await env.flash.reserve(itemId, 'bob', 1, 'b1', { coupon: 'pct' }));
    expect(h.amount).toBe(4500);
    await expect(env.flash.reserve(itemId, 'carol', 1, 'c1', { coupon: 'pct' })).rejects.toMatchObject({ code: 'COUPON_EXHAUSTED', details: { reason: 'budget' } });
    await new Promise((r) => setTimeout(r, 1200));
    const k = env.keys.item(itemId);
    await env.scripts.call('expire-holds', [k.item, k.users, k.holds, k.deadlines, k.outbox], [100]);
    await env.scripts.call('expire-holds', [k.item, k.users, k.holds, k.deadlines, k.outbox], [100]);
    await expect(env.payments.pay(itemId, h.orderId, 'bob')).rejects.toBeInstanceOf(LivesaleError);
    expect(await promo.campaign(itemId, 'pct')).toMatchObject({ left: 1, issued: 1, spent: 0 });
    expect(held(await env.flash.reserve(itemId, 'carol', 1, 'c2', { coupon: 'pct' })).amount).toBe(4500);
  });
});

describe('a storm where coupons and stock are both scarce', () => {
  it('never holds without its coupon and never spends a coupon twice', { timeout: 240_000 }, async () => {
    const stock = 60;
    const budget = 40;
    const itemId = await flashItem(10_000, stock, { perUserLimit: 2 });
    await promo.addCampaign(itemId, { id: 'storm', kind: 'fixed', amount: 2000, percent: 0, minSpend: 0, budget, perUser: 1, startsAt: 0, endsAt: 99_999_999_999_999 });
    const users = Array.from({ length: 300 }, (_, i) => `s${i}`);
    // every shopper asks twice with a coupon (two keys) and once without; a third of them retry their first key
    const attempts = users.flatMap((u, i) => [
      () => env.flash.reserve(itemId, u, 1, `${u}-a`, { coupon: 'storm' }),
      () => env.flash.reserve(itemId, u, 1, `${u}-b`, { coupon: 'storm' }),
      () => env.flash.reserve(itemId, u, 1, `${u}-n`),
      ...(i % 3 === 0 ? [() => env.flash.reserve(itemId, u, 1, `${u}-a`, { coupon: 'storm' })] : []),
    ]);
    const shuffled = attempts.map((f, i) => ({ f, r: (i * 7919) % attempts.length })).sort((x, y) => x.r - y.r);
    const results = await Promise.all(shuffled.map(({ f }) => f().then((r) => ({ r }), (e: unknown) => ({ e }))));
    const holds = results.flatMap((x) => ('r' in x && x.r.outcome === 'held' ? [x.r] : []));
    const withCoupon = holds.filter((h) => h.breakdown.some((s) => s.step === 'coupon'));
    const unexpected = results.filter((x) => 'e' in x && !(x.e instanceof LivesaleError && x.e.code === 'COUPON_EXHAUSTED'));
    expect(unexpected).toEqual([]);
    expect(holds.length).toBe(stock);
    expect(withCoupon.length).toBeLessThanOrEqual(budget);
    for (const h of withCoupon) {
      expect(h.amount).toBe(8000);
      expect(await promo.holdCoupon(itemId, h.orderId)).toMatchObject({ state: 'reserved', campaign: 'storm' });
    }
    for (const h of holds.filter((x) => !withCoupon.includes(x))) expect(await promo.holdCoupon(itemId, h.orderId)).toBeUndefined();
    const afterBuys = await promo.campaign(itemId, 'storm');
    expect(afterBuys!.left).toBe(budget - withCoupon.length);

    // then, at once: pay half of the coupon holds (each paid twice), cancel the rest (each twice), refund some paid ones
    const toPay = withCoupon.filter((_, i) => i % 2 === 0);
    const toCancel = withCoupon.filter((_, i) => i % 2 === 1);
    const userOf = async (orderId: string) => (await env.flash.hold(itemId, orderId))!.userId;
    const owners = new Map(await Promise.all(withCoupon.map(async (h) => [h.orderId, await userOf(h.orderId)] as const)));
    const paid = await Promise.all([
      ...toPay.flatMap((h) => [env.payments.pay(itemId, h.orderId, owners.get(h.orderId)!), env.payments.pay(itemId, h.orderId, owners.get(h.orderId)!)]),
      ...toCancel.flatMap((h) => [env.flash.cancel(itemId, h.orderId, { userId: owners.get(h.orderId)! }), env.flash.cancel(itemId, h.orderId, { userId: owners.get(h.orderId)! })]),
    ]);
    const charged = paid.filter((p) => 'outcome' in p && p.outcome === 'paid').reduce((s, p) => s + (p as { amount: number }).amount, 0);
    expect(charged).toBe(toPay.length * 2 * 8000);
    const refunded = toPay.slice(0, 5);
    await Promise.all(refunded.flatMap((h) => [env.flash.cancel(itemId, h.orderId, { host: 'h' }), env.flash.cancel(itemId, h.orderId, { host: 'h' })]));

    const state = await promo.campaign(itemId, 'storm');
    const spentNow = toPay.length - refunded.length;
    expect(state).toMatchObject({ issued: withCoupon.length, spent: spentNow, left: budget - spentNow });
    let reservedOrSpent = 0;
    for (const h of withCoupon) {
      const c = await promo.holdCoupon(itemId, h.orderId);
      if (c?.state !== 'freed') reservedOrSpent++;
    }
    expect(reservedOrSpent).toBe(spentNow);
    let perUser = 0;
    for (const u of users) perUser += await promo.userCoupons(itemId, 'storm', u);
    expect(perUser).toBe(spentNow);
    // the coupons freed go to new shoppers
    const late = await Promise.all(Array.from({ length: 60 }, (_, i) => env.flash.reserve(itemId, `late${i}`, 1, 'k', { coupon: 'storm' }).catch((e: unknown) => e)));
    const lateHolds = late.filter((r) => (r as ReserveResult).outcome === 'held').length;
    const view = await env.flash.view(itemId);
    expect(lateHolds).toBe(Math.min(budget - spentNow, toCancel.length + refunded.length));
    expect(view!.available + view!.held + view!.sold).toBe(stock);
    console.log(
      `coupon storm: ${attempts.length} buys for ${stock} units and ${budget} coupons -> ${holds.length} holds, ${withCoupon.length} with a coupon; ` +
        `${toPay.length} paid (${charged / 2} fen), ${toCancel.length} cancelled, ${refunded.length} refunded; ` +
        `campaign issued ${state!.issued + lateHolds}, spent ${state!.spent}, left ${budget - spentNow - lateHolds}; ${lateHolds} late holds took the freed coupons`,
    );
  });
});
