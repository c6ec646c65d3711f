import { sql, type Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { metric, ratio, type MetricValue } from './metrics.ts';
import { currentShow } from './shows.ts';

/**
 * The figures of the metric dictionary, read from the ledger, for one scope:
 *
 * - a show: order figures (per-minute table, buyers, explain-window GMV) are those of the show's
 *   items (campaign_items.show_id); activity figures (viewers, pv, watch time, online, product
 *   visitors, followers gained) are those of the room's activity events timed while the show
 *   was live, from its started_at to its ended_at (or now). A show never started has no
 *   activity. A room's second show therefore starts from zero in every figure.
 * - a room with no show at all (rooms from before shows): every item and all activity, from the
 *   sets the writer keeps (viewers, product visitors, followers).
 */

/** What figures are over: a show (its items, its live window) or a whole room that has no show. */
export type FigureScope =
  | { kind: 'room'; roomId: string }
  | { kind: 'show'; roomId: string; showId: string; startedAt: number | null; endedAt: number | null };

/** A scope, or a room id for the whole room (every item, all activity). */
export type ScopeArg = FigureScope | string;
const scopeOf = (a: ScopeArg): FigureScope => (typeof a === 'string' ? { kind: 'room', roomId: a } : a);

/** The scope of a show. */
export function showScope(show: { id: string; roomId: string; startedAt: number | null; endedAt: number | null }): FigureScope {
  return { kind: 'show', roomId: show.roomId, showId: show.id, startedAt: show.startedAt, endedAt: show.endedAt };
}

/** `AND <item column> IN (the show's items)` for a show; nothing for a room. */
function itemFilter(scope: FigureScope, col = 'item_id') {
  return scope.kind === 'room' ? sql`` : sql`AND ${sql.ref(col)} IN (SELECT id FROM campaign_items WHERE show_id = ${scope.showId})`;
}

/** `AND <time column> within the show's live window` for a show (false when never started); nothing for a room. */
function windowFilter(scope: FigureScope, col = 'at') {
  if (scope.kind === 'room') return sql``;
  if (scope.startedAt === null) return sql`AND false`;
  const to = scope.endedAt === null ? sql`'infinity'::timestamptz` : sql`${new Date(scope.endedAt).toISOString()}::timestamptz`;
  return sql`AND ${sql.ref(col)} >= ${new Date(scope.startedAt).toISOString()}::timestamptz AND ${sql.ref(col)} < ${to}`;
}

export interface OrderFigures {
  placedOrders: number;
  orderedGmv: number;
  paidOrders: number;
  paidGmv: number;
  refunds: number;
  refunded: number;
}

export interface ShowFigures extends OrderFigures {
  buyers: number;
  uv: number;
  pv: number;
  watchMs: number;
  online: number;
  peakOnline: number;
  productVisitors: number;
  newFollowers: number;
}

export interface ExplainFigures {
  onAir: number;
  after: number;
  before: number;
}

export interface ProductFigures extends OrderFigures {
  itemId: string;
  buyers: number;
  productVisitors: number;
}

export interface MinuteFigures extends OrderFigures {
  /** Start of the minute, epoch ms. */
  minute: number;
  buyers: number;
  uv: number;
  pv: number;
  productVisitors: number;
  newFollowers: number;
  online: number | null;
  peakOnline: number | null;
}

const zeroOrders = (): OrderFigures => ({ placedOrders: 0, orderedGmv: 0, paidOrders: 0, paidGmv: 0, refunds: 0, refunded: 0 });
const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));

type OrderSums = Record<'placed_orders' | 'ordered_gmv' | 'paid_orders' | 'paid_gmv' | 'refunds' | 'refunded', string | null>;

function orderFiguresOf(r: OrderSums): OrderFigures {
  return { placedOrders: n(r.placed_orders), orderedGmv: n(r.ordered_gmv), paidOrders: n(r.paid_orders), paidGmv: n(r.paid_gmv), refunds: n(r.refunds), refunded: n(r.refunded) };
}

/** Order figures per item of the scope, from the per-minute table. */
export async function orderFiguresByItem(db: Kysely<Database>, arg: ScopeArg): Promise<Map<string, OrderFigures>> {
  const scope = scopeOf(arg);
  const rows = await sql<{ item_id: string } & OrderSums>`
    SELECT item_id, sum(placed_orders) AS placed_orders, sum(ordered_gmv) AS ordered_gmv, sum(paid_orders) AS paid_orders,
           sum(paid_gmv) AS paid_gmv, sum(refunds) AS refunds, sum(refunded) AS refunded
    FROM stats_minute WHERE room_id = ${scope.roomId} ${itemFilter(scope)} GROUP BY item_id`.execute(db);
  return new Map(rows.rows.map((r) => [String(r.item_id), orderFiguresOf(r)]));
}

