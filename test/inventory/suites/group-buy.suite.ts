import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LivesaleError } from '../../../common/platform/errors.ts';
import { inventoryEvent } from '../../../common/contracts/inventory-events.ts';
import type { GroupItemSpec, Joined } from '../../../inventory/group-buy.ts';
import { tierAt, type Tier } from '../../../inventory/tiers.ts';
import type { InventoryEnv } from '../env.ts';
import { dumpItem, outbox, redisNow } from '../helpers.ts';

/** The cherries example of a tiered group buy: 499 base; 100 -> 449; 500 -> 399; 1000 -> 299 (yuan, here in fen). */
export const cherries: readonly Tier[] = [
  { threshold: 100, price: 44900 },
  { threshold: 500, price: 39900 },
  { threshold: 1000, price: 29900 },
];

/**
 * The tiered group buy suite against real Redis; runs unchanged on a single Redis and on a
 * 3-master Redis Cluster.
 */
export function groupBuySuite(env: () => InventoryEnv): void {
  async function group(over: Partial<GroupItemSpec> = {}, itemId = env().itemId()): Promise<string> {
    const e = env();
    const now = await redisNow(e.redis);
    await e.groups.create({
      itemId,
      roomId: 'r1',
      capacity: 2000,
      basePrice: 49900,
      tiers: cherries,
      countBy: 'people',
      belowFirstTier: 'fail',
      perUserLimit: 10,
      startsAt: now - 60_000,
      endsAt: now + 600_000,
      holdMs: 600_000,
      ...over,
    });
    return itemId;
  }

  async function joined(itemId: string, user: string, qty = 1): Promise<Joined> {
    const r = await env().groups.join(itemId, user, qty, randomUUID());
    if (r.outcome !== 'held') throw new Error(`expected a join, got ${r.outcome}`);
    return r;
  }

  async function errorOf(p: Promise<unknown>): Promise<LivesaleError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(e instanceof LivesaleError)) throw new Error(`expected a LivesaleError, got ${String(e)}`);
    return e;
  }

  describe('tiers are validated', () => {
    const bad: [string, Partial<GroupItemSpec>][] = [
      ['no tiers', { tiers: [] }],
      ['thresholds not ascending', { tiers: [{ threshold: 10, price: 400 }, { threshold: 10, price: 300 }] }],
      ['prices not descending', { tiers: [{ threshold: 10, price: 400 }, { threshold: 20, price: 400 }] }],
      ['a tier at or above the base price', { basePrice: 500, tiers: [{ threshold: 10, price: 500 }] }],
      ['a fractional price (fen are integers)', { tiers: [{ threshold: 10, price: 399.5 }] }],
      ['a zero threshold', { tiers: [{ threshold: 0, price: 100 }] }],
      ['a negative price', { tiers: [{ threshold: 5, price: -1 }] }],
      ['an unknown count mode', { countBy: 'votes' as GroupItemSpec['countBy'] }],
      ['an unknown policy', { belowFirstTier: 'maybe' as GroupItemSpec['belowFirstTier'] }],
    ];
    for (const [name, over] of bad) {
      it(`refuses ${name} with INVALID_ARGUMENT and creates nothing`, async () => {
        const { keys, redis } = env();
        const id = env().itemId();
        const err = await errorOf(group(over, id));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(await dumpItem(redis, keys.item(id))).toEqual(Object.fromEntries(keys.item(id).all.map((k) => [k, 'none'])));
      });
    }
  });

  describe('joining', () => {
    it('returns the count, the price now and the next threshold; crossing a tier is an event', async () => {
      const { groups, redis, keys } = env();
      const id = await group({ tiers: [{ threshold: 3, price: 400 }, { threshold: 5, price: 300 }], basePrice: 500 });
      const results = [];
      for (let i = 1; i <= 6; i++) results.push(await joined(id, `p${i}`));
      expect(results.map((r) => [r.count, r.unitPrice, r.nextThreshold, r.crossed])).toEqual([
        [1, 500, 3, false],
        [2, 500, 3, false],
        [3, 400, 5, true],
        [4, 400, 5, false],
        [5, 300, null, true],
        [6, 300, null, false],
      ]);
      const events = await outbox(redis, keys.item(id));
      const tiers = events.filter((e) => e.type === 'group.tier_reached').map((e) => inventoryEvent.parse(e));
      expect(tiers).toMatchObject([
        { tier: 1, threshold: 3, price: 400, count: 3 },
        { tier: 2, threshold: 5, price: 300, count: 5 },
      ]);
      const held = events.filter((e) => e.type === 'order.held').map((e) => inventoryEvent.parse(e));
      expect(held.every((e) => e.type === 'order.held' && e.kind === 'group')).toBe(true);
      expect((await groups.view(id))!.group).toMatchObject({ count: 6, tier: 2, priceNow: 300, nextThreshold: null, state: 'open' });
    });

    it('counts people once however many units they take; in units mode counts units', async () => {
      const { groups } = env();
      const people = await group({ countBy: 'people' });
      await joined(people, 'a', 3);
      await joined(people, 'a', 2);
      await joined(people, 'b', 1);
      expect((await groups.view(people))!.group!.count).toBe(2);
      const units = await group({ countBy: 'units' });
      await joined(units, 'a', 3);
      await joined(units, 'a', 2);
      await joined(units, 'b', 1);
      expect((await groups.view(units))!.group!.count).toBe(6);
    });

    it('a leaving participant lowers the count (and the tier) while the group is open', async () => {
      const { groups } = env();
      const id = await group({ tiers: [{ threshold: 2, price: 400 }], basePrice: 500 });
      const a = await joined(id, 'a');
      await joined(id, 'b');
      expect((await groups.view(id))!.group).toMatchObject({ count: 2, tier: 1 });
      const c = await groups.cancel(id, a.orderId, { userId: 'a' });
      expect(c.group).toEqual({ count: 1, tier: 0 });
      expect((await joined(id, 'c')).unitPrice).toBe(400);
    });

    it('refuses joins past capacity, over the limit, outside the window, and once closed', async () => {
      const { groups, redis } = env();
      const id = await group({ capacity: 3, perUserLimit: 2 });
      await joined(id, 'a', 2);
      expect(await groups.join(id, 'a', 1, 'k')).toMatchObject({ outcome: 'limit_reached' });
      expect(await groups.join(id, 'b', 2, 'k')).toMatchObject({ outcome: 'insufficient_stock', available: 1 });
      await joined(id, 'b', 1);
      expect(await groups.join(id, 'c', 1, 'k')).toMatchObject({ outcome: 'sold_out' });
      await groups.close(id, 'host-1');
      expect(await groups.join(id, 'd', 1, 'k')).toMatchObject({ outcome: 'group_closed', code: 'GROUP_CLOSED' });
      const now = await redisNow(redis);
      const later = await group({ startsAt: now + 60_000, endsAt: now + 120_000 });
      expect(await groups.join(later, 'a', 1, 'k')).toMatchObject({ outcome: 'not_started' });
      expect((await errorOf(env().flash.reserve(later, 'a', 1, 'k'))).code).toBe('WRONG_ITEM_KIND');
      expect((await errorOf(env().flash.setPrice(later, 1, {}, 'host-1'))).code).toBe('WRONG_ITEM_KIND');
    });

    it('prices a join exactly as tierAt does: threshold-1, threshold, threshold+1, above the top (property)', async () => {
      const { groups } = env();
      const tiersArb = fc
        .uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 4 })
        .map((ts) => ts.sort((a, b) => a - b).map((threshold, i) => ({ threshold, price: 1000 - (i + 1) * 100 })));
      await fc.assert(
        fc.asyncProperty(tiersArb, fc.nat(3), fc.integer({ min: -1, max: 1 }), async (tiers, pick, offset) => {
          const top = tiers[tiers.length - 1]!.threshold;
          const target = pick === 3 ? top + 5 : Math.max(1, tiers[Math.min(pick, tiers.length - 1)]!.threshold + offset);
          const id = await group({ countBy: 'units', basePrice: 1000, tiers, capacity: 1000, perUserLimit: 1000 });
          const r = await joined(id, 'u', target);
          const want = tierAt({ basePrice: 1000, tiers }, target);
          expect([r.count, r.unitPrice, r.tier, r.nextThreshold]).toEqual([target, want.price, want.index, want.next]);
          expect((await groups.view(id))!.group!.priceNow).toBe(want.price);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe('close and settle', () => {
    it('settles a succeeded group: refunds paid orders down to the final price, reprices holds, once', async () => {
      const { groups, payments, redis, keys } = env();
      const id = await group({ basePrice: 500, tiers: [{ threshold: 2, price: 400 }, { threshold: 4, price: 300 }] });
      const a = await joined(id, 'a', 2); // 500
      const b = await joined(id, 'b'); // 400
      const c = await joined(id, 'c'); // 400
      const d = await joined(id, 'd'); // 300
      await payments.pay(id, a.orderId, 'a');
      await payments.pay(id, b.orderId, 'b');
      await payments.pay(id, d.orderId, 'd');
      const s = await groups.settle(id, 'host-1');
      expect(s).toMatchObject({ outcome: 'succeeded', finalPrice: 300, count: 4, refunds: 2, refundTotal: 2 * 200 + 100, repriced: 1, cancelled: 0, already: false });
      expect(await groups.settle(id, 'host-1')).toMatchObject({ already: true, refunds: 0, repriced: 0 });
      expect(await groups.hold(id, c.orderId)).toMatchObject({ state: 'held', unitPrice: 300, version: 2 });
      // Paying the repriced hold at its old version is refused; at the new one it costs the final price.
      expect((await errorOf(payments.pay(id, c.orderId, 'c', 1))).code).toBe('HOLD_CHANGED');
      expect((await payments.pay(id, c.orderId, 'c', 2)).amount).toBe(300);
      const events = await outbox(redis, keys.item(id));
      const refunds = events.filter((e) => e.type === 'refund.issued').map((e) => inventoryEvent.parse(e));
      expect(refunds.map((e) => ('amount' in e ? e.amount : 0)).sort()).toEqual([100, 400]);
      expect(new Set(refunds.map((e) => e.id)).size).toBe(2);
      expect(events.filter((e) => e.type === 'group.closed').map((e) => inventoryEvent.parse(e))).toMatchObject([{ count: 4, finalPrice: 300, outcome: 'succeeded' }]);
      expect((await groups.view(id))!.group).toMatchObject({ state: 'settled', finalPrice: 300, outcome: 'succeeded' });
    });

    it('a group below its first threshold fails by configuration: holds cancelled, payments refunded in full, stock back', async () => {
      const { groups, payments, redis, keys } = env();
      const id = await group({ capacity: 10, basePrice: 500, tiers: [{ threshold: 5, price: 400 }], belowFirstTier: 'fail' });
      const a = await joined(id, 'a', 2);
      await joined(id, 'b');
      await payments.pay(id, a.orderId, 'a');
      const s = await groups.settle(id, 'host-1');
      expect(s).toMatchObject({ outcome: 'failed', count: 2, refunds: 1, refundTotal: 1000, cancelled: 1, available: 10 });
      const v = (await groups.view(id))!;
      expect([v.available, v.held, v.sold]).toEqual([10, 0, 0]);
      const events = await outbox(redis, keys.item(id));
      expect(events.filter((e) => e.type === 'order.cancelled').map((e) => e.reason)).toEqual(['group_failed']);
      expect(events.filter((e) => e.type === 'refund.issued').map((e) => [e.reason, e.amount])).toEqual([['group_failed', 1000]]);
    });

    it('or sells at the base price', async () => {
      const { groups, payments } = env();
      const id = await group({ capacity: 10, basePrice: 500, tiers: [{ threshold: 5, price: 400 }], belowFirstTier: 'base' });
      const a = await joined(id, 'a', 2);
      await payments.pay(id, a.orderId, 'a');
      expect(await groups.settle(id, 'host-1')).toMatchObject({ outcome: 'base_price', finalPrice: 500, refunds: 0, cancelled: 0 });
      expect((await groups.view(id))!.sold).toBe(2);
    });

    it('a group with nobody in it settles with nothing to do', async () => {
      const { groups } = env();
      const id = await group();
      expect(await groups.settle(id, 'host-1')).toMatchObject({ outcome: 'failed', count: 0, refunds: 0, cancelled: 0 });
    });

    it('the cherries: 1,200 concurrent joins on capacity 1,100 give an exact count, final price and refunds to the fen', async () => {
      const { groups, payments, redis, keys } = env();
      const id = await group({ capacity: 1100, basePrice: 49900, tiers: cherries, countBy: 'people', perUserLimit: 1 });
      const results = await Promise.all(Array.from({ length: 1200 }, (_, i) => groups.join(id, `c${i}`, 1, `k${i}`)));
      const userOf = new Map<string, string>();
      results.forEach((r, i) => {
        if (r.outcome === 'held') userOf.set(r.orderId, `c${i}`);
      });
      const ok = results.filter((r): r is Joined => r.outcome === 'held');
      expect(ok).toHaveLength(1100);
      expect(results.filter((r) => r.outcome === 'sold_out')).toHaveLength(100);
      expect(new Set(ok.map((r) => r.count)).size).toBe(1100); // every count from 1 to 1,100 exactly once
      const byPrice = new Map<number, number>();
      for (const r of ok) byPrice.set(r.unitPrice, (byPrice.get(r.unitPrice) ?? 0) + 1);
      expect(Object.fromEntries(byPrice)).toEqual({ 49900: 99, 44900: 400, 39900: 500, 29900: 101 });
      for (const r of ok) expect(r.unitPrice).toBe(tierAt({ basePrice: 49900, tiers: cherries }, r.count).price);

      // Two in three pay at their join price; the rest stay holds.
      const payers = ok.filter((_, i) => i % 3 !== 2);
      const paid = await Promise.all(payers.map((r) => payments.pay(id, r.orderId, userOf.get(r.orderId)!)));
      const charged = paid.reduce((s, p) => s + p.amount, 0);

      const s = await groups.settle(id, 'host-1');
      expect(s).toMatchObject({ outcome: 'succeeded', finalPrice: 29900, count: 1100 });
      const events = await outbox(redis, keys.item(id));
      const refunds = events.filter((e) => e.type === 'refund.issued').map((e) => Number(e.amount));
      const repriced = events.filter((e) => e.type === 'order.repriced').map((e) => Number(e.amount));
      const expectRefund = payers.reduce((sum, r) => sum + (r.unitPrice - 29900), 0);
      expect(refunds.reduce((a, b) => a + b, 0)).toBe(expectRefund);
      expect(s.refundTotal).toBe(expectRefund);
      // Every unit ends at the final price: charged - refunded + what holds now cost = 1,100 x 299.00.
      const heldAtFinal = ok.filter((_, i) => i % 3 === 2).length * 29900;
      expect(repriced.reduce((a, b) => a + b, 0)).toBe(ok.filter((r, i) => i % 3 === 2 && r.unitPrice > 29900).length * 29900);
      expect(charged - s.refundTotal + heldAtFinal).toBe(1100 * 29900);
      expect(await groups.settle(id, 'host-1')).toMatchObject({ already: true, refunds: 0 });
      expect((await outbox(redis, keys.item(id))).filter((e) => e.type === 'refund.issued')).toHaveLength(refunds.length);
      const v = (await groups.view(id))!;
      expect([v.available, v.held, v.sold, v.total]).toEqual([0, 1100 - payers.length, payers.length, 1100]);
    });
  });
}
