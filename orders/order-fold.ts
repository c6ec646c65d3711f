import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { OrderState } from '../common/contracts/ledger-schema.ts';

/**
 * The order state machine as a fold over facts. Each event of an order establishes facts (it was
 * held at t, paid at t with amount a, cancelled at t, ...); the row holds the facts and its state
 * is derived from them. Applying an event is commutative and idempotent per event id, so the
 * same set of events gives the same row whatever order they arrive in, which is what the writer
 * needs: the pay path produces `order.paid` to Kafka directly and the relay carries the hold
 * later; a re-claimed outbox entry arrives after newer ones; anything may arrive twice.
 *
 *   held ──> paid ──> refunded      (a full refund, or a cancellation after payment)
 *     ├────> cancelled
 *     └────> expired
 */

/** Events that belong to one order. */
export type OrderEvent = Extract<InventoryEvent, { order: string }>;

export function isOrderEvent(e: InventoryEvent): e is OrderEvent {
  return 'order' in e;
}

/** One row of the `orders` table, in TypeScript terms (ms timestamps, numbers in fen). */
export interface OrderRow {
  orderId: string;
  itemId: string;
  roomId: string;
  userId: string;
  kind: 'flash' | 'group';
  qty: number;
  unitPrice: number;
  amount: number;
  state: OrderState;
  /** When the hold was made; the payment's time while the hold has not arrived. */
  heldAt: number;
  heldVer: number | null;
  deadlineAt: number | null;
  idem: string | null;
  /** Version of the event that set unitPrice and amount (null: provisional, from the payment). */
  priceVer: number | null;
  paidAt: number | null;
  paidVer: number | null;
  paidAmount: number | null;
  refundedAmount: number;
  cancelledAt: number | null;
  cancelVer: number | null;
  cancelReason: string | null;
  expiredAt: number | null;
  expireVer: number | null;
  remindedAt: number | null;
}

/** A copy with the same shape (an explicit literal: object spread of this many fields is slow in V8). */
function clone(r: OrderRow): OrderRow {
  return {
    orderId: r.orderId,
    itemId: r.itemId,
    roomId: r.roomId,
    userId: r.userId,
    kind: r.kind,
    qty: r.qty,
    unitPrice: r.unitPrice,
    amount: r.amount,
    state: r.state,
    heldAt: r.heldAt,
    heldVer: r.heldVer,
    deadlineAt: r.deadlineAt,
    idem: r.idem,
    priceVer: r.priceVer,
    paidAt: r.paidAt,
    paidVer: r.paidVer,
    paidAmount: r.paidAmount,
    refundedAmount: r.refundedAmount,
    cancelledAt: r.cancelledAt,
    cancelVer: r.cancelVer,
    cancelReason: r.cancelReason,
    expiredAt: r.expiredAt,
    expireVer: r.expireVer,
    remindedAt: r.remindedAt,
  };
}

/** Only these two events carry enough to make a row (user, quantity, amount). */
function create(e: OrderEvent): OrderRow | undefined {
  if (e.type !== 'order.held' && e.type !== 'order.paid') return undefined;
  const r: OrderRow = {
    orderId: e.order,
    itemId: e.item,
    roomId: e.room,
    userId: e.user,
    kind: 'flash',
    qty: e.qty,
    unitPrice: 0,
    amount: 0,
    state: 'held',
    heldAt: e.at,
    heldVer: null,
    deadlineAt: null,
    idem: null,
    priceVer: null,
    paidAt: null,
    paidVer: null,
    paidAmount: null,
    refundedAmount: 0,
    cancelledAt: null,
    cancelVer: null,
    cancelReason: null,
    expiredAt: null,
    expireVer: null,
    remindedAt: null,
  };
  if (e.type === 'order.held') {
    r.kind = e.kind;
    r.unitPrice = e.price;
    r.amount = e.amount;
    r.heldVer = e.ver;
    r.deadlineAt = e.deadline;
    r.idem = e.idem ?? null;
    r.priceVer = e.ver;
  } else {
    // Newer pay events carry the unit price and kind, so a payment ahead of its hold is complete.
    const extra = e as { price?: number; kind?: 'flash' | 'group' };
    r.kind = extra.kind ?? 'flash';
    r.unitPrice = extra.price ?? Math.floor(e.amount / e.qty);
    r.amount = e.amount;
    r.paidAt = e.at;
    r.paidVer = e.ver;
    r.paidAmount = e.amount;
  }
  r.state = deriveState(r);
  return r;
}

/**
 * Applies one event (never seen before by this row) to the row. Returns undefined when there is
 * no row yet and the event cannot make one (it waits in order_events for its hold or payment).
 */