function sumOrders(all: Iterable<OrderFigures>): OrderFigures {
  const t = zeroOrders();
  for (const f of all) {
    t.placedOrders += f.placedOrders;
    t.orderedGmv += f.orderedGmv;
    t.paidOrders += f.paidOrders;
    t.paidGmv += f.paidGmv;
    t.refunds += f.refunds;
    t.refunded += f.refunded;
  }
  return t;
}

/** Every show-scope figure except explain-window GMV (cheap enough for the live push). */
export async function showFigures(db: Kysely<Database>, arg: ScopeArg): Promise<ShowFigures> {
  const scope = scopeOf(arg);
  const roomId = scope.roomId;
  const viewers =
    scope.kind === 'room'
      ? sql<{ uv: string; pv: string; watch_ms: string }>`
          SELECT count(*) FILTER (WHERE entries > 0) AS uv, coalesce(sum(entries), 0) AS pv, coalesce(sum(watch_ms), 0) AS watch_ms
          FROM room_viewers WHERE room_id = ${roomId}`
      : sql<{ uv: string; pv: string; watch_ms: string }>`
          SELECT count(DISTINCT user_id) FILTER (WHERE type = 'viewer.joined') AS uv,
                 count(*) FILTER (WHERE type = 'viewer.joined') AS pv,
                 coalesce(sum(value) FILTER (WHERE type = 'viewer.left'), 0) AS watch_ms
          FROM room_activity WHERE room_id = ${roomId} AND type IN ('viewer.joined', 'viewer.left') ${windowFilter(scope)}`;
  const visitors =
    scope.kind === 'room'
      ? sql<{ n: string }>`SELECT count(DISTINCT user_id) AS n FROM product_visitors WHERE room_id = ${roomId}`
      : sql<{ n: string }>`SELECT count(DISTINCT user_id) AS n FROM room_activity WHERE room_id = ${roomId} AND type = 'product.clicked' ${windowFilter(scope)}`;
  const [byItem, buyers, v, pvis, followers, online] = await Promise.all([
    orderFiguresByItem(db, scope),
    sql<{ n: string }>`SELECT count(DISTINCT user_id) AS n FROM room_buyers WHERE room_id = ${roomId} ${itemFilter(scope)}`.execute(db),
    viewers.execute(db),
    visitors.execute(db),
    sql<{ n: string }>`SELECT count(*) AS n FROM room_followers WHERE room_id = ${roomId} ${windowFilter(scope, 'followed_at')}`.execute(db),
    sql<{ last: string | null; peak: string | null }>`
      SELECT (SELECT value FROM room_activity WHERE room_id = ${roomId} AND type = 'room.online' ${windowFilter(scope)} ORDER BY at DESC, event_id DESC LIMIT 1) AS last,
             (SELECT max(value) FROM room_activity WHERE room_id = ${roomId} AND type = 'room.online' ${windowFilter(scope)}) AS peak`.execute(db),
  ]);
  const vr = v.rows[0];
  return {
    ...sumOrders(byItem.values()),
    buyers: n(buyers.rows[0]?.n),
    uv: n(vr?.uv),
    pv: n(vr?.pv),
    watchMs: n(vr?.watch_ms),
    online: n(online.rows[0]?.last),
    peakOnline: n(online.rows[0]?.peak),
    productVisitors: n(pvis.rows[0]?.n),
    newFollowers: n(followers.rows[0]?.n),
  };
}

/** Per-product figures for every item of the scope that has any. */
export async function productFigures(db: Kysely<Database>, arg: ScopeArg): Promise<Map<string, ProductFigures>> {
  const scope = scopeOf(arg);
  const roomId = scope.roomId;
  const visitorsQ =
    scope.kind === 'room'
      ? sql<{ item_id: string; n: string }>`SELECT item_id, count(*) AS n FROM product_visitors WHERE room_id = ${roomId} GROUP BY item_id`
      : sql<{ item_id: string; n: string }>`
          SELECT item_id, count(DISTINCT user_id) AS n FROM room_activity
          WHERE room_id = ${roomId} AND type = 'product.clicked' ${itemFilter(scope)} ${windowFilter(scope)} GROUP BY item_id`;
  const [byItem, buyers, visitors] = await Promise.all([
    orderFiguresByItem(db, scope),
    sql<{ item_id: string; n: string }>`SELECT item_id, count(*) AS n FROM room_buyers WHERE room_id = ${roomId} ${itemFilter(scope)} GROUP BY item_id`.execute(db),
    visitorsQ.execute(db),
  ]);
  const out = new Map<string, ProductFigures>();
  const get = (itemId: string) => {
    let p = out.get(itemId);
    if (!p) out.set(itemId, (p = { itemId, ...zeroOrders(), buyers: 0, productVisitors: 0 }));
    return p;
  };
  for (const [itemId, f] of byItem) Object.assign(get(itemId), f);
  for (const r of buyers.rows) get(String(r.item_id)).buyers = n(r.n);
  for (const r of visitors.rows) get(String(r.item_id)).productVisitors = n(r.n);
  return out;
}

