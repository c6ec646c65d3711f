import { tierAt, type TierSpec } from './tiers.ts';

/**
 * Settlement of a tiered group buy: a pure function of the tiers, the final count and the
 * orders. It decides the final price and, per order, what brings it to that price:
 *
 * - the group reached a tier (count >= first threshold): final price = that tier's price. A paid
 *   order above it is refunded the difference; an unpaid hold above it is repriced. Nobody pays
 *   more than the price of the tier reached when they joined.
 * - below the first threshold, by configuration: "base" sells at the base price (nobody paid
 *   more than the base, so nothing is refunded); "fail" cancels every unpaid hold and refunds
 *   every paid order in full.
 *
 * Orders already cancelled, expired or refunded take no action. Running it again on the result
 * finds nothing left to do, which makes the settlement idempotent together with the event ids.
 */

export type CountBy = 'people' | 'units';
export type BelowFirstTier = 'fail' | 'base';
export type GroupOutcome = 'succeeded' | 'failed' | 'base_price';

export interface SettlementOrder {
  readonly orderId: string;
  readonly userId: string;
  readonly qty: number;
  /** Unit price the order carries now (fen). */
  readonly unitPrice: number;
  readonly state: 'held' | 'paid' | 'cancelled' | 'expired' | 'refunded';
  /** The hold's version the action is computed from. */
  readonly version: number;
}

export type SettlementAction =
  | { readonly kind: 'refund'; readonly orderId: string; readonly userId: string; readonly version: number; readonly amount: number; readonly reason: 'tier_settlement' }
  | { readonly kind: 'reprice'; readonly orderId: string; readonly userId: string; readonly version: number; readonly price: number; readonly amount: number }
  | { readonly kind: 'cancel'; readonly orderId: string; readonly userId: string; readonly version: number; readonly reason: 'group_failed' }
  | { readonly kind: 'refund_full'; readonly orderId: string; readonly userId: string; readonly version: number; readonly amount: number; readonly reason: 'group_failed' };

export interface Settlement {
  readonly outcome: GroupOutcome;
  /** 0 = base price. */
  readonly tier: number;
  readonly finalPrice: number;
  readonly actions: readonly SettlementAction[];
  /** Sum of the refunds (fen). */
  readonly refundTotal: number;
}

/** The outcome and final unit price for a final count. */
export function finalTier(spec: TierSpec, below: BelowFirstTier, finalCount: number): { outcome: GroupOutcome; tier: number; finalPrice: number } {
  const t = tierAt(spec, Math.max(0, finalCount));
  if (t.index > 0) return { outcome: 'succeeded', tier: t.index, finalPrice: t.price };
  return { outcome: below === 'base' ? 'base_price' : 'failed', tier: 0, finalPrice: spec.basePrice };
}

export function settle(spec: TierSpec, below: BelowFirstTier, finalCount: number, orders: readonly SettlementOrder[]): Settlement {
  const { outcome, tier, finalPrice } = finalTier(spec, below, finalCount);
  const actions: SettlementAction[] = [];
  let refundTotal = 0;
  for (const o of orders) {
    const { orderId, userId, version } = o;
    if (outcome === 'failed') {
      if (o.state === 'held') actions.push({ kind: 'cancel', orderId, userId, version, reason: 'group_failed' });
      else if (o.state === 'paid') {
        const amount = o.unitPrice * o.qty;
        refundTotal += amount;
        actions.push({ kind: 'refund_full', orderId, userId, version, amount, reason: 'group_failed' });
      }
      continue;
    }
    if (o.unitPrice <= finalPrice) continue;
    if (o.state === 'paid') {
      const amount = (o.unitPrice - finalPrice) * o.qty;
      refundTotal += amount;
      actions.push({ kind: 'refund', orderId, userId, version, amount, reason: 'tier_settlement' });
    } else if (o.state === 'held') {
      actions.push({ kind: 'reprice', orderId, userId, version, price: finalPrice, amount: finalPrice * o.qty });
    }
  }
  return { outcome, tier, finalPrice, actions, refundTotal };
}
