import { sql, type Kysely, type Transaction } from 'kysely';
import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { Database, OrderState } from '../common/contracts/ledger-schema.ts';
import type { MyCommissionsReply } from '../common/contracts/protocol.ts';
import { LivesaleError } from '../common/platform/errors.ts';

/**
 * Referral commissions (分销), kept on the ledger side (docs/referrals.md):
 *
 * - a shopper opening a share link records a click (`recordClick`): the referrer, the room and
 *   optionally the item, and the end of its attribution window (the window in force then);
 * - when the writer has both an order's payment and its hold (whichever came last), the order
 *   is attributed to the buyer's last click in the order's room (for the room, or for the
 *   order's item) made before the hold and whose window was still open at the hold; the item's
 *   rate at that moment gives the commission, floor(paid × rate / 10000), credited once
 *   (`postCommissions`);
 * - refunds reverse it: the commission stands at floor((paid − refunded) × rate / 10000), zero
 *   once the order is refunded; each refund posts the difference, so the reversals of a fully
 *   refunded order add up to its credit exactly, whatever the order the refunds arrive in.
 *
 * Nothing of this is on the buy path: the reservation scripts and the buy request do not change.
 */

/** A commission in fen: floor(base × rate / 10000) (integer arithmetic, never a float). */
export function commissionOf(base: number, rateBp: number): number {
  return Math.floor((Math.max(0, base) * rateBp) / 10_000);
}

/** What an order's commission stands at: credited on `base`, less what `refunded` reverses. */
export function netCommission(base: number, rateBp: number, refunded: number, state: OrderState): number {
  if (state === 'refunded') return 0;
  return commissionOf(Math.max(0, base - refunded), rateBp);
}

export interface ReferralClick {
  clickId: string;
  referrer: string;
  roomId: string;
  itemId: string | null;
  clickedAt: number;
  expiresAt: number;
}

/**
 * Records that `userId` opened `referrer`'s share link for a room (or one of its items).
 * SELF_REFERRAL when they are the same user; ROOM_NOT_FOUND / ITEM_NOT_FOUND for a room or item
 * that does not exist (an item of another room is not found in this one). The clock is the
 * ledger's, the same clock the writer attributes with.
 */
export async function recordClick(db: Kysely<Database>, c: { userId: string; referrer: string; roomId: string; itemId?: string | undefined; windowSeconds: number }): Promise<ReferralClick> {
  if (c.referrer === c.userId) throw new LivesaleError('SELF_REFERRAL', 'a shopper cannot be referred by their own share link');
  if (!/^\d{1,18}$/.test(c.roomId)) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(c.roomId)}`);
  const room = await db.selectFrom('rooms').select('id').where('id', '=', c.roomId).executeTakeFirst();
  if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(c.roomId)}`);
  if (c.itemId !== undefined) {
    const item = /^\d{1,18}$/.test(c.itemId) ? await db.selectFrom('campaign_items').select('id').where('id', '=', c.itemId).where('room_id', '=', c.roomId).executeTakeFirst() : undefined;
    if (!item) throw new LivesaleError('ITEM_NOT_FOUND', `no item ${JSON.stringify(c.itemId)} in room ${c.roomId}`);
  }
  const row = await sql<{ id: string; clicked: string; expires: string }>`
    INSERT INTO referral_clicks (referrer_id, user_id, room_id, item_id, clicked_at, expires_at)
    VALUES (${c.referrer}, ${c.userId}, ${c.roomId}, ${c.itemId ?? null}, now(), now() + ${c.windowSeconds} * interval '1 second')
    RETURNING id, (extract(epoch from clicked_at) * 1000)::bigint AS clicked, (extract(epoch from expires_at) * 1000)::bigint AS expires`.execute(db);
  const r = row.rows[0]!;
  return { clickId: String(r.id), referrer: c.referrer, roomId: c.roomId, itemId: c.itemId ?? null, clickedAt: Number(r.clicked), expiresAt: Number(r.expires) };
}

/** Sets an item's commission rate (basis points); it applies to orders paid from now on. */
export async function setCommissionRate(db: Kysely<Database>, itemId: string, rateBp: number, by: string): Promise<void> {
  await db
    .insertInto('referral_rates')
    .values({ item_id: itemId, rate_bp: rateBp, set_by: by })
    .onConflict((oc) => oc.column('item_id').doUpdateSet({ rate_bp: rateBp, set_by: by, set_at: sql`now()` }))
    .execute();
}

