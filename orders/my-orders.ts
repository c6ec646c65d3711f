import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { MyOrder, MyOrdersReply, OrderAdjustment, OrderStateName } from '../common/contracts/protocol.ts';
import { baseBreakdown, parseBreakdown, type PriceStep } from '../common/contracts/pricing.ts';

/**
 * A shopper's own orders, from the ledger: newest first (by hold time, then order id), in pages
 * with a keyset cursor, filtered by show (the item's show), room and state. Each order carries its
 * adjustments with their event times: refunds (a tier settlement's with the tier's price), a
 * reprice of an unpaid hold, the cancellation that took effect, the expiry.
 *
 * The ledger lags the inventory by the pipeline (outbox, relay, Kafka, writer). A hold made a
 * moment ago is not in it yet, so the caller may merge the user's live holds (`liveScope` names
 * the items worth asking the inventory about, `liveOrder` turns a hold into a listing entry).
 */

export const defaultPageSize = 20;

const dbId = /^\d{1,18}$/;
const epoch = sql`'epoch'::timestamptz`;
const ms = (col: string) => sql<string | null>`(extract(epoch from ${sql.ref(col)}) * 1000)::bigint`;
const tsOf = (msValue: number) => sql`${epoch} + ${msValue}::bigint * interval '1 millisecond'`;

export interface Cursor {
  at: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return `${c.at}:${c.id}`;
}

/** The position a cursor names (the schema already checked its form). */
export function decodeCursor(s: string): Cursor {
  const i = s.indexOf(':');
  return { at: Number(s.slice(0, i)), id: s.slice(i + 1) };
}