/**
 * Explain-window GMV per item: the ordered GMV of its orders placed while it was on air, after
 * its first on-air start while off air, and before it was first on air (or never on air).
 */
export async function explainFigures(db: Kysely<Database>, arg: ScopeArg): Promise<Map<string, ExplainFigures>> {
  const scope = scopeOf(arg);
  const roomId = scope.roomId;
  const r = await sql<{ item_id: string; on_air: string | null; after: string | null; before: string | null }>`
    WITH iv AS (
      SELECT item_id, started_at, coalesce(ended_at, 'infinity'::timestamptz) AS ended_at FROM on_air_intervals WHERE room_id = ${roomId} ${itemFilter(scope)}
    ), f AS (
      SELECT item_id, min(started_at) AS first_start FROM iv GROUP BY item_id
    ), o AS (
      SELECT o.item_id, o.amount, o.held_at,
             EXISTS (SELECT 1 FROM iv WHERE iv.item_id = o.item_id AND o.held_at >= iv.started_at AND o.held_at < iv.ended_at) AS on_air
      FROM orders o WHERE o.room_id = ${roomId} ${itemFilter(scope, 'o.item_id')}
    )
    SELECT o.item_id,
           sum(o.amount) FILTER (WHERE o.on_air) AS on_air,
           sum(o.amount) FILTER (WHERE NOT o.on_air AND f.first_start IS NOT NULL AND o.held_at >= f.first_start) AS after,
           sum(o.amount) FILTER (WHERE NOT o.on_air AND (f.first_start IS NULL OR o.held_at < f.first_start)) AS before
    FROM o LEFT JOIN f ON f.item_id = o.item_id
    GROUP BY o.item_id`.execute(db);
  return new Map(r.rows.map((x) => [String(x.item_id), { onAir: n(x.on_air), after: n(x.after), before: n(x.before) }]));
}

/** The per-minute series, oldest first, from `from` to `to` (ms, inclusive minutes); empty minutes are zeros. */
export async function minuteSeries(db: Kysely<Database>, arg: ScopeArg, range?: { from: number; to: number }): Promise<MinuteFigures[]> {
  const scope = scopeOf(arg);
  const roomId = scope.roomId;
  const [orders, buyers, activity, followers, lastOnline] = await Promise.all([
    sql<{ minute: Date } & OrderSums>`
      SELECT minute, sum(placed_orders) AS placed_orders, sum(ordered_gmv) AS ordered_gmv, sum(paid_orders) AS paid_orders,
             sum(paid_gmv) AS paid_gmv, sum(refunds) AS refunds, sum(refunded) AS refunded
      FROM stats_minute WHERE room_id = ${roomId} ${itemFilter(scope)} GROUP BY minute`.execute(db),
    sql<{ m: Date; n: string }>`
      SELECT date_trunc('minute', paid_at) AS m, count(DISTINCT user_id) AS n FROM orders
      WHERE room_id = ${roomId} AND paid_at IS NOT NULL ${itemFilter(scope)} GROUP BY 1`.execute(db),
    sql<{ m: Date; pv: string; uv: string; visitors: string; peak: string | null }>`
      SELECT date_trunc('minute', at) AS m,
             count(*) FILTER (WHERE type = 'viewer.joined') AS pv,
             count(DISTINCT user_id) FILTER (WHERE type = 'viewer.joined') AS uv,
             count(DISTINCT user_id) FILTER (WHERE type = 'product.clicked') AS visitors,
             max(value) FILTER (WHERE type = 'room.online') AS peak
      FROM room_activity WHERE room_id = ${roomId} ${windowFilter(scope)} GROUP BY 1`.execute(db),
    sql<{ m: Date; n: string }>`
      SELECT date_trunc('minute', followed_at) AS m, count(*) AS n FROM room_followers WHERE room_id = ${roomId} ${windowFilter(scope, 'followed_at')} GROUP BY 1`.execute(db),
    sql<{ m: Date; v: string }>`
      SELECT DISTINCT ON (date_trunc('minute', at)) date_trunc('minute', at) AS m, value AS v
      FROM room_activity WHERE room_id = ${roomId} AND type = 'room.online' ${windowFilter(scope)} ORDER BY date_trunc('minute', at), at DESC, event_id DESC`.execute(db),
  ]);
  const out = new Map<number, MinuteFigures>();
  const get = (m: Date | string) => {
    const t = new Date(m).getTime();
    let f = out.get(t);
    if (!f) out.set(t, (f = { minute: t, ...zeroOrders(), buyers: 0, uv: 0, pv: 0, productVisitors: 0, newFollowers: 0, online: null, peakOnline: null }));
    return f;
  };
  for (const r of orders.rows) Object.assign(get(r.minute), orderFiguresOf(r));
  for (const r of buyers.rows) get(r.m).buyers = n(r.n);
  for (const r of activity.rows) Object.assign(get(r.m), { pv: n(r.pv), uv: n(r.uv), productVisitors: n(r.visitors), peakOnline: r.peak === null ? null : n(r.peak) });
  for (const r of followers.rows) get(r.m).newFollowers = n(r.n);
  for (const r of lastOnline.rows) get(r.m).online = n(r.v);

  const keys = [...out.keys()];
  const from = range?.from ?? (keys.length ? Math.min(...keys) : undefined);
  const to = range?.to ?? (keys.length ? Math.max(...keys) : undefined);
  if (from === undefined || to === undefined) return [];
  const first = from - (from % 60_000);
  const last = Math.min(to - (to % 60_000), first + 48 * 3600_000);
  const series: MinuteFigures[] = [];
  for (let t = first; t <= last; t += 60_000) {
    series.push(out.get(t) ?? { minute: t, ...zeroOrders(), buyers: 0, uv: 0, pv: 0, productVisitors: 0, newFollowers: 0, online: null, peakOnline: null });
  }
  return series;
}