export function applyEvent(row: OrderRow | undefined, e: OrderEvent): OrderRow | undefined {
  if (!row) return create(e);
  const r = clone(row);
  switch (e.type) {
    case 'order.held':
      if (r.heldVer === null) {
        r.heldAt = e.at;
        r.heldVer = e.ver;
        r.deadlineAt = e.deadline;
        r.idem = e.idem ?? r.idem;
        r.kind = e.kind;
        r.qty = e.qty;
        if (r.priceVer === null) {
          r.unitPrice = e.price;
          r.amount = e.amount;
          r.priceVer = e.ver;
        }
      }
      break;
    case 'order.paid':
      if (r.paidVer === null) {
        r.paidAt = e.at;
        r.paidVer = e.ver;
        r.paidAmount = e.amount;
      }
      break;
    case 'order.repriced':
      if (r.priceVer === null || e.ver > r.priceVer) {
        r.unitPrice = e.price;
        r.amount = e.amount;
        r.priceVer = e.ver;
      }
      break;
    case 'order.cancelled':
      if (r.cancelVer === null || e.ver < r.cancelVer) {
        r.cancelledAt = e.at;
        r.cancelVer = e.ver;
        r.cancelReason = e.reason;
      }
      break;
    case 'order.expired':
      if (r.expireVer === null || e.ver < r.expireVer) {
        r.expiredAt = e.at;
        r.expireVer = e.ver;
      }
      break;
    case 'order.reminder':
      r.remindedAt = r.remindedAt === null ? e.at : Math.max(r.remindedAt, e.at);
      break;
    case 'refund.issued':
      r.refundedAmount += e.amount;
      break;
  }
  r.state = deriveState(r);
  return r;
}

/**
 * The state the facts imply. A payment wins over an earlier cancellation or expiry (a late
 * payment re-reserved the stock); a cancellation after the payment, or refunds adding up to the
 * amount paid, make the order refunded; otherwise the first of cancellation and expiry ends a hold.
 */
export function deriveState(r: OrderRow): OrderState {
  if (r.paidVer !== null) {
    if (r.cancelVer !== null && r.cancelVer > r.paidVer) return 'refunded';
    if (r.paidAmount !== null && r.paidAmount > 0 && r.refundedAmount >= r.paidAmount) return 'refunded';
    return 'paid';
  }
  if (r.cancelVer !== null && (r.expireVer === null || r.cancelVer < r.expireVer)) return 'cancelled';
  if (r.expireVer !== null) return 'expired';
  return 'held';
}

const createRank: Record<string, number> = { 'order.held': 0, 'order.paid': 1 };

/** The row a set of distinct events gives (undefined if none of them can make a row). */
export function foldOrder(events: readonly OrderEvent[]): OrderRow | undefined {
  const sorted = [...events].sort((a, b) => (createRank[a.type] ?? 2) - (createRank[b.type] ?? 2) || a.ver - b.ver || (a.id < b.id ? -1 : 1));
  let row: OrderRow | undefined;
  for (const e of sorted) row = applyEvent(row, e) ?? row;
  return row;
}

/** Per-minute order figures of one (room, item, minute) bucket. */
export interface Bucket {
  roomId: string;
  itemId: string;
  /** Start of the minute, ms. */
  minute: number;
  placedOrders: number;
  orderedGmv: number;
  paidOrders: number;
  paidGmv: number;
  refunds: number;
  refunded: number;
}

export function minuteOf(ms: number): number {
  return ms - (((ms % 60_000) + 60_000) % 60_000);
}

/**
 * What an order row adds to the per-minute figures: a placed order (with its amount as it stands)
 * in the minute it was held, and a paid order (with the amount paid) in the minute it was paid.
 * Refunds are counted from the refunds table, not from here.
 */
export function contributions(r: OrderRow): Bucket[] {
  const out: Bucket[] = [{ roomId: r.roomId, itemId: r.itemId, minute: minuteOf(r.heldAt), placedOrders: 1, orderedGmv: r.amount, paidOrders: 0, paidGmv: 0, refunds: 0, refunded: 0 }];
  if (r.paidAt !== null) {
    out.push({ roomId: r.roomId, itemId: r.itemId, minute: minuteOf(r.paidAt), placedOrders: 0, orderedGmv: 0, paidOrders: 1, paidGmv: r.paidAmount ?? 0, refunds: 0, refunded: 0 });
  }
  return out;
}

/** Adds `sign` × buckets into the map keyed by room, item and minute. */
export function addBuckets(into: Map<string, Bucket>, buckets: readonly Bucket[], sign: 1 | -1): void {
  for (const b of buckets) {
    const key = `${b.roomId}|${b.itemId}|${b.minute}`;
    let cur = into.get(key);
    if (!cur) {
      cur = { roomId: b.roomId, itemId: b.itemId, minute: b.minute, placedOrders: 0, orderedGmv: 0, paidOrders: 0, paidGmv: 0, refunds: 0, refunded: 0 };
      into.set(key, cur);
    }
    cur.placedOrders += sign * b.placedOrders;
    cur.orderedGmv += sign * b.orderedGmv;
    cur.paidOrders += sign * b.paidOrders;
    cur.paidGmv += sign * b.paidGmv;
    cur.refunds += sign * b.refunds;
    cur.refunded += sign * b.refunded;
  }
}

export function isZero(b: Bucket): boolean {
  return !b.placedOrders && !b.orderedGmv && !b.paidOrders && !b.paidGmv && !b.refunds && !b.refunded;
}
