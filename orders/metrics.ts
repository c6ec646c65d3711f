/**
 * The one dictionary of metrics. Every figure the API, the live push and the review
 * report return names its metric and the version of the definition it was computed with; this
 * is the only place names, units, definitions and versions live. A definition that changes
 * meaning gets a new version.
 *
 * Scopes: `show` (the whole show: everything that happened in the show's room), `product` (one
 * campaign item of the show), `minute` (one calendar minute of the show; the definition applies
 * to what happened in that minute), `referrer` (the orders of the show's room attributed to one
 * referrer: docs/referrals.md).
 */

export type Scope = 'show' | 'product' | 'minute' | 'referrer';

interface Definition {
  readonly unit: 'fen' | 'count' | 'seconds' | 'ratio';
  readonly version: number;
  readonly definition: string;
  readonly scopes: readonly Scope[];
}

export const metricDictionary = {
  ordered_gmv: {
    unit: 'fen',
    version: 1,
    definition: 'sum of amounts of orders placed (held) during the show; an unpaid order repriced by a group settlement counts at its new amount',
    scopes: ['show', 'product', 'minute'],
  },
  placed_orders: { unit: 'count', version: 1, definition: 'orders placed (held), whatever became of them', scopes: ['show', 'product', 'minute'] },
  paid_gmv: { unit: 'fen', version: 1, definition: 'sum of amounts of orders paid (counted in the minute of payment)', scopes: ['show', 'product', 'minute'] },
  refunded: {
    unit: 'fen',
    version: 1,
    definition: 'sum of refunds (tier settlements, failed groups, cancellations after payment), counted in the minute of the refund',
    scopes: ['show', 'product', 'minute'],
  },
  net_paid_gmv: { unit: 'fen', version: 1, definition: 'paid_gmv − refunded', scopes: ['show', 'product', 'minute'] },
  orders: { unit: 'count', version: 1, definition: 'paid orders (an order refunded later still counts; its money is in refunded)', scopes: ['show', 'product', 'minute'] },
  buyers: { unit: 'count', version: 1, definition: 'distinct paying users', scopes: ['show', 'product', 'minute'] },
  uv: { unit: 'count', version: 1, definition: 'distinct viewers (users who entered the room)', scopes: ['show', 'minute'] },
  pv: { unit: 'count', version: 1, definition: 'room entries (re-entries count)', scopes: ['show', 'minute'] },
  online: { unit: 'count', version: 1, definition: 'viewers connected now: the latest room.online sample (per minute: the last sample of the minute)', scopes: ['show', 'minute'] },
  peak_online: { unit: 'count', version: 1, definition: 'the highest online sample', scopes: ['show', 'minute'] },
  avg_watch_seconds: {
    unit: 'seconds',
    version: 1,
    definition: 'total watch time / uv (a visit counts when the viewer leaves); null while uv is 0',
    scopes: ['show'],
  },
  product_visitors: { unit: 'count', version: 1, definition: "distinct viewers who opened a product's detail", scopes: ['show', 'product', 'minute'] },
  click_conversion: {
    unit: 'ratio',
    version: 1,
    definition: 'product_visitors / uv (for a product: its visitors / the show uv); null while uv is 0',
    scopes: ['show', 'product'],
  },
  order_conversion: {
    unit: 'ratio',
    version: 1,
    definition: "buyers / product_visitors (for a product: its buyers / its visitors); null while product_visitors is 0",
    scopes: ['show', 'product'],
  },
  new_followers: { unit: 'count', version: 1, definition: 'viewers who followed the room during the show', scopes: ['show', 'minute'] },
  explain_gmv_on_air: {
    unit: 'fen',
    version: 1,
    definition: "explain-window GMV: ordered_gmv of a product's orders placed while it was on air",
    scopes: ['show', 'product'],
  },
  explain_gmv_after: {
    unit: 'fen',
    version: 1,
    definition: "explain-window GMV: ordered_gmv of a product's orders placed after its first on-air start while it was not on air",
    scopes: ['show', 'product'],
  },
  explain_gmv_before: {
    unit: 'fen',
    version: 1,
    definition: "ordered_gmv of a product's orders placed before it was first on air (or never on air); with the two above it adds up to ordered_gmv",
    scopes: ['show', 'product'],
  },
  referral_orders: {
    unit: 'count',
    version: 1,
    definition: "paid orders attributed to a referrer (the buyer's last share link opened before the hold, its window still open then) on an item with a commission rate",
    scopes: ['show', 'referrer'],
  },
  referral_paid_gmv: { unit: 'fen', version: 1, definition: 'sum of the amounts paid of the referral_orders: the commission base', scopes: ['show', 'referrer'] },
  commission_credited: { unit: 'fen', version: 1, definition: 'sum over referral_orders of floor(amount paid × rate / 10000), credited on payment', scopes: ['show', 'referrer'] },
  commission_reversed: {
    unit: 'fen',
    version: 1,
    definition: 'commission reversed by refunds: per order credited − floor((paid − refunded) × rate / 10000), all of it for a refunded order',
    scopes: ['show', 'referrer'],
  },
  commission_net: { unit: 'fen', version: 1, definition: 'commission_credited − commission_reversed: what the referrers earned', scopes: ['show', 'referrer'] },
  coupons_issued: {
    unit: 'count',
    version: 1,
    definition: 'holds that reserved a coupon (each reserves one), whatever became of them (orders/coupon-stats.ts)',
    scopes: ['show', 'product'],
  },
  coupons_used: { unit: 'count', version: 1, definition: 'coupons on orders paid and not refunded (a cancelled, expired or refunded order gave its coupon back)', scopes: ['show', 'product'] },
  coupon_discount: { unit: 'fen', version: 1, definition: 'sum of the coupon discounts of the orders counted in coupons_used', scopes: ['show', 'product'] },
  member_discount: { unit: 'fen', version: 1, definition: 'sum of the member-day discounts of orders paid and not refunded', scopes: ['show'] },
  teams_opened: { unit: 'count', version: 1, definition: 'team-buy teams opened (a shopper opened a team at the team price)', scopes: ['show'] },
  teams_formed: { unit: 'count', version: 1, definition: 'team-buy teams that formed: every seat paid within the team window', scopes: ['show'] },
  teams_failed: {
    unit: 'count',
    version: 1,
    definition: 'team-buy teams whose window ended before every seat was paid (holds cancelled, paid members refunded in full)',
    scopes: ['show'],
  },
  team_refunded: { unit: 'fen', version: 1, definition: 'sum of the refunds to paid members of failed teams (refund reason team_failed); part of refunded', scopes: ['show'] },
  bargains_started: { unit: 'count', version: 1, definition: 'bargains started by shoppers (one open bargain per shopper and item)', scopes: ['show'] },
  bargains_helped: { unit: 'count', version: 1, definition: 'helps given to bargains (each a distinct helper cutting the price once)', scopes: ['show'] },
  bargains_bought: {
    unit: 'count',
    version: 1,
    definition: "bargains whose starter bought: a hold at the bargain's price was taken (its payment counts in paid_gmv like any order)",
    scopes: ['show'],
  },
} as const satisfies Record<string, Definition>;

export type MetricName = keyof typeof metricDictionary;

export const metricNames = Object.keys(metricDictionary) as MetricName[];

export interface MetricValue {
  readonly metric: MetricName;
  /** null only for a ratio or average whose denominator is 0. */
  readonly value: number | null;
  readonly unit: string;
  readonly version: number;
  /** Ratios and averages: the exact parts (integers). */
  readonly numerator?: number;
  readonly denominator?: number;
}

export function metric(name: MetricName, value: number): MetricValue {
  const d = metricDictionary[name];
  return { metric: name, value, unit: d.unit, version: d.version };
}

/** A ratio metric with its exact parts; null when the denominator is 0. */
export function ratio(name: MetricName, numerator: number, denominator: number, scale = 1): MetricValue {
  const d = metricDictionary[name];
  return { metric: name, value: denominator === 0 ? null : numerator / scale / denominator, unit: d.unit, version: d.version, numerator, denominator };
}

/** The dictionary as the API publishes it (GET /metrics/dictionary). */
export function dictionaryEntries(): { metric: MetricName; unit: string; version: number; definition: string; scopes: readonly Scope[] }[] {
  return metricNames.map((metric) => ({ metric, ...metricDictionary[metric] }));
}
