import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import { finalTier, settle, type BelowFirstTier, type SettlementOrder } from '../../inventory/settlement.ts';
import { decodeTiers, encodeTiers, tierAt, validateTiers, type TierSpec } from '../../inventory/tiers.ts';

/** Valid tier specs: ascending thresholds, descending prices below the base, integers. */
const specArb: fc.Arbitrary<TierSpec> = fc
  .record({
    thresholds: fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
    base: fc.integer({ min: 100, max: 1_000_000 }),
    steps: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 6, maxLength: 6 }),
  })
  .filter(({ base, steps }) => base - steps.reduce((a, b) => a + b, 0) >= 0)
  .map(({ thresholds, base, steps }) => {
    const sorted = [...thresholds].sort((a, b) => a - b);
    let price = base;
    return { basePrice: base, tiers: sorted.map((threshold, i) => ({ threshold, price: (price -= steps[i]!) })) };
  });

const policyArb = fc.constantFrom<BelowFirstTier>('fail', 'base');

function ordersArb(spec: TierSpec): fc.Arbitrary<SettlementOrder[]> {
  const prices = [spec.basePrice, ...spec.tiers.map((t) => t.price)];
  return fc.array(
    fc.record({
      orderId: fc.uuid(),
      userId: fc.string({ minLength: 1, maxLength: 8 }),
      qty: fc.integer({ min: 1, max: 5 }),
      unitPrice: fc.constantFrom(...prices),
      state: fc.constantFrom<SettlementOrder['state']>('held', 'paid', 'paid', 'cancelled', 'expired', 'refunded'),
      version: fc.integer({ min: 1, max: 4 }),
    }),
    { maxLength: 40 },
  );
}

/** The orders after applying a settlement's actions (what the settle-group script does). */
function applied(orders: readonly SettlementOrder[], s: ReturnType<typeof settle>): SettlementOrder[] {
  const byId = new Map(s.actions.map((a) => [a.orderId, a]));
  // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch over a.kind is exhaustive (TypeScript checks it)
  return orders.map((o) => {
    const a = byId.get(o.orderId);
    if (!a) return o;
    switch (a.kind) {
      case 'refund':
      case 'reprice':
        return { ...o, unitPrice: s.finalPrice, version: o.version + 1 };
      case 'cancel':
        return { ...o, state: 'cancelled', version: o.version + 1 };
      case 'refund_full':
        return { ...o, state: 'refunded', version: o.version + 1 };
    }
  });
}

describe('tiers', () => {
  it('validates: ascending thresholds, descending prices below the base, integer fen', () => {
    const ok = { basePrice: 49900, tiers: [{ threshold: 100, price: 44900 }, { threshold: 500, price: 39900 }] };
    expect(validateTiers(ok)).toBe(ok);
    const bad: TierSpec[] = [
      { basePrice: 100, tiers: [] },
      { basePrice: 100, tiers: [{ threshold: 5, price: 100 }] },
      { basePrice: 100, tiers: [{ threshold: 5, price: 90 }, { threshold: 4, price: 80 }] },
      { basePrice: 100, tiers: [{ threshold: 5, price: 90 }, { threshold: 6, price: 95 }] },
      { basePrice: 100, tiers: [{ threshold: 5, price: 89.99 }] },
      { basePrice: 100.5, tiers: [{ threshold: 5, price: 90 }] },
      { basePrice: 100, tiers: [{ threshold: 0, price: 90 }] },
      { basePrice: 100, tiers: Array.from({ length: 21 }, (_, i) => ({ threshold: i + 1, price: 99 - i })) },
    ];
    for (const spec of bad) expect(() => validateTiers(spec)).toThrow(LivesaleError);
  });

  it('round-trips through the stored form', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        expect(decodeTiers(encodeTiers(spec.tiers))).toEqual(spec.tiers);
      }),
    );
  });
});

