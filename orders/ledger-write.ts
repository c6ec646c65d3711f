import { sql, type Transaction } from 'kysely';
import { inventoryEvent, type InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { BatchResult, Parsed } from './batch-consumer.ts';
import { writeOrderPrices } from './price-write.ts';
import type { Database, OrderState } from '../common/contracts/ledger-schema.ts';
import { addBuckets, applyEvent, contributions, foldOrder, isOrderEvent, isZero, minuteOf, type Bucket, type OrderEvent, type OrderRow } from './order-fold.ts';

const dbId = /^\d{1,18}$/;

/** Parses one Kafka message of the orders topic; anything the ledger cannot take is poison. */
export function parseInventoryEvent(raw: string): Parsed<InventoryEvent> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
  const r = inventoryEvent.safeParse(json);
  if (!r.success) return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const e = r.data;
  if (!dbId.test(e.item) || !dbId.test(e.room)) return { ok: false, error: `item and room must be numeric ids (got item ${JSON.stringify(e.item)}, room ${JSON.stringify(e.room)})` };
  if (e.ver > Number.MAX_SAFE_INTEGER) return { ok: false, error: 'ver out of range' };
  return { ok: true, event: e, raw };
}

/** Epoch ms travel as integers; `epoch + ms × 1 ms` turns them into timestamptz exactly (no float rounding). */
const epoch = sql`'epoch'::timestamptz`;
const msOf = (col: string) => sql`(extract(epoch from ${sql.ref(col)}) * 1000)::bigint`;

/** A row of the orders table as the first statement returns it (epoch ms, numbers). */
interface LockedRow {
  order_id: string;
  item_id: string;
  room_id: string;
  user_id: string;
  kind: 'flash' | 'group';
  qty: number;
  unit_price: number;
  amount: number;
  state: OrderState;
  held_at: number;
  held_ver: number | null;
  deadline_at: number | null;
  idem: string | null;
  price_ver: number | null;
  paid_at: number | null;
  paid_ver: number | null;
  paid_amount: number | null;
  refunded_amount: number;
  cancelled_at: number | null;
  cancel_ver: number | null;
  cancel_reason: string | null;
  expired_at: number | null;
  expire_ver: number | null;
  reminded_at: number | null;
}

function fromLocked(r: LockedRow): OrderRow {
  return {
    orderId: r.order_id,
    itemId: String(r.item_id),
    roomId: String(r.room_id),
    userId: r.user_id,
    kind: r.kind,
    qty: r.qty,
    unitPrice: r.unit_price,
    amount: r.amount,
    state: r.state,
    heldAt: r.held_at,
    heldVer: r.held_ver,
    deadlineAt: r.deadline_at,
    idem: r.idem,
    priceVer: r.price_ver,
    paidAt: r.paid_at,
    paidVer: r.paid_ver,
    paidAmount: r.paid_amount,
    refundedAmount: r.refunded_amount,
    cancelledAt: r.cancelled_at,
    cancelVer: r.cancel_ver,
    cancelReason: r.cancel_reason,
    expiredAt: r.expired_at,
    expireVer: r.expire_ver,
    remindedAt: r.reminded_at,
  };
}

/** Canonical order to apply one order's new events in: creators first, then by item version. */
function canonical(a: OrderEvent, b: OrderEvent): number {
  const rank = (e: OrderEvent) => (e.type === 'order.held' ? 0 : e.type === 'order.paid' ? 1 : 2);
  return rank(a) - rank(b) || a.ver - b.ver || (a.id < b.id ? -1 : 1);
}