export interface MyOrdersFilter {
  showId?: string | undefined;
  roomId?: string | undefined;
  state?: OrderStateName | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

interface Row {
  order_id: string;
  item_id: string;
  room_id: string;
  kind: 'flash' | 'group';
  qty: number;
  unit_price: string;
  amount: string;
  state: OrderStateName;
  held_at: string;
  deadline_at: string | null;
  paid_at: string | null;
  paid_ver: string | null;
  paid_amount: string | null;
  refunded_amount: string;
  breakdown: string | null;
  cancelled_at: string | null;
  cancel_ver: string | null;
  cancel_reason: 'user' | 'host' | 'group_failed' | null;
  expired_at: string | null;
  expire_ver: string | null;
  title: string;
  show_id: string | null;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** The user's orders, one page. */
export async function listMyOrders(db: Kysely<Database>, userId: string, f: MyOrdersFilter): Promise<MyOrdersReply> {
  const asOf = Date.now();
  const limit = f.limit ?? defaultPageSize;
  // Ledger ids are numeric: any other room id has no orders.
  if (f.roomId !== undefined && !dbId.test(f.roomId)) return { orders: [], nextCursor: null, asOf };
  const where: RawBuilder<unknown>[] = [sql`o.user_id = ${userId}`];
  if (f.roomId !== undefined) where.push(sql`o.room_id = ${f.roomId}::bigint`);
  if (f.showId !== undefined) where.push(sql`ci.show_id = ${f.showId}::bigint`);
  if (f.state !== undefined) where.push(sql`o.state = ${f.state}`);
  if (f.cursor !== undefined) {
    const c = decodeCursor(f.cursor);
    where.push(sql`(o.held_at, o.order_id) < (${tsOf(c.at)}, ${c.id})`);
  }
  const rows = await sql<Row>`
    SELECT o.order_id, o.item_id::text AS item_id, o.room_id::text AS room_id, o.kind, o.qty, o.unit_price, o.amount, o.state,
      ${ms('o.held_at')} AS held_at, ${ms('o.deadline_at')} AS deadline_at, ${ms('o.paid_at')} AS paid_at, o.paid_ver, o.paid_amount,
      o.refunded_amount, ${ms('o.cancelled_at')} AS cancelled_at, o.cancel_ver, o.cancel_reason, ${ms('o.expired_at')} AS expired_at, o.expire_ver,
      ci.title, ci.show_id::text AS show_id, op.breakdown
    FROM orders o JOIN campaign_items ci ON ci.id = o.item_id LEFT JOIN order_prices op ON op.order_id = o.order_id
    WHERE ${sql.join(where, sql` AND `)}
    ORDER BY o.held_at DESC, o.order_id DESC
    LIMIT ${limit + 1}`.execute(db);
  const page = rows.rows.slice(0, limit);
  const more = rows.rows.length > limit;
  const adjustments = await adjustmentsOf(db, page);
  const orders = page.map((r) => toOrder(r, adjustments.get(r.order_id) ?? []));
  const last = page[page.length - 1];
  return { orders, nextCursor: more && last ? encodeCursor({ at: Number(last.held_at), id: last.order_id }) : null, asOf };
}

function toOrder(r: Row, extra: OrderAdjustment[]): MyOrder {
  const paidAmount = Number(r.paid_amount ?? 0);
  const refundedAmount = Number(r.refunded_amount);
  const adjustments = [...extra];
  const paidVer = num(r.paid_ver);
  const cancelVer = num(r.cancel_ver);
  const expireVer = num(r.expire_ver);
  // Only what took effect (the same rule as the order fold): a late payment wins over an earlier
  // cancellation or expiry; a cancellation after the payment refunds it; else the first ends a hold.
  const cancelled = cancelVer !== null && (paidVer === null ? expireVer === null || cancelVer < expireVer : cancelVer > paidVer);
  if (cancelled && r.cancelled_at !== null) adjustments.push({ kind: 'cancelled', at: Number(r.cancelled_at), reason: r.cancel_reason ?? 'user' });
  if (!cancelled && paidVer === null && expireVer !== null && r.expired_at !== null) adjustments.push({ kind: 'expired', at: Number(r.expired_at) });
  adjustments.sort((a, b) => a.at - b.at);
  return {
    orderId: r.order_id,
    item: { id: r.item_id, title: r.title, kind: r.kind },
    roomId: r.room_id,
    showId: r.show_id,
    state: r.state,
    qty: r.qty,
    unitPrice: Number(r.unit_price),
    amount: Number(r.amount),
    breakdown: breakdownOf(r),
    paidAmount,
    refundedAmount,
    net: paidAmount - refundedAmount,
    deadline: num(r.deadline_at),
    heldAt: Number(r.held_at),
    paidAt: num(r.paid_at),
    adjustments,
    source: 'ledger',
  };
}

/** Refunds and reprices of the page's orders; a tier settlement's refund with the group's final price. */
async function adjustmentsOf(db: Kysely<Database>, page: readonly Row[]): Promise<Map<string, OrderAdjustment[]>> {
  const out = new Map<string, OrderAdjustment[]>();
  if (page.length === 0) return out;
  const ids = page.map((r) => r.order_id);
  const groupItems = [...new Set(page.filter((r) => r.kind === 'group').map((r) => r.item_id))];
  const [refunds, reprices, closes] = await Promise.all([
    sql<{ order_id: string; amount: string; reason: 'tier_settlement' | 'group_failed' | 'cancelled_after_payment'; at: string; item_id: string }>`
      SELECT order_id, amount, reason, ${ms('refunded_at')} AS at, item_id::text AS item_id FROM refunds WHERE order_id IN (${sql.join(ids)}) ORDER BY refunded_at, event_id`.execute(db),
    sql<{ order_id: string; payload: { price: number; amount: number; at: number } }>`
      SELECT order_id, payload FROM order_events WHERE order_id IN (${sql.join(ids)}) AND type = 'order.repriced' ORDER BY ver`.execute(db),
    groupItems.length
      ? sql<{ item_id: string; final_price: string }>`
          SELECT DISTINCT ON (item_id) item_id::text AS item_id, payload->>'finalPrice' AS final_price FROM order_events
          WHERE item_id IN (${sql.join(groupItems.map((i) => sql`${i}::bigint`))}) AND type = 'group.closed' ORDER BY item_id, ver`.execute(db)
      : Promise.resolve({ rows: [] as { item_id: string; final_price: string }[] }),
  ]);
  const finalPrice = new Map(closes.rows.map((r) => [r.item_id, Number(r.final_price)]));
  const add = (id: string, a: OrderAdjustment) => {
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    list.push(a);
  };
  for (const r of refunds.rows) {
    const tierPrice = r.reason === 'tier_settlement' ? finalPrice.get(r.item_id) : undefined;
    add(r.order_id, { kind: 'refund', at: Number(r.at), amount: Number(r.amount), reason: r.reason, ...(tierPrice === undefined ? {} : { tierPrice }) });
  }
  for (const r of reprices.rows) add(r.order_id, { kind: 'repriced', at: r.payload.at, price: r.payload.price, amount: r.payload.amount });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Holds the ledger has not recorded yet

/** An item worth asking the inventory about: in the listing's scope, with the user's quantity the ledger counts. */
export interface ScopeItem {
  itemId: string;
  roomId: string;
  showId: string | null;
  title: string;
  kind: 'flash' | 'group';
  /** Units of the user's held and paid orders of the item in the ledger. */
  ledgerQty: number;
}

/** How many items an unscoped listing asks the inventory about (those whose sale is open now). */
export const maxLiveItems = 200;

/**
 * The items a fresh hold of the listing can be on: the room's or the show's items; without
 * either, the items of the live shows and those whose sale window is open around now (a hold is
 * only made while it is), the newest `maxLiveItems`.
 */
export async function liveScope(db: Kysely<Database>, userId: string, f: Pick<MyOrdersFilter, 'roomId' | 'showId'>): Promise<ScopeItem[]> {
  if (f.roomId !== undefined && !dbId.test(f.roomId)) return [];
  const where: RawBuilder<unknown>[] = [];
  if (f.roomId !== undefined) where.push(sql`ci.room_id = ${f.roomId}::bigint`);
  if (f.showId !== undefined) where.push(sql`ci.show_id = ${f.showId}::bigint`);
  // Unscoped: the items of the live shows (their sale windows may have been moved by the host),
  // and the items whose catalog sale window is open around now.
  if (!where.length) {
    where.push(sql`(ci.show_id IN (SELECT s.id FROM shows s WHERE s.state = 'live')
      OR (ci.ends_at >= now() - interval '1 minute' AND ci.starts_at <= now() + interval '1 minute'))`);
  }
  const rows = await sql<{ item_id: string; room_id: string; show_id: string | null; title: string; kind: 'flash' | 'group'; ledger_qty: string }>`
    SELECT ci.id::text AS item_id, ci.room_id::text AS room_id, ci.show_id::text AS show_id, ci.title, ci.kind,
      coalesce((SELECT sum(o.qty) FROM orders o WHERE o.user_id = ${userId} AND o.item_id = ci.id AND o.state IN ('held', 'paid')), 0) AS ledger_qty
    FROM campaign_items ci WHERE ${sql.join(where, sql` AND `)}
    ORDER BY ci.id DESC LIMIT ${maxLiveItems}`.execute(db);
  return rows.rows.map((r) => ({ itemId: r.item_id, roomId: r.room_id, showId: r.show_id, title: r.title, kind: r.kind, ledgerQty: Number(r.ledger_qty) }));
}

/** The ids among `orderIds` the ledger has an order for. */
export async function knownOrders(db: Kysely<Database>, orderIds: readonly string[]): Promise<Set<string>> {
  if (!orderIds.length) return new Set();
  const rows = await db.selectFrom('orders').select('order_id').where('order_id', 'in', [...orderIds]).execute();
  return new Set(rows.map((r) => r.order_id));
}

/**
 * The order's price steps: the hold's, as the writer recorded them; none recorded: the base alone,
 * unless the row came from a payment whose hold has not reached the ledger yet and was charged
 * less than the base (its steps come with the hold): then one step of what was charged.
 */
function breakdownOf(r: Row): PriceStep[] {
  const unit = Number(r.unit_price);
  if (r.breakdown) return parseBreakdown(r.breakdown, unit, r.qty);
  const amount = Number(r.amount);
  if (amount !== unit * r.qty) return [{ step: 'base', rule: `charged ${amount} (the hold's steps not recorded yet)`, amount }];
  return baseBreakdown(unit, r.qty);
}

/** A hold as the inventory holds it now. */
export interface LiveHold {
  orderId: string;
  /** The price steps (pricing.ts); absent: the base alone. */
  breakdown?: readonly PriceStep[];
  state: OrderStateName;
  qty: number;
  unitPrice: number;
  deadline: number;
  /** When it was made (its deadline less the item's hold time). */
  heldAt: number;
}

/** A listing entry for a hold the ledger has not recorded yet (no adjustments: none reached the ledger either). */
export function liveOrder(item: ScopeItem, h: LiveHold): MyOrder {
  const breakdown = [...(h.breakdown ?? baseBreakdown(h.unitPrice, h.qty))];
  const amount = breakdown.reduce((s, x) => s + x.amount, 0);
  return {
    orderId: h.orderId,
    item: { id: item.itemId, title: item.title, kind: item.kind },
    roomId: item.roomId,
    showId: item.showId,
    state: h.state,
    qty: h.qty,
    unitPrice: h.unitPrice,
    amount,
    breakdown,
    paidAmount: h.state === 'paid' ? amount : 0,
    refundedAmount: 0,
    net: h.state === 'paid' ? amount : 0,
    deadline: h.deadline,
    heldAt: h.heldAt,
    paidAt: null,
    adjustments: [],
    source: 'live',
  };
}
