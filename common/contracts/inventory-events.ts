import { z } from 'zod';

/**
 * The events the inventory scripts append to outbox streams, as the relay carries them to the
 * Kafka orders topic (keyed by item id) and the Postgres writer reads them. The scripts write
 * JSON with these fields (cjson); this file is the contract between them.
 *
 * Every event has:
 *   id    a deterministic event id, unique forever (the writer's ON CONFLICT key),
 *         e.g. "<orderId>:held", "<orderId>:paid", "<itemId>:adj:<ver>"
 *   type  one of the literals below
 *   item, room   ids
 *   at    Redis-clock milliseconds of the change
 *   ver   the item's inventory version after the change (orders events for one item are
 *         totally ordered by ver; the writer uses it to apply out-of-order deliveries correctly)
 * Amounts are integer fen.
 */

const id = z.string().min(1).max(64);
const fen = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ms = z.number().int().min(0);
const user = z.string().min(1).max(128);

const base = {
  id: z.string().min(1).max(200),
  item: id,
  room: id,
  at: ms,
  ver: z.number().int().min(0),
};

/**
 * An item's inventory was created, with the settings it started from (its first version). A
 * rebuild after Redis lost its data starts from these settings and replays the rest.
 */
export const itemCreated = z.object({
  ...base,
  type: z.literal('item.created'),
  kind: z.enum(['flash', 'group']),
  total: z.number().int().min(0),
  /** Unit price (group buys: the base price). */
  price: fen,
  limit: z.number().int().min(1),
  startsAt: ms,
  endsAt: ms,
  holdMs: z.number().int().min(1),
  remindMs: z.number().int().min(0),
  tiers: z.array(z.object({ threshold: z.number().int().min(1), price: fen })).optional(),
  countBy: z.enum(['people', 'units']).optional(),
  belowFirstTier: z.enum(['fail', 'base']).optional(),
});

/** A reservation (flash-sale hold or group-buy join): stock moved from available to held. */
export const orderHeld = z.object({
  ...base,
  type: z.literal('order.held'),
  order: id,
  user,
  qty: z.number().int().min(1),
  /** Unit price at the moment of the hold (for a group: the tier reached when joining). */
  price: fen,
  amount: fen,
  /** Payment deadline. */
  deadline: ms,
  kind: z.enum(['flash', 'group']).default('flash'),
  /** The request's idempotency key, so a rebuild can restore the idempotency record. */
  idem: z.string().max(128).optional(),
  /** qty × price − amount: the member-day and coupon discounts (absent: none). */
  discount: fen.optional(),
  /** The price steps as the reserve script records them (common/contracts/pricing.ts parseBreakdown). */
  breakdown: z.string().max(400).optional(),
  /** The team of a team buy this hold is a seat of (held at the team price). */
  team: id.optional(),
  /** The bargain this hold bought (held at the bargain's price). */
  bargain: id.optional(),
});

/** A hold became sold. `amount` is what was charged. */
export const orderPaid = z.object({
  ...base,
  type: z.literal('order.paid'),
  order: id,
  user,
  qty: z.number().int().min(1),
  amount: fen,
  /** The hold's version the payment was made against. */
  hv: z.number().int().min(1).optional(),
  /** Unit price charged (amount / qty), so a payment that arrives before its hold is complete. */
  price: fen.optional(),
  kind: z.enum(['flash', 'group']).optional(),
});

/** A hold (or a paid order) was cancelled; its stock returned to available. */
export const orderCancelled = z.object({
  ...base,
  type: z.literal('order.cancelled'),
  order: id,
  user,
  qty: z.number().int().min(1),
  reason: z.enum(['user', 'host', 'group_failed', 'team_failed']),
});

/** A hold passed its deadline unpaid; its stock returned to available (exactly once). */
export const orderExpired = z.object({
  ...base,
  type: z.literal('order.expired'),
  order: id,
  user,
  qty: z.number().int().min(1),
});