function cmp(a: string, b: string): number {
  // Ids are numeric strings: shorter is smaller, then lexical.
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Writes a batch of inventory events in the caller's transaction, in two statements:
 *
 * 1. insert the events (ON CONFLICT on event id: only new ones come back), lock the orders they
 *    touch (in id order) and return them, with the earlier events of touched orders that have
 *    no row yet (they waited for their hold or payment);
 * 2. after folding each touched order's new events into its row here: upsert those rows,
 *    insert refunds, add each order's change to the per-minute figures, and record new buyers.
 *
 * Two round trips per batch whatever its size keeps the hold-to-ledger latency low.
 */
export async function writeInventoryBatch(trx: Transaction<Database>, batch: readonly { event: InventoryEvent; raw: string }[]): Promise<BatchResult & { freshEvents: InventoryEvent[] }> {
  const byId = new Map<string, { event: InventoryEvent; raw: string }>();
  for (const p of batch) if (!byId.has(p.event.id)) byId.set(p.event.id, p);
  const rooms = new Set<string>();
  if (byId.size === 0) return { rooms, fresh: 0, freshEvents: [] };
  const all = [...byId.values()];

  // Statement 1. The SELECT parts see the tables as they were before this statement, so
  // order_events there holds only earlier events; the events array is one JSON parameter,
  // parsed once by Postgres into the jsonb payloads.
  const first = await sql<{ k: 'f' | 'o' | 'p'; id: string; v: unknown }>`
    WITH ins AS (
      INSERT INTO order_events (event_id, order_id, type, item_id, room_id, occurred_at, payload, ver)
      SELECT e->>'id', e->>'order', e->>'type', (e->>'item')::bigint, (e->>'room')::bigint,
             ${epoch} + (e->>'at')::bigint * interval '1 millisecond', e, (e->>'ver')::bigint
      FROM jsonb_array_elements(${`[${all.map((p) => p.raw).join(',')}]`}::jsonb) AS e
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id, order_id
    ), touched AS (
      SELECT DISTINCT order_id FROM ins WHERE order_id IS NOT NULL
    ), locked AS (
      SELECT o.* FROM orders o WHERE o.order_id IN (SELECT order_id FROM touched) ORDER BY o.order_id FOR UPDATE
    )
    SELECT 'f' AS k, ins.event_id AS id, NULL::jsonb AS v FROM ins
    UNION ALL
    SELECT 'o', l.order_id, jsonb_build_object(
      'order_id', l.order_id, 'item_id', l.item_id::text, 'room_id', l.room_id::text, 'user_id', l.user_id, 'kind', l.kind, 'qty', l.qty,
      'unit_price', l.unit_price, 'amount', l.amount, 'state', l.state, 'held_at', ${msOf('l.held_at')}, 'held_ver', l.held_ver,
      'deadline_at', ${msOf('l.deadline_at')}, 'idem', l.idem, 'price_ver', l.price_ver, 'paid_at', ${msOf('l.paid_at')}, 'paid_ver', l.paid_ver,
      'paid_amount', l.paid_amount, 'refunded_amount', l.refunded_amount, 'cancelled_at', ${msOf('l.cancelled_at')}, 'cancel_ver', l.cancel_ver,
      'cancel_reason', l.cancel_reason, 'expired_at', ${msOf('l.expired_at')}, 'expire_ver', l.expire_ver, 'reminded_at', ${msOf('l.reminded_at')})
    FROM locked l
    UNION ALL
    SELECT 'p', e.order_id, e.payload FROM order_events e
    WHERE e.order_id IN (SELECT order_id FROM touched) AND NOT EXISTS (SELECT 1 FROM locked l WHERE l.order_id = e.order_id)`.execute(trx);

  const freshIds = new Set<string>();
  const existing = new Map<string, OrderRow>();
  const earlier = new Map<string, OrderEvent[]>();
  for (const r of first.rows) {
    if (r.k === 'f') freshIds.add(r.id);
    else if (r.k === 'o') existing.set(r.id, fromLocked(r.v as LockedRow));
    else {
      const p = inventoryEvent.safeParse(r.v);
      if (!p.success || !isOrderEvent(p.data)) continue;
      let list = earlier.get(r.id);
      if (!list) earlier.set(r.id, (list = []));
      list.push(p.data);
    }
  }
  const freshEvents = all.filter((p) => freshIds.has(p.event.id)).map((p) => p.event);
  if (freshEvents.length === 0) return { rooms, fresh: 0, freshEvents };
  await writeOrderPrices(trx, freshEvents);

  const byOrder = new Map<string, OrderEvent[]>();
  for (const e of freshEvents) {
    if (!isOrderEvent(e)) continue;
    let list = byOrder.get(e.order);
    if (!list) byOrder.set(e.order, (list = []));
    list.push(e);
  }
  const buckets = new Map<string, Bucket>();

  // Refunds: one row each, counted in the minute they were issued.
  const refunds = freshEvents.filter((e): e is Extract<InventoryEvent, { type: 'refund.issued' }> => e.type === 'refund.issued');
  for (const e of refunds) {
    addBuckets(buckets, [{ roomId: e.room, itemId: e.item, minute: minuteOf(e.at), placedOrders: 0, orderedGmv: 0, paidOrders: 0, paidGmv: 0, refunds: 1, refunded: e.amount }], 1);
    rooms.add(e.room);
  }

  // Fold each touched order's new events into its row; its figures move by the difference.
  const changed: OrderRow[] = [];
  const newBuyers = new Map<string, { roomId: string; itemId: string; userId: string; at: number }>();
  for (const [id, events] of byOrder) {
    const before = existing.get(id);
    let after: OrderRow | undefined;
    if (before) {
      after = before;
      for (const e of events.sort(canonical)) after = applyEvent(after, e) ?? after;
    } else {
      after = foldOrder([...(earlier.get(id) ?? []), ...events]);
    }
    if (!after) continue; // waits for its hold or payment
    changed.push(after);
    rooms.add(after.roomId);
    if (before) addBuckets(buckets, contributions(before), -1);
    addBuckets(buckets, contributions(after), 1);
    if (after.paidAt !== null && before?.paidAt == null) {
      const key = `${after.roomId}|${after.itemId}|${after.userId}`;
      const cur = newBuyers.get(key);
      if (!cur || after.paidAt < cur.at) newBuyers.set(key, { roomId: after.roomId, itemId: after.itemId, userId: after.userId, at: after.paidAt });
    }
  }
  const stats = [...buckets.values()].filter((b) => !isZero(b)).sort((x, y) => cmp(x.roomId, y.roomId) || cmp(x.itemId, y.itemId) || x.minute - y.minute);
  const buyers = [...newBuyers.values()].sort((x, y) => cmp(x.roomId, y.roomId) || cmp(x.itemId, y.itemId) || (x.userId < y.userId ? -1 : 1));
  if (changed.length || refunds.length || stats.length || buyers.length) await writeChanges(trx, changed, refunds, stats, buyers);
  return { rooms, fresh: freshEvents.length, freshEvents };
}

/** Statement 2: every change of the batch in one statement (data-modifying CTEs each run once). */
async function writeChanges(
  trx: Transaction<Database>,
  rows: readonly OrderRow[],
  refunds: readonly Extract<InventoryEvent, { type: 'refund.issued' }>[],
  stats: readonly Bucket[],
  buyers: readonly { roomId: string; itemId: string; userId: string; at: number }[],
): Promise<void> {
  const orders = JSON.stringify(
    rows.map((r) => ({
      order_id: r.orderId,
      item_id: r.itemId,
      room_id: r.roomId,
      user_id: r.userId,
      qty: r.qty,
      unit_price: r.unitPrice,
      amount: r.amount,
      state: r.state,
      held_at: r.heldAt,
      deadline_at: r.deadlineAt,
      paid_at: r.paidAt,
      kind: r.kind,
      idem: r.idem,
      held_ver: r.heldVer,
      price_ver: r.priceVer,
      paid_ver: r.paidVer,
      paid_amount: r.paidAmount,
      refunded_amount: r.refundedAmount,
      cancelled_at: r.cancelledAt,
      cancel_ver: r.cancelVer,
      cancel_reason: r.cancelReason,
      expired_at: r.expiredAt,
      expire_ver: r.expireVer,
      reminded_at: r.remindedAt,
    })),
  );
  const refundRows = JSON.stringify(refunds.map((e) => ({ event_id: e.id, order_id: e.order, item_id: e.item, room_id: e.room, user_id: e.user, amount: e.amount, reason: e.reason, at: e.at })));
  const statRows = JSON.stringify(
    stats.map((b) => ({ room_id: b.roomId, item_id: b.itemId, minute: b.minute, placed_orders: b.placedOrders, ordered_gmv: b.orderedGmv, paid_orders: b.paidOrders, paid_gmv: b.paidGmv, refunds: b.refunds, refunded: b.refunded })),
  );
  const buyerRows = JSON.stringify(buyers.map((b) => ({ room_id: b.roomId, item_id: b.itemId, user_id: b.userId, at: b.at })));
  const ts = (col: string) => sql`${epoch} + ${sql.ref(col)} * interval '1 millisecond'`;
  await sql`
    WITH o AS (
      INSERT INTO orders (order_id, item_id, room_id, user_id, qty, unit_price, amount, state, held_at, deadline_at, paid_at,
        kind, idem, held_ver, price_ver, paid_ver, paid_amount, refunded_amount, cancelled_at, cancel_ver, cancel_reason, expired_at, expire_ver, reminded_at)
      SELECT x.order_id, x.item_id, x.room_id, x.user_id, x.qty, x.unit_price, x.amount, x.state, ${ts('x.held_at')}, ${ts('x.deadline_at')}, ${ts('x.paid_at')},
        x.kind, x.idem, x.held_ver, x.price_ver, x.paid_ver, x.paid_amount, x.refunded_amount, ${ts('x.cancelled_at')}, x.cancel_ver, x.cancel_reason,
        ${ts('x.expired_at')}, x.expire_ver, ${ts('x.reminded_at')}
      FROM json_to_recordset(${orders}::json) AS x(order_id text, item_id bigint, room_id bigint, user_id text, qty integer, unit_price bigint, amount bigint,
        state text, held_at bigint, deadline_at bigint, paid_at bigint, kind text, idem text, held_ver bigint, price_ver bigint, paid_ver bigint,
        paid_amount bigint, refunded_amount bigint, cancelled_at bigint, cancel_ver bigint, cancel_reason text, expired_at bigint, expire_ver bigint, reminded_at bigint)
      ON CONFLICT (order_id) DO UPDATE SET
        user_id = EXCLUDED.user_id, qty = EXCLUDED.qty, unit_price = EXCLUDED.unit_price, amount = EXCLUDED.amount, state = EXCLUDED.state,
        held_at = EXCLUDED.held_at, deadline_at = EXCLUDED.deadline_at, paid_at = EXCLUDED.paid_at, kind = EXCLUDED.kind, idem = EXCLUDED.idem,
        held_ver = EXCLUDED.held_ver, price_ver = EXCLUDED.price_ver, paid_ver = EXCLUDED.paid_ver, paid_amount = EXCLUDED.paid_amount,
        refunded_amount = EXCLUDED.refunded_amount, cancelled_at = EXCLUDED.cancelled_at, cancel_ver = EXCLUDED.cancel_ver,
        cancel_reason = EXCLUDED.cancel_reason, expired_at = EXCLUDED.expired_at, expire_ver = EXCLUDED.expire_ver,
        reminded_at = EXCLUDED.reminded_at, updated_at = now()
      RETURNING 1
    ), r AS (
      INSERT INTO refunds (event_id, order_id, item_id, room_id, user_id, amount, reason, refunded_at)
      SELECT x.event_id, x.order_id, x.item_id, x.room_id, x.user_id, x.amount, x.reason, ${ts('x.at')}
      FROM json_to_recordset(${refundRows}::json) AS x(event_id text, order_id text, item_id bigint, room_id bigint, user_id text, amount bigint, reason text, at bigint)
      ON CONFLICT (event_id) DO NOTHING
      RETURNING 1
    ), b AS (
      INSERT INTO room_buyers (room_id, item_id, user_id, first_paid_at)
      SELECT x.room_id, x.item_id, x.user_id, ${ts('x.at')}
      FROM json_to_recordset(${buyerRows}::json) AS x(room_id bigint, item_id bigint, user_id text, at bigint)
      ON CONFLICT (room_id, item_id, user_id) DO UPDATE SET first_paid_at = least(room_buyers.first_paid_at, EXCLUDED.first_paid_at)
      RETURNING 1
    ), s AS (
      INSERT INTO stats_minute (room_id, item_id, minute, placed_orders, ordered_gmv, paid_orders, paid_gmv, refunds, refunded)
      SELECT x.room_id, x.item_id, ${ts('x.minute')}, x.placed_orders, x.ordered_gmv, x.paid_orders, x.paid_gmv, x.refunds, x.refunded
      FROM json_to_recordset(${statRows}::json) AS x(room_id bigint, item_id bigint, minute bigint, placed_orders integer, ordered_gmv bigint,
        paid_orders integer, paid_gmv bigint, refunds integer, refunded bigint)
      ON CONFLICT (room_id, item_id, minute) DO UPDATE SET
        placed_orders = stats_minute.placed_orders + EXCLUDED.placed_orders,
        ordered_gmv = stats_minute.ordered_gmv + EXCLUDED.ordered_gmv,
        paid_orders = stats_minute.paid_orders + EXCLUDED.paid_orders,
        paid_gmv = stats_minute.paid_gmv + EXCLUDED.paid_gmv,
        refunds = stats_minute.refunds + EXCLUDED.refunds,
        refunded = stats_minute.refunded + EXCLUDED.refunded
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM o) AS orders, (SELECT count(*) FROM r) AS refunds, (SELECT count(*) FROM b) AS buyers, (SELECT count(*) FROM s) AS stats`.execute(trx);
}
