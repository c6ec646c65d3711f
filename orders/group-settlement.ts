import { sql, type Kysely } from 'kysely';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { OrderStateName, SettlementReply } from '../common/contracts/protocol.ts';
import { decodeCursor, encodeCursor } from './my-orders.ts';

/**
 * A tiered group buy's settlement per order, from the ledger, for the room's host and ops: the
 * tier reached and the final price (from the group's `group.closed` event), and each order with
 * what was paid, refunded and the net, oldest first in pages. The totals cover every order of the
 * group and reconcile to the fen: paid − refunds = net.
 */

export const defaultSettlementPage = 1000;

const dbId = /^\d{1,18}$/;
const epoch = sql`'epoch'::timestamptz`;
const ms = (col: string) => sql<string | null>`(extract(epoch from ${sql.ref(col)}) * 1000)::bigint`;

export interface SettlementPage {
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** The group's settlement list; ITEM_NOT_FOUND for an item that is not a group buy of the room. */
export async function groupSettlement(db: Kysely<Database>, roomId: string, itemId: string, page: SettlementPage): Promise<SettlementReply> {
  const asOf = Date.now();
  const notFound = () => new LivesaleError('ITEM_NOT_FOUND', `room ${roomId} has no group buy ${JSON.stringify(itemId.slice(0, 40))}`);
  if (!dbId.test(roomId) || !dbId.test(itemId)) throw notFound();
  const item = await db
    .selectFrom('campaign_items')
    .select(['id', 'kind', 'title', 'price_fen', 'group_tiers'])
    .where('id', '=', itemId)
    .where('room_id', '=', roomId)
    .executeTakeFirst();
  if (item?.kind !== 'group') throw notFound();
  const tiers = item.group_tiers ?? [];
  const limit = page.limit ?? defaultSettlementPage;
  const after = page.cursor === undefined ? sql`` : sql`AND (o.held_at, o.order_id) > (${epoch} + ${decodeCursor(page.cursor).at}::bigint * interval '1 millisecond', ${decodeCursor(page.cursor).id})`;

  const [closed, rows, totals] = await Promise.all([
    sql<{ at: string; payload: { count: number; finalPrice: number; outcome: 'succeeded' | 'failed' | 'base_price' } }>`
      SELECT ${ms('occurred_at')} AS at, payload FROM order_events WHERE item_id = ${itemId}::bigint AND type = 'group.closed' ORDER BY ver LIMIT 1`.execute(db),
    sql<{ order_id: string; user_id: string; qty: number; unit_price: string; state: OrderStateName; paid_amount: string | null; refunded_amount: string; held_at: string; paid_at: string | null; refunded_at: string | null }>`
      SELECT o.order_id, o.user_id, o.qty, o.unit_price, o.state, o.paid_amount, o.refunded_amount, ${ms('o.held_at')} AS held_at, ${ms('o.paid_at')} AS paid_at,
        (SELECT (extract(epoch from max(r.refunded_at)) * 1000)::bigint FROM refunds r WHERE r.order_id = o.order_id) AS refunded_at
      FROM orders o WHERE o.item_id = ${itemId}::bigint ${after}
      ORDER BY o.held_at, o.order_id LIMIT ${limit + 1}`.execute(db),
    sql<{ orders: string; paid_qty: string | null; paid: string | null; refunds: string | null }>`
      SELECT count(*) AS orders, sum(qty) FILTER (WHERE paid_at IS NOT NULL) AS paid_qty, sum(coalesce(paid_amount, 0)) AS paid, sum(refunded_amount) AS refunds
      FROM orders WHERE item_id = ${itemId}::bigint`.execute(db),
  ]);

  const c = closed.rows[0];
  const list = rows.rows.slice(0, limit);
  const last = list[list.length - 1];
  const t = totals.rows[0]!;
  const paid = Number(t.paid ?? 0);
  const refunds = Number(t.refunds ?? 0);
  return {
    roomId,
    itemId,
    title: item.title,
    basePrice: Number(item.price_fen),
    tiers,
    closed: c
      ? {
          at: Number(c.at),
          count: c.payload.count,
          outcome: c.payload.outcome,
          tier: c.payload.outcome === 'succeeded' ? tiers.filter((x) => x.threshold <= c.payload.count).length : 0,
          finalPrice: c.payload.finalPrice,
        }
      : null,
    orders: list.map((r) => {
      const p = Number(r.paid_amount ?? 0);
      const refund = Number(r.refunded_amount);
      return {
        orderId: r.order_id,
        userId: r.user_id,
        qty: r.qty,
        unitPrice: Number(r.unit_price),
        state: r.state,
        paid: p,
        refund,
        net: p - refund,
        heldAt: Number(r.held_at),
        paidAt: r.paid_at === null ? null : Number(r.paid_at),
        refundedAt: r.refunded_at === null ? null : Number(r.refunded_at),
      };
    }),
    nextCursor: rows.rows.length > limit && last ? encodeCursor({ at: Number(last.held_at), id: last.order_id }) : null,
    totals: { orders: Number(t.orders), paidQty: Number(t.paid_qty ?? 0), paid, refunds, net: paid - refunds },
    asOf,
  };
}