/** 催单: a payment reminder for a hold near its deadline. Changes no stock. */
export const orderReminder = z.object({
  ...base,
  type: z.literal('order.reminder'),
  order: id,
  user,
  deadline: ms,
});

/** The unit price of an unpaid order changed (a group buy settled at its final tier). */
export const orderRepriced = z.object({
  ...base,
  type: z.literal('order.repriced'),
  order: id,
  user,
  price: fen,
  amount: fen,
});

/** The host added (delta > 0) or removed (delta < 0) stock. */
export const stockAdjusted = z.object({
  ...base,
  type: z.literal('stock.adjusted'),
  delta: z.number().int(),
  total: z.number().int().min(0),
  available: z.number().int().min(0),
  by: z.string().min(1).max(128),
});

/** The unit price changed (now, or at a scheduled time that has come). */
export const priceChanged = z.object({
  ...base,
  type: z.literal('price.changed'),
  price: fen,
  previous: fen,
  effectiveAt: ms,
  by: z.string().min(1).max(128),
});

/** A price change was scheduled; `price.changed` follows when `effectiveAt` comes (Redis clock). */
export const priceScheduled = z.object({
  ...base,
  type: z.literal('price.scheduled'),
  price: fen,
  effectiveAt: ms,
  by: z.string().min(1).max(128),
});

/** A shopper asked to be reminded when a pre-heated sale opens. Changes no stock. */
export const saleSubscribed = z.object({
  ...base,
  type: z.literal('sale.subscribed'),
  user,
});

/** The reminder for one subscriber: the sale opens at `startsAt` (or has opened). Changes no stock. */
export const saleReminder = z.object({
  ...base,
  type: z.literal('sale.reminder'),
  user,
  startsAt: ms,
});

/** The sale window changed (the host opened or closed a sale early, or rescheduled it). */
export const saleChanged = z.object({
  ...base,
  type: z.literal('sale.changed'),
  startsAt: ms,
  endsAt: ms,
  by: z.string().min(1).max(128),
});

/** A tiered group buy passed a threshold. */
export const groupTierReached = z.object({
  ...base,
  type: z.literal('group.tier_reached'),
  tier: z.number().int().min(0),
  threshold: z.number().int().min(1),
  price: fen,
  count: z.number().int().min(0),
});

/** A tiered group buy closed with its final count and price. */
export const groupClosed = z.object({
  ...base,
  type: z.literal('group.closed'),
  count: z.number().int().min(0),
  finalPrice: fen,
  outcome: z.enum(['succeeded', 'failed', 'base_price']),
});

/** Money returned to a buyer (group settlement, a failed group, a cancellation after payment). */
export const refundIssued = z.object({
  ...base,
  type: z.literal('refund.issued'),
  order: id,
  user,
  amount: fen,
  reason: z.enum(['tier_settlement', 'group_failed', 'cancelled_after_payment', 'team_failed']),
});

/** A shopper opened a team of a team buy (拼团); their own hold follows (order.held with `team`). */
export const teamOpened = z.object({
  ...base,
  type: z.literal('team.opened'),
  team: id,
  leader: user,
  size: z.number().int().min(2),
  /** The team's unit price (fen). */
  price: fen,
  /** The end of the team's window (Redis clock). */
  endsAt: ms,
  /** The team settings it opened under (with size and price): a rebuild's fallback for a lost team.configured. */
  windowMs: z.number().int().min(1).optional(),
  teamsPerUser: z.number().int().min(1).optional(),
});

/** A team formed: `size` members paid within its window. */
export const teamFormed = z.object({
  ...base,
  type: z.literal('team.formed'),
  team: id,
  size: z.number().int().min(2),
  paid: z.number().int().min(0),
});

