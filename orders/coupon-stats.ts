import { sql, type Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { metric, type MetricValue } from './metrics.ts';

/**
 * Coupon and member-day figures of a room, from the ledger (the definitions are in the metric
 * dictionary, orders/metrics.ts):
 *   issued          holds that reserved a coupon of the campaign (any outcome)
 *   used            of those, orders paid and not refunded
 *   discountTotal   the coupon discount of the used orders, in fen
 * and per room the member-day discount of paid, not refunded orders.
 */

export interface CouponFigures {
  readonly itemId: string;
  readonly campaign: string;
  readonly issued: number;
  readonly used: number;
  readonly discountTotal: number;
}

export interface PromotionFigures {
  readonly coupons: readonly CouponFigures[];
  readonly memberDiscountTotal: number;
}

/** A room's figures, or one show's (its items' orders) when `showId` is given. */
export async function promotionFigures(db: Kysely<Database>, roomId: string, showId?: string): Promise<PromotionFigures> {
  const ofShow = showId === undefined ? sql`` : sql`AND p.item_id IN (SELECT id FROM campaign_items WHERE show_id = ${showId}::bigint)`;
  const coupons = await sql<{ item_id: string; coupon: string; issued: string; used: string; discount: string }>`
    SELECT p.item_id::text AS item_id, p.coupon, count(*) AS issued,
      count(*) FILTER (WHERE o.state = 'paid') AS used,
      coalesce(sum(p.coupon_off) FILTER (WHERE o.state = 'paid'), 0) AS discount
    FROM order_prices p JOIN orders o ON o.order_id = p.order_id
    WHERE p.room_id = ${roomId}::bigint AND p.coupon IS NOT NULL ${ofShow}
    GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  const member = await sql<{ s: string }>`
    SELECT coalesce(sum(p.member_off), 0) AS s FROM order_prices p JOIN orders o ON o.order_id = p.order_id
    WHERE p.room_id = ${roomId}::bigint AND o.state = 'paid' ${ofShow}`.execute(db);
  return {
    coupons: coupons.rows.map((r) => ({ itemId: r.item_id, campaign: r.coupon, issued: Number(r.issued), used: Number(r.used), discountTotal: Number(r.discount) })),
    memberDiscountTotal: Number(member.rows[0]?.s ?? 0),
  };
}

/** The show-scope figures: coupons issued, used, their discount, and the member-day discount. */
export function promotionMetrics(p: PromotionFigures): MetricValue[] {
  const sum = (f: (c: CouponFigures) => number) => p.coupons.reduce((s, c) => s + f(c), 0);
  return [
    metric('coupons_issued', sum((c) => c.issued)),
    metric('coupons_used', sum((c) => c.used)),
    metric('coupon_discount', sum((c) => c.discountTotal)),
    metric('member_discount', p.memberDiscountTotal),
  ];
}

/** An item's coupon figures (all its campaigns): present only when the item has coupons. */
export function itemCouponMetrics(p: PromotionFigures, itemId: string): MetricValue[] {
  const list = p.coupons.filter((c) => c.itemId === itemId);
  if (!list.length) return [];
  const sum = (f: (c: CouponFigures) => number) => list.reduce((s, c) => s + f(c), 0);
  return [metric('coupons_issued', sum((c) => c.issued)), metric('coupons_used', sum((c) => c.used)), metric('coupon_discount', sum((c) => c.discountTotal))];
}