describe('settlement (property tests at the boundaries)', () => {
  it('at threshold-1, threshold, threshold+1 of every tier: reaching a threshold exactly counts', () => {
    fc.assert(
      fc.property(specArb, policyArb, (spec, policy) => {
        spec.tiers.forEach((t, i) => {
          const below = i === 0 ? spec.basePrice : spec.tiers[i - 1]!.price;
          const at = finalTier(spec, policy, t.threshold);
          expect(at).toEqual({ outcome: 'succeeded', tier: i + 1, finalPrice: t.price });
          const before = finalTier(spec, policy, t.threshold - 1);
          expect(before.finalPrice).toBe(below);
          expect(before.tier).toBe(i);
          const after = finalTier(spec, policy, t.threshold + 1);
          const next = spec.tiers[i + 1];
          expect(after.finalPrice).toBe(next && next.threshold === t.threshold + 1 ? next.price : t.price);
        });
      }),
    );
  });

  it('above the top threshold gets the top price; zero and below the first threshold follow the policy', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: 1, max: 1_000_000 }), (spec, extra) => {
        const top = spec.tiers[spec.tiers.length - 1]!;
        expect(finalTier(spec, 'fail', top.threshold + extra)).toEqual({ outcome: 'succeeded', tier: spec.tiers.length, finalPrice: top.price });
        expect(tierAt(spec, top.threshold + extra).next).toBeNull();
        expect(finalTier(spec, 'fail', 0)).toEqual({ outcome: 'failed', tier: 0, finalPrice: spec.basePrice });
        expect(finalTier(spec, 'base', 0)).toEqual({ outcome: 'base_price', tier: 0, finalPrice: spec.basePrice });
        expect(settle(spec, 'fail', 0, [])).toEqual({ outcome: 'failed', tier: 0, finalPrice: spec.basePrice, actions: [], refundTotal: 0 });
      }),
    );
  });

  it('every unit ends at min(its price, the final price); refunds add up to the fen; nobody pays more than at joining', () => {
    fc.assert(
      fc.property(
        specArb.chain((spec) =>
          fc.tuple(
            fc.constant(spec),
            policyArb,
            fc.oneof(
              fc.constantFrom(0, ...spec.tiers.flatMap((t) => [t.threshold - 1, t.threshold, t.threshold + 1])),
              fc.integer({ min: 0, max: 10_000 }),
            ),
            ordersArb(spec),
          ),
        ),
        ([spec, policy, count, orders]) => {
          const s = settle(spec, policy, count, orders);
          const after = applied(orders, s);
          const refunds = new Map(s.actions.filter((a) => a.kind === 'refund' || a.kind === 'refund_full').map((a) => [a.orderId, 'amount' in a ? a.amount : 0]));
          expect([...refunds.values()].reduce((a, b) => a + b, 0)).toBe(s.refundTotal);
          orders.forEach((o, i) => {
            const a = after[i]!;
            expect(a.unitPrice).toBeLessThanOrEqual(o.unitPrice);
            if (o.state === 'cancelled' || o.state === 'expired' || o.state === 'refunded') {
              expect(a).toEqual(o);
              return;
            }
            if (s.outcome === 'failed') {
              // Failed: every hold cancelled, every payment refunded in full.
              expect(a.state).toBe(o.state === 'held' ? 'cancelled' : 'refunded');
              if (o.state === 'paid') expect(refunds.get(o.orderId)).toBe(o.unitPrice * o.qty);
              return;
            }
            expect(a.unitPrice).toBe(Math.min(o.unitPrice, s.finalPrice));
            if (o.state === 'paid') expect(o.unitPrice * o.qty - (refunds.get(o.orderId) ?? 0)).toBe(a.unitPrice * o.qty);
          });
          // Settling the settled orders again finds nothing to do.
          expect(settle(spec, policy, count, after).actions).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the cherries by hand: 1,100 joiners at their join prices settle to 299.00 each', () => {
    const spec = { basePrice: 49900, tiers: [{ threshold: 100, price: 44900 }, { threshold: 500, price: 39900 }, { threshold: 1000, price: 29900 }] };
    const orders: SettlementOrder[] = Array.from({ length: 1100 }, (_, i) => ({
      orderId: `o${i}`,
      userId: `u${i}`,
      qty: 1,
      unitPrice: tierAt(spec, i + 1).price,
      state: 'paid',
      version: 2,
    }));
    const s = settle(spec, 'fail', 1100, orders);
    expect(s.finalPrice).toBe(29900);
    expect(s.refundTotal).toBe(99 * 20000 + 400 * 15000 + 500 * 10000);
    expect(orders.reduce((a, o) => a + o.unitPrice, 0) - s.refundTotal).toBe(1100 * 29900);
  });
});