function orderMetrics(f: OrderFigures & { buyers: number }): MetricValue[] {
  return [
    metric('ordered_gmv', f.orderedGmv),
    metric('placed_orders', f.placedOrders),
    metric('paid_gmv', f.paidGmv),
    metric('refunded', f.refunded),
    metric('net_paid_gmv', f.paidGmv - f.refunded),
    metric('orders', f.paidOrders),
    metric('buyers', f.buyers),
  ];
}

function explainMetrics(e: ExplainFigures): MetricValue[] {
  return [metric('explain_gmv_on_air', e.onAir), metric('explain_gmv_after', e.after), metric('explain_gmv_before', e.before)];
}

/** Show-scope metrics, in dictionary order (explain-window GMV when given). */
export function showMetrics(f: ShowFigures, explain?: ExplainFigures): MetricValue[] {
  return [
    ...orderMetrics(f),
    metric('uv', f.uv),
    metric('pv', f.pv),
    metric('online', f.online),
    metric('peak_online', f.peakOnline),
    ratio('avg_watch_seconds', f.watchMs, f.uv, 1000),
    metric('product_visitors', f.productVisitors),
    ratio('click_conversion', f.productVisitors, f.uv),
    ratio('order_conversion', f.buyers, f.productVisitors),
    metric('new_followers', f.newFollowers),
    ...(explain ? explainMetrics(explain) : []),
  ];
}

/** Product-scope metrics; click conversion is over the show's uv. */
export function productMetrics(p: ProductFigures, showUv: number, explain: ExplainFigures = { onAir: 0, after: 0, before: 0 }): MetricValue[] {
  return [
    ...orderMetrics(p),
    metric('product_visitors', p.productVisitors),
    ratio('click_conversion', p.productVisitors, showUv),
    ratio('order_conversion', p.buyers, p.productVisitors),
    ...explainMetrics(explain),
  ];
}

export function minuteMetrics(m: MinuteFigures): MetricValue[] {
  return [
    ...orderMetrics(m),
    metric('uv', m.uv),
    metric('pv', m.pv),
    ...(m.online === null ? [] : [metric('online', m.online)]),
    ...(m.peakOnline === null ? [] : [metric('peak_online', m.peakOnline)]),
    metric('product_visitors', m.productVisitors),
    metric('new_followers', m.newFollowers),
  ];
}

export interface RoomStats {
  readonly roomId: string;
  /** The show the figures are of; null for a room that has no show (whole-room figures). */
  readonly showId: string | null;
  readonly metrics: readonly MetricValue[];
  readonly asOf: string;
}

/** Live show-scope figures (everything but explain-window GMV) of a scope. */
export async function scopeStats(db: Kysely<Database>, scope: FigureScope): Promise<RoomStats> {
  const asOf = new Date().toISOString();
  const f = await showFigures(db, scope);
  return { roomId: scope.roomId, showId: scope.kind === 'show' ? scope.showId : null, asOf, metrics: showMetrics(f) };
}

/**
 * A room's live figures: those of its current show (the live one, else the next planned, else
 * the latest: orders/shows.ts `showOfRoom`); a room that has no show gets its whole-room figures.
 */
export async function roomStats(db: Kysely<Database>, roomId: string): Promise<RoomStats> {
  const show = await currentShow(db, roomId);
  return scopeStats(db, show ? showScope(show) : { kind: 'room', roomId });
}