/** A team's window ended before it formed: its holds were cancelled and its paid members refunded in full. */
export const teamFailed = z.object({
  ...base,
  type: z.literal('team.failed'),
  team: id,
  size: z.number().int().min(2),
  paid: z.number().int().min(0),
  refunds: z.number().int().min(0),
  /** The sum of the refunds (fen). */
  refunded: fen,
});

/**
 * An item was offered as a team buy, or its team settings changed (inventory/lua/team-setup-3.lua):
 * what new teams get. A rebuild after a Redis loss restores the latest.
 */
export const teamConfigured = z.object({
  ...base,
  type: z.literal('team.configured'),
  size: z.number().int().min(2),
  /** The unit price of a seat (fen). */
  price: fen,
  windowMs: z.number().int().min(1),
  teamsPerUser: z.number().int().min(1),
});

/**
 * An item was offered for bargains, or its bargain settings changed
 * (inventory/lua/bargain-setup-3.lua): what new bargains get. A rebuild restores the latest.
 */
export const bargainConfigured = z.object({
  ...base,
  type: z.literal('bargain.configured'),
  start: fen,
  floor: fen,
  helpers: z.number().int().min(1),
  windowMs: z.number().int().min(1),
  newUsersOnly: z.boolean(),
});

/** A shopper started a bargain (砍价) at the start price; helpers cut it down to the floor. */
export const bargainStarted = z.object({
  ...base,
  type: z.literal('bargain.started'),
  bargain: id,
  user,
  start: fen,
  floor: fen,
  helpers: z.number().int().min(1),
  endsAt: ms,
  /** The seed of the bargain's cuts (inventory/bargain.ts bargainCuts). */
  seed: z.number().int().min(1),
  /** The bargain settings it started under (with its terms): a rebuild's fallback for a lost bargain.configured. */
  windowMs: z.number().int().min(1).optional(),
  newUsersOnly: z.boolean().optional(),
});

/** A helper cut a bargain's price. */
export const bargainHelped = z.object({
  ...base,
  type: z.literal('bargain.helped'),
  bargain: id,
  user,
  cut: fen,
  /** The price after the cut. */
  price: fen,
  helped: z.number().int().min(1),
});

/**
 * A flash-sale item's member-day rule was set, or a coupon campaign added to it
 * (inventory/lua/set-promotion-3.lua): `config` is the text the holds hash keeps
 * (inventory/lua/includes/coupon.lua), so a rebuild restores it as it was.
 */
export const promotionSet = z.object({
  ...base,
  type: z.literal('promotion.set'),
  what: z.enum(['md', 'campaign']),
  campaign: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  config: z.string().max(200),
});

export const inventoryEvent = z.discriminatedUnion('type', [
  promotionSet,
  orderHeld,
  orderPaid,
  orderCancelled,
  orderExpired,
  orderReminder,
  orderRepriced,
  stockAdjusted,
  priceChanged,
  saleChanged,
  groupTierReached,
  groupClosed,
  refundIssued,
  priceScheduled,
  saleSubscribed,
  saleReminder,
  itemCreated,
  teamOpened,
  teamFormed,
  teamFailed,
  bargainStarted,
  bargainHelped,
  teamConfigured,
  bargainConfigured,
]);

export type OrderHeld = z.infer<typeof orderHeld>;
export type OrderPaid = z.infer<typeof orderPaid>;
export type InventoryEvent = z.infer<typeof inventoryEvent>;
export type InventoryEventType = InventoryEvent['type'];

/**
 * The valid inventory events among raw payloads (JSON text or parsed objects), in order; a
 * payload that is not JSON or not an event is skipped (the writer dead-letters those).
 */
export function parseInventoryEvents(raw: readonly unknown[]): InventoryEvent[] {
  const out: InventoryEvent[] = [];
  for (const r of raw) {
    try {
      const p = inventoryEvent.safeParse(typeof r === 'string' ? JSON.parse(r) : r);
      if (p.success) out.push(p.data);
    } catch {
      /* not JSON */
    }
  }
  return out;
}
