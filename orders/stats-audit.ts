import { sql, type Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';

/**
 * Recomputes a room's figures from the ledger rows themselves (orders and refunds; the
 * room-activity events) and compares them with what the writer kept incrementally
 * (stats_minute, room_buyers; room_viewers, product_visitors, room_followers), per item and
 * minute, to the fen. Empty when they agree.
 */

export interface StatsMismatch {
  itemId: string;
  /** Start of the minute, ISO; '*' for the distinct-buyer count of the item. */
  minute: string;
  field: string;
  kept: number;
  recomputed: number;
}

type Row = { placed_orders: number; ordered_gmv: number; paid_orders: number; paid_gmv: number; refunds: number; refunded: number };
const fields: (keyof Row)[] = ['placed_orders', 'ordered_gmv', 'paid_orders', 'paid_gmv', 'refunds', 'refunded'];

export async function auditRoomStats(db: Kysely<Database>, roomId: string): Promise<StatsMismatch[]> {
  const [kept, placed, paid, refunds, keptBuyers, buyers] = await Promise.all([
    sql<{ item_id: string; m: Date } & Record<keyof Row, string>>`
      SELECT item_id, minute AS m, placed_orders, ordered_gmv, paid_orders, paid_gmv, refunds, refunded FROM stats_minute WHERE room_id = ${roomId}`.execute(db),
    sql<{ item_id: string; m: Date; c: string; s: string }>`
      SELECT item_id, date_trunc('minute', held_at) AS m, count(*) AS c, sum(amount) AS s FROM orders WHERE room_id = ${roomId} GROUP BY 1, 2`.execute(db),
    sql<{ item_id: string; m: Date; c: string; s: string }>`
      SELECT item_id, date_trunc('minute', paid_at) AS m, count(*) AS c, coalesce(sum(paid_amount), 0) AS s FROM orders
      WHERE room_id = ${roomId} AND paid_at IS NOT NULL GROUP BY 1, 2`.execute(db),
    sql<{ item_id: string; m: Date; c: string; s: string }>`
      SELECT item_id, date_trunc('minute', refunded_at) AS m, count(*) AS c, sum(amount) AS s FROM refunds WHERE room_id = ${roomId} GROUP BY 1, 2`.execute(db),
    sql<{ item_id: string; c: string }>`SELECT item_id, count(*) AS c FROM room_buyers WHERE room_id = ${roomId} GROUP BY 1`.execute(db),
    sql<{ item_id: string; c: string }>`
      SELECT item_id, count(DISTINCT user_id) AS c FROM orders WHERE room_id = ${roomId} AND paid_at IS NOT NULL GROUP BY 1`.execute(db),
  ]);
  const zero = (): Row => ({ placed_orders: 0, ordered_gmv: 0, paid_orders: 0, paid_gmv: 0, refunds: 0, refunded: 0 });
  const key = (item: string, m: Date) => `${item}|${new Date(m).toISOString()}`;
  const a = new Map<string, Row>();
  const b = new Map<string, Row>();
  const at = (map: Map<string, Row>, k: string) => {
    let r = map.get(k);
    if (!r) map.set(k, (r = zero()));
    return r;
  };
  for (const r of kept.rows) {
    const x = at(a, key(r.item_id, r.m));
    for (const f of fields) x[f] += Number(r[f]);
  }
  for (const r of placed.rows) Object.assign(at(b, key(r.item_id, r.m)), { placed_orders: Number(r.c), ordered_gmv: Number(r.s) });
  for (const r of paid.rows) Object.assign(at(b, key(r.item_id, r.m)), { paid_orders: Number(r.c), paid_gmv: Number(r.s) });
  for (const r of refunds.rows) Object.assign(at(b, key(r.item_id, r.m)), { refunds: Number(r.c), refunded: Number(r.s) });

  const out: StatsMismatch[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const [itemId, minute] = k.split('|') as [string, string];
    const x = a.get(k) ?? zero();
    const y = b.get(k) ?? zero();
    for (const f of fields) if (x[f] !== y[f]) out.push({ itemId, minute, field: f, kept: x[f], recomputed: y[f] });
  }
  const kb = new Map(keptBuyers.rows.map((r) => [r.item_id, Number(r.c)]));
  const rb = new Map(buyers.rows.map((r) => [r.item_id, Number(r.c)]));
  for (const item of new Set([...kb.keys(), ...rb.keys()])) {
    if ((kb.get(item) ?? 0) !== (rb.get(item) ?? 0)) out.push({ itemId: item, minute: '*', field: 'buyers', kept: kb.get(item) ?? 0, recomputed: rb.get(item) ?? 0 });
  }
  out.push(...(await auditActivity(db, roomId)));
  return out.sort((p, q) => (p.itemId + p.minute + p.field < q.itemId + q.minute + q.field ? -1 : 1));
}

/** The activity sets against the activity events they were kept from. */
async function auditActivity(db: Kysely<Database>, roomId: string): Promise<StatsMismatch[]> {
  const [kept, events, keptVisitors, visitors] = await Promise.all([
    sql<{ uv: string; pv: string; watch: string; followers: string }>`
      SELECT (SELECT count(*) FROM room_viewers WHERE room_id = ${roomId} AND entries > 0) AS uv,
             (SELECT coalesce(sum(entries), 0) FROM room_viewers WHERE room_id = ${roomId}) AS pv,
             (SELECT coalesce(sum(watch_ms), 0) FROM room_viewers WHERE room_id = ${roomId}) AS watch,
             (SELECT count(*) FROM room_followers WHERE room_id = ${roomId}) AS followers`.execute(db),
    sql<{ uv: string; pv: string; watch: string; followers: string }>`
      SELECT count(DISTINCT user_id) FILTER (WHERE type = 'viewer.joined') AS uv,
             count(*) FILTER (WHERE type = 'viewer.joined') AS pv,
             coalesce(sum(value) FILTER (WHERE type = 'viewer.left'), 0) AS watch,
             count(DISTINCT user_id) FILTER (WHERE type = 'room.followed') AS followers
      FROM room_activity WHERE room_id = ${roomId}`.execute(db),
    sql<{ item_id: string; c: string }>`SELECT item_id, count(*) AS c FROM product_visitors WHERE room_id = ${roomId} GROUP BY 1`.execute(db),
    sql<{ item_id: string; c: string }>`
      SELECT item_id, count(DISTINCT user_id) AS c FROM room_activity WHERE room_id = ${roomId} AND type = 'product.clicked' GROUP BY 1`.execute(db),
  ]);
  const out: StatsMismatch[] = [];
  const a = kept.rows[0]!;
  const b = events.rows[0]!;
  for (const f of ['uv', 'pv', 'watch', 'followers'] as const) {
    if (Number(a[f]) !== Number(b[f])) out.push({ itemId: '*', minute: '*', field: f, kept: Number(a[f]), recomputed: Number(b[f]) });
  }
  const kv = new Map(keptVisitors.rows.map((r) => [r.item_id, Number(r.c)]));
  const rv = new Map(visitors.rows.map((r) => [r.item_id, Number(r.c)]));
  for (const item of new Set([...kv.keys(), ...rv.keys()])) {
    if ((kv.get(item) ?? 0) !== (rv.get(item) ?? 0)) out.push({ itemId: item, minute: '*', field: 'product_visitors', kept: kv.get(item) ?? 0, recomputed: rv.get(item) ?? 0 });
  }
  return out;
}