const epoch = sql`'epoch'::timestamptz`;

/**
 * The writer's step after a batch's orders and refunds are written, in the same transaction:
 * credits newly paid orders that a click attributes, and posts the reversal each refund or
 * cancellation after payment implies. The orders it reads are locked by the batch already
 * (ledger-write.ts), so two batches never post for one order at once; the events are the batch's
 * fresh ones (a re-delivered batch has none), and each entry is keyed by its cause.
 */
export async function postCommissions(trx: Transaction<Database>, events: readonly InventoryEvent[]): Promise<void> {
  const causes = new Map<string, { cause: string; at: number }>();
  for (const e of events) {
    // A payment can reach the ledger before its hold (the pay path produces to Kafka directly):
    // the credit waits for the hold, whose time decides the attribution.
    if (e.type !== 'order.held' && e.type !== 'order.paid' && e.type !== 'refund.issued' && e.type !== 'order.cancelled') continue;
    const cur = causes.get(e.order);
    if (!cur || e.at >= cur.at) causes.set(e.order, { cause: e.id, at: e.at });
  }
  if (!causes.size) return;
  const rows = JSON.stringify([...causes].map(([order, c]) => ({ order_id: order, cause: c.cause, at: c.at })));
  // One statement: new credits (with the reversal a refund already in the ledger implies) and
  // the reversals of commissions credited before. The two sets are disjoint (NOT EXISTS), and
  // the data-modifying parts each run once.
  await sql`
    WITH t AS (
      SELECT x.order_id, x.cause, x.at FROM json_to_recordset(${rows}::json) AS x(order_id text, cause text, at bigint)
    ), cand AS (
      SELECT o.order_id, k.referrer_id, o.user_id, o.room_id, o.item_id, k.id AS click_id, r.rate_bp, o.paid_amount AS base,
             (o.paid_amount * r.rate_bp) / 10000 AS amount,
             CASE WHEN o.state = 'refunded' THEN 0 ELSE (greatest(o.paid_amount - o.refunded_amount, 0) * r.rate_bp) / 10000 END AS net,
             o.paid_at, t.cause, t.at
      FROM t
      JOIN orders o ON o.order_id = t.order_id
      JOIN referral_rates r ON r.item_id = o.item_id AND r.rate_bp > 0
      CROSS JOIN LATERAL (
        SELECT c.id, c.referrer_id FROM referral_clicks c
        WHERE c.user_id = o.user_id AND c.room_id = o.room_id AND (c.item_id IS NULL OR c.item_id = o.item_id)
          AND c.clicked_at <= o.held_at AND c.expires_at > o.held_at
        ORDER BY c.clicked_at DESC, c.id DESC
        LIMIT 1
      ) k
      WHERE o.paid_at IS NOT NULL AND o.held_ver IS NOT NULL AND o.paid_amount > 0 AND k.referrer_id <> o.user_id
        AND NOT EXISTS (SELECT 1 FROM referral_commissions x WHERE x.order_id = o.order_id)
    ), ins AS (
      INSERT INTO referral_commissions (order_id, referrer_id, user_id, room_id, item_id, click_id, rate_bp, base, amount, reversed, credited_at)
      SELECT order_id, referrer_id, user_id, room_id, item_id, click_id, rate_bp, base, amount, amount - net, paid_at FROM cand
      ON CONFLICT (order_id) DO NOTHING
      RETURNING order_id, referrer_id, amount, reversed, credited_at
    ), cur AS (
      SELECT c.order_id, c.referrer_id, c.reversed, t.cause, t.at,
             c.amount - CASE WHEN o.state = 'refunded' THEN 0 ELSE (greatest(c.base - o.refunded_amount, 0) * c.rate_bp) / 10000 END AS target
      FROM referral_commissions c JOIN orders o ON o.order_id = c.order_id JOIN t ON t.order_id = c.order_id
      FOR UPDATE OF c
    ), d AS (
      SELECT * FROM cur WHERE target > reversed
    ), u AS (
      UPDATE referral_commissions c SET reversed = d.target, updated_at = now() FROM d WHERE c.order_id = d.order_id RETURNING 1
    )
    INSERT INTO referral_commission_entries (order_id, referrer_id, kind, amount, cause, at)
    SELECT order_id, referrer_id, 'credit', amount, 'credit', credited_at FROM ins
    UNION ALL
    SELECT ins.order_id, ins.referrer_id, 'reversal', -ins.reversed, t.cause, ${epoch} + t.at * interval '1 millisecond' FROM ins JOIN t ON t.order_id = ins.order_id WHERE ins.reversed > 0
    UNION ALL
    SELECT order_id, referrer_id, 'reversal', reversed - target, cause, ${epoch} + at * interval '1 millisecond' FROM d`.execute(trx);
}

/** A referrer's own commissions, newest first, in pages, with the totals over all of them. */
export async function listCommissions(db: Kysely<Database>, referrerId: string, q: { cursor?: string | undefined; limit?: number | undefined }): Promise<MyCommissionsReply> {
  const limit = q.limit ?? 20;
  let after: { ms: number; orderId: string } | undefined;
  if (q.cursor) {
    const i = q.cursor.indexOf(':');
    after = { ms: Number(q.cursor.slice(0, i)), orderId: q.cursor.slice(i + 1) };
  }
  const ms = sql<string>`(extract(epoch from c.credited_at) * 1000)::bigint`;
  const [page, totals] = await Promise.all([
    db
      .selectFrom('referral_commissions as c')
      .innerJoin('orders as o', 'o.order_id', 'c.order_id')
      .innerJoin('campaign_items as i', 'i.id', 'c.item_id')
      .select(['c.order_id', 'c.room_id', 'c.item_id', 'i.title', 'c.rate_bp', 'c.base', 'c.amount', 'c.reversed', 'o.state', ms.as('ms')])
      .where('c.referrer_id', '=', referrerId)
      .$if(after !== undefined, (qb) => qb.where(sql<boolean>`(c.credited_at, c.order_id) < (${epoch} + ${after!.ms} * interval '1 millisecond', ${after!.orderId})`))
      .orderBy('c.credited_at', 'desc')
      .orderBy('c.order_id', 'desc')
      .limit(limit + 1)
      .execute(),
    db
      .selectFrom('referral_commissions')
      .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(amount), 0)`.as('credited'), sql<string>`coalesce(sum(reversed), 0)`.as('reversed')])
      .where('referrer_id', '=', referrerId)
      .executeTakeFirstOrThrow(),
  ]);
  const rows = page.slice(0, limit);
  const last = rows[rows.length - 1];
  return {
    commissions: rows.map((r) => ({
      orderId: r.order_id,
      roomId: String(r.room_id),
      item: { id: String(r.item_id), title: r.title },
      rateBp: r.rate_bp,
      base: Number(r.base),
      credited: Number(r.amount),
      reversed: Number(r.reversed),
      net: Number(r.amount) - Number(r.reversed),
      state: r.state,
      creditedAt: Number(r.ms),
    })),
    totals: { orders: Number(totals.n), credited: Number(totals.credited), reversed: Number(totals.reversed), net: Number(totals.credited) - Number(totals.reversed) },
    nextCursor: page.length > limit && last ? `${last.ms}:${last.order_id}` : null,
  };
}

export interface ReferrerTotal {
  referrer: string;
  /** Attributed paid orders. */
  orders: number;
  /** What those orders paid (the commission base). */
  paidGmv: number;
  credited: number;
  reversed: number;
  net: number;
}

/** Commission totals per referrer for the orders of a room (of one show when `showId` is given), the largest net first. */
export async function referrerTotals(db: Kysely<Database>, roomId: string, showId?: string): Promise<ReferrerTotal[]> {
  let q = db
    .selectFrom('referral_commissions')
    .select(['referrer_id', sql<string>`count(*)`.as('n'), sql<string>`sum(base)`.as('base'), sql<string>`sum(amount)`.as('credited'), sql<string>`sum(reversed)`.as('reversed')])
    .where('room_id', '=', roomId);
  // A show's referrers: the commissions on its items' orders.
  if (showId !== undefined) q = q.where('item_id', 'in', (sub) => sub.selectFrom('campaign_items').select('id').where('show_id', '=', showId));
  const rows = await q
    .groupBy('referrer_id')
    .execute();
  return rows
    .map((r) => ({ referrer: r.referrer_id, orders: Number(r.n), paidGmv: Number(r.base), credited: Number(r.credited), reversed: Number(r.reversed), net: Number(r.credited) - Number(r.reversed) }))
    .sort((a, b) => b.net - a.net || b.credited - a.credited || (a.referrer < b.referrer ? -1 : 1));
}
