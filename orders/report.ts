import type { Kysely } from 'kysely';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { metric, metricDictionary, type MetricName, type MetricValue } from './metrics.ts';
import { itemCouponMetrics, promotionFigures, promotionMetrics } from './coupon-stats.ts';
import { bargainFigures, bargainMetrics, teamFigures, teamMetrics } from './team-stats.ts';
import { sheetRows } from './run-of-show.ts';
import { reportLotteries, type ReportLottery } from './lottery.ts';
import { referrerTotals, type ReferrerTotal } from './referrals.ts';
import { segmentSizes, type SegmentSizes } from './segments.ts';
import type { Show } from './shows.ts';
import { explainFigures, minuteMetrics, minuteSeries, productFigures, productMetrics, showFigures, showMetrics, showScope } from './stats.ts';

/**
 * The show review report: the dictionary over the whole show, per-product rows, the per-minute
 * series, planned against actual on-air times, and the top products. Every figure is the show's
 * (its items; the room's activity while it was live: orders/stats.ts), never another show's. As JSON (the API), CSV (one
 * part at a time) and a readable text table (the command line).
 */

export interface Interval {
  start: string;
  end: string | null;
}

export interface ProductRow {
  itemId: string;
  title: string;
  /** The run-sheet role of the item, if it is on the run sheet. */
  role: 'main' | 'backup' | 'lottery' | null;
  onAir: Interval[];
  onAirSeconds: number;
  metrics: MetricValue[];
}

export interface ScheduleRow {
  position: number;
  role: 'main' | 'backup' | 'lottery';
  title: string;
  itemId: string | null;
  plannedStart: string | null;
  plannedEnd: string | null;
  actualStart: string | null;
  actualEnd: string | null;
  plannedSeconds: number | null;
  onAirSeconds: number;
  /** actual start − planned start, seconds (positive: late). */
  startDelaySeconds: number | null;
  /** actual end − planned end, seconds (positive: late). */
  endDelaySeconds: number | null;
  /**
   * What the run of show did with the row (pending when nothing drove it; the actual times are
   * then the item's on-air times).
   */
  status: 'pending' | 'on_air' | 'done' | 'skipped' | 'replaced';
  /** A replaced main row: the backup that took its place. */
  replacedBy: number | null;
  /** A backup in a main row's place: that row (whose planned times it keeps). */
  replaces: number | null;
}

export interface TopProduct {
  rank: number;
  itemId: string;
  title: string;
  paidGmv: number;
  orderedGmv: number;
  orders: number;
  buyers: number;
}

export interface ShowReport {
  show: {
    id: string;
    roomId: string;
    title: string;
    hostId: string;
    plannedStart: string;
    plannedEnd: string;
    state: 'planned' | 'live' | 'ended';
    /** When the show went live and ended (null until then): the window of its activity figures. */
    startedAt: string | null;
    endedAt: string | null;
    /** First on-air start and last on-air end (null while still on air, or never on air). */
    actualStart: string | null;
    actualEnd: string | null;
  };
  asOf: string;
  metrics: MetricValue[];
  products: ProductRow[];
  minutes: { minute: string; metrics: MetricValue[] }[];
  schedule: ScheduleRow[];
  topProducts: TopProduct[];
  /** Every lottery of the show: entrants, winners (with their claims) and, once drawn, the seed. */
  lotteries: ReportLottery[];
  /** Referral commissions of the room's orders per referrer, the largest net first (docs/referrals.md). */
  referrers: { referrer: string; metrics: MetricValue[] }[];
  /** The same figures over every referrer of the show. */
  referralTotals: MetricValue[];
  /** The lifecycle stages and RFM score counts of the room's buyers (their segment over the whole ledger). */
  segments: SegmentSizes;
  /** Team buys (拼团) of the show: teams opened, formed, failed, and refunded to failed teams' members. */
  teamBuys: MetricValue[];
  /** Bargains (砍价) of the show: started, helps, bought. */
  bargains: MetricValue[];
  /** The definitions (and versions) of every metric in this report. */
  dictionary: { metric: MetricName; unit: string; version: number; definition: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The referral figures of one referrer (or, added up, of the show). */
function referrerMetrics(t: ReferrerTotal): MetricValue[] {
  return [
    metric('referral_orders', t.orders),
    metric('referral_paid_gmv', t.paidGmv),
    metric('commission_credited', t.credited),
    metric('commission_reversed', t.reversed),
    metric('commission_net', t.net),
  ];
}
const value = (ms: readonly MetricValue[], name: MetricName) => ms.find((m) => m.metric === name)?.value ?? 0;

/** Builds the report of a show from the ledger as it stands at `now`. */
export async function buildReport(db: Kysely<Database>, show: Show, now = Date.now()): Promise<ShowReport> {
  const roomId = show.roomId;
  const scope = showScope(show);
  const [figures, products, explain, items, intervals, sheet, referrerRows, segments] = await Promise.all([
    showFigures(db, scope),
    productFigures(db, scope),
    explainFigures(db, scope),
    db.selectFrom('campaign_items').select(['id', 'title']).where('room_id', '=', roomId).where('show_id', '=', show.id).orderBy('id').execute(),
    db
      .selectFrom('on_air_intervals')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('item_id', 'in', (q) => q.selectFrom('campaign_items').select('id').where('show_id', '=', show.id))
      .orderBy('started_at')
      .execute(),
    sheetRows(db, show.id),
    referrerTotals(db, roomId, show.id),
    segmentSizes(db, { roomId, now }),
  ]);
  const referrers = referrerRows.map((t) => ({ referrer: t.referrer, metrics: referrerMetrics(t) }));
  const referralTotal = referrerRows.reduce((a, t) => ({ referrer: '', orders: a.orders + t.orders, paidGmv: a.paidGmv + t.paidGmv, credited: a.credited + t.credited, reversed: a.reversed + t.reversed, net: a.net + t.net }), { referrer: '', orders: 0, paidGmv: 0, credited: 0, reversed: 0, net: 0 });

  // On-air intervals per item, contiguous ones merged.
  const onAir = new Map<string, { start: number; end: number | null }[]>();
  for (const iv of intervals) {
    const list = onAir.get(iv.item_id) ?? [];
    const start = new Date(iv.started_at).getTime();
    const end = iv.ended_at === null ? null : new Date(iv.ended_at).getTime();
    const last = list[list.length - 1];
    if (last && last.end === start) last.end = end;
    else list.push({ start, end });
    onAir.set(iv.item_id, list);
  }
  const seconds = (list: { start: number; end: number | null }[]) => Math.round(list.reduce((s, i) => s + ((i.end ?? now) - i.start), 0) / 1000);

  const totalExplain = { onAir: 0, after: 0, before: 0 };
  for (const e of explain.values()) {
    totalExplain.onAir += e.onAir;
    totalExplain.after += e.after;
    totalExplain.before += e.before;
  }
  const metrics = showMetrics(figures, totalExplain);
  const promo = await promotionFigures(db, roomId, show.id);
  metrics.push(...promotionMetrics(promo));

  const titles = new Map(items.map((i) => [i.id, i.title]));
  const roles = new Map<string, ShowReport['products'][number]['role']>();
  for (const r of show.runSheet) if (r.itemId && !roles.has(r.itemId)) roles.set(r.itemId, r.role);
  const itemIds = [...new Set([...items.map((i) => i.id), ...products.keys()])];
  const productRows: ProductRow[] = itemIds.map((itemId) => {
    const p = products.get(itemId) ?? { itemId, placedOrders: 0, orderedGmv: 0, paidOrders: 0, paidGmv: 0, refunds: 0, refunded: 0, buyers: 0, productVisitors: 0 };
    const list = onAir.get(itemId) ?? [];
    return {
      itemId,
      title: titles.get(itemId) ?? `item ${itemId}`,
      role: roles.get(itemId) ?? null,
      onAir: list.map((i) => ({ start: iso(i.start), end: i.end === null ? null : iso(i.end) })),
      onAirSeconds: seconds(list),
      metrics: [...productMetrics(p, figures.uv, explain.get(itemId)), ...itemCouponMetrics(promo, itemId)],
    };
  });

  // Planned against actual: the times the run of show recorded for a row it drove, otherwise
  // the row's item's on-air times. A backup in a main row's place keeps that row's plan.
  const byPosition = new Map(sheet.map((r) => [r.position, r]));
  const schedule: ScheduleRow[] = sheet.map((r) => {
    const main = r.replaces === null ? undefined : byPosition.get(r.replaces);
    const plannedStart = r.plannedStart ?? main?.plannedStart ?? null;
    const plannedEnd = r.plannedEnd ?? main?.plannedEnd ?? null;
    let actualStart: number | null;
    let actualEnd: number | null;
    let onAirSeconds: number;
    if (r.actualStart !== null || r.status !== 'pending') {
      actualStart = r.actualStart;
      actualEnd = r.actualEnd;
      onAirSeconds = actualStart === null ? 0 : Math.round(((actualEnd ?? now) - actualStart) / 1000);
    } else {
      const list = r.itemId ? (onAir.get(r.itemId) ?? []) : [];
      const last = list[list.length - 1];
      actualStart = list[0]?.start ?? null;
      actualEnd = last ? last.end : null;
      onAirSeconds = seconds(list);
    }
    return {
      position: r.position,
      role: r.role,
      title: r.title,
      itemId: r.itemId,
      plannedStart: plannedStart === null ? null : iso(plannedStart),
      plannedEnd: plannedEnd === null ? null : iso(plannedEnd),
      actualStart: actualStart === null ? null : iso(actualStart),
      actualEnd: actualEnd === null ? null : iso(actualEnd),
      plannedSeconds: plannedStart !== null && plannedEnd !== null ? Math.round((plannedEnd - plannedStart) / 1000) : null,
      onAirSeconds,
      startDelaySeconds: actualStart !== null && plannedStart !== null ? Math.round((actualStart - plannedStart) / 1000) : null,
      endDelaySeconds: actualEnd !== null && plannedEnd !== null ? Math.round((actualEnd - plannedEnd) / 1000) : null,
      status: r.status,
      replacedBy: r.replacedBy,
      replaces: r.replaces,
    };
  });

  const allIntervals = [...onAir.values()].flat();
  const actualStart = allIntervals.length ? Math.min(...allIntervals.map((i) => i.start)) : null;
  const stillOn = allIntervals.some((i) => i.end === null);
  const actualEnd = allIntervals.length && !stillOn ? Math.max(...allIntervals.map((i) => i.end!)) : null;

  const [series, lotteries, teams, bargainFigs] = await Promise.all([minuteSeries(db, scope), reportLotteries(db, show.id), teamFigures(db, roomId, show.id), bargainFigures(db, roomId, show.id)]);
  const teamBuys = teamMetrics(teams);
  const bargains = bargainMetrics(bargainFigs);
  const firstData = series[0]?.minute;
  const lastData = series[series.length - 1]?.minute;
  const from = Math.min(show.plannedStart, firstData ?? show.plannedStart);
  const to = Math.max(lastData ?? Number.NEGATIVE_INFINITY, Math.min(show.plannedEnd, now));
  const minutes = to >= from ? await minuteSeries(db, scope, { from, to }) : [];

  const topProducts: TopProduct[] = productRows
    .map((p) => ({
      itemId: p.itemId,
      title: p.title,
      paidGmv: value(p.metrics, 'paid_gmv') as number,
      orderedGmv: value(p.metrics, 'ordered_gmv') as number,
      orders: value(p.metrics, 'orders') as number,
      buyers: value(p.metrics, 'buyers') as number,
    }))
    .filter((p) => p.orderedGmv > 0 || p.paidGmv > 0)
    .sort((a, b) => b.paidGmv - a.paidGmv || b.orderedGmv - a.orderedGmv || (a.itemId < b.itemId ? -1 : 1))
    .slice(0, 5)
    .map((p, i) => ({ rank: i + 1, ...p }));

  const used = new Set<MetricName>([...metrics.map((m) => m.metric), ...teamBuys.map((m) => m.metric), ...bargains.map((m) => m.metric), ...referrerMetrics(referralTotal).map((m) => m.metric), ...productRows.flatMap((p) => p.metrics.map((m) => m.metric)), ...minutes.flatMap((m) => minuteMetrics(m).map((x) => x.metric))]);
  return {
    show: {
      id: show.id,
      roomId,
      title: show.title,
      hostId: show.hostId,
      plannedStart: iso(show.plannedStart),
      plannedEnd: iso(show.plannedEnd),
      state: show.state,
      startedAt: show.startedAt === null ? null : iso(show.startedAt),
      endedAt: show.endedAt === null ? null : iso(show.endedAt),
      actualStart: actualStart === null ? null : iso(actualStart),
      actualEnd: actualEnd === null ? null : iso(actualEnd),
    },
    asOf: iso(now),
    metrics,
    products: productRows,
    minutes: minutes.map((m) => ({ minute: iso(m.minute), metrics: minuteMetrics(m) })),
    schedule,
    topProducts,
    lotteries,
    referrers,
    referralTotals: referrerMetrics(referralTotal),
    segments,
    teamBuys,
    bargains,
    dictionary: [...used].map((metric) => {
      const d = metricDictionary[metric];
      return { metric, unit: d.unit, version: d.version, definition: d.definition };
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// CSV

export const csvParts = ['summary', 'products', 'minutes', 'schedule', 'top', 'lotteries', 'referrers', 'segments'] as const;
export type CsvPart = (typeof csvParts)[number];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? String(v) : String(v);
  // A text cell starting like a formula would run in a spreadsheet.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;
}

function metricColumns(rows: { metrics: MetricValue[] }[]): MetricName[] {
  const names: MetricName[] = [];
  for (const r of rows) for (const m of r.metrics) if (!names.includes(m.metric)) names.push(m.metric);
  return names;
}

/** One part of the report as CSV (RFC 4180, CRLF). Money in fen, ratios as fractions, times ISO-8601 UTC. */
export function reportCsv(r: ShowReport, part: CsvPart): string {
  switch (part) {
    case 'summary':
      return csv(
        ['metric', 'value', 'unit', 'version', 'definition'],
        [...r.metrics, ...r.teamBuys, ...r.bargains].map((m) => [m.metric, m.value, m.unit, m.version, metricDictionary[m.metric].definition]),
      );
    case 'products': {
      const cols = metricColumns(r.products);
      return csv(
        ['item_id', 'title', 'role', 'first_on_air', 'on_air_seconds', ...cols],
        r.products.map((p) => [p.itemId, p.title, p.role, p.onAir[0]?.start ?? null, p.onAirSeconds, ...cols.map((c) => p.metrics.find((m) => m.metric === c)?.value ?? null)]),
      );
    }
    case 'minutes': {
      const cols = metricColumns(r.minutes);
      return csv(['minute', ...cols], r.minutes.map((m) => [m.minute, ...cols.map((c) => m.metrics.find((x) => x.metric === c)?.value ?? null)]));
    }
    case 'schedule':
      return csv(
        ['position', 'role', 'title', 'item_id', 'status', 'replaced_by', 'replaces', 'planned_start', 'planned_end', 'actual_start', 'actual_end', 'planned_seconds', 'on_air_seconds', 'start_delay_seconds', 'end_delay_seconds'],
        r.schedule.map((s) => [s.position, s.role, s.title, s.itemId, s.status, s.replacedBy, s.replaces, s.plannedStart, s.plannedEnd, s.actualStart, s.actualEnd, s.plannedSeconds, s.onAirSeconds, s.startDelaySeconds, s.endDelaySeconds]),
      );
    case 'top':
      return csv(
        ['rank', 'item_id', 'title', 'paid_gmv', 'ordered_gmv', 'orders', 'buyers'],
        r.topProducts.map((t) => [t.rank, t.itemId, t.title, t.paidGmv, t.orderedGmv, t.orders, t.buyers]),
      );
    case 'lotteries':
      return csv(
        ['lottery_id', 'title', 'prize', 'state', 'winners_asked', 'entrants', 'winners', 'claimed', 'commitment', 'seed', 'entrants_hash'],
        r.lotteries.map((l) => [
          l.id,
          l.title,
          l.prize.kind === 'item' ? `item ${l.prize.itemId}` : `coupon: ${l.prize.title}`,
          l.state,
          l.winnersAsked,
          l.entrants,
          l.winners.map((w) => w.userId).join(' '),
          l.winners.filter((w) => w.claim === 'claimed').length,
          l.commitment,
          l.seed,
          l.entrantsHash,
        ]),
      );
    case 'referrers': {
      const cols = metricColumns(r.referrers);
      return csv(['referrer', ...cols], r.referrers.map((x) => [x.referrer, ...cols.map((c) => x.metrics.find((m) => m.metric === c)?.value ?? null)]));
    }
    case 'segments':
      return csv(['dimension', 'value', 'shoppers'], segmentRows(r.segments));
  }
}

/** Segment sizes as (dimension, value, shoppers) rows: each stage, then each R, F and M score. */
function segmentRows(s: SegmentSizes): [string, string, number][] {
  const rows: [string, string, number][] = Object.entries(s.stages).map(([stage, n]) => ['stage', stage, n]);
  for (const dim of ['r', 'f', 'm'] as const) {
    s[dim].forEach((n, i) => {
      rows.push([dim, String(i + 1), n]);
    });
  }
  return rows;
}

export function parseCsvPart(v: string | null): CsvPart {
  const part = v ?? 'products';
  if (!(csvParts as readonly string[]).includes(part)) throw new LivesaleError('INVALID_ARGUMENT', `part must be one of ${csvParts.join(', ')}`);
  return part as CsvPart;
}

// ---------------------------------------------------------------------------------------------
// Text

export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
}

function show(m: MetricValue | undefined): string {
  if (!m || m.value === null) return '—';
  switch (m.unit) {
    case 'fen':
      return yuan(m.value);
    case 'ratio':
      return `${(m.value * 100).toFixed(1)}%`;
    case 'seconds':
      return `${m.value.toFixed(1)} s`;
    default:
      return m.value.toLocaleString('en-US');
  }
}

function table(header: string[], rows: string[][], right: boolean[] = []): string {
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1), 0);
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const pad = (s: string, i: number) => (right[i] ? ' '.repeat(widths[i]! - width(s)) + s : s + ' '.repeat(widths[i]! - width(s)));
  const line = (r: string[]) => r.map((c, i) => pad(c, i)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const hm = (isoTime: string | null) => (isoTime ? isoTime.slice(11, 16) : '—');
const mss = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;

/** The report as readable tables (the command line). */
export function reportText(r: ShowReport): string {
  const out: string[] = [];
  const s = r.show;
  out.push(`Show ${s.id} · ${s.title} · room ${s.roomId} · host ${s.hostId} · ${s.state}${s.startedAt ? ` (live ${hm(s.startedAt)} → ${s.endedAt ? hm(s.endedAt) : 'now'})` : ''}`);
  out.push(`planned ${s.plannedStart.slice(0, 16).replace('T', ' ')} → ${s.plannedEnd.slice(0, 16).replace('T', ' ')} UTC · on air ${hm(s.actualStart)} → ${s.actualStart && !s.actualEnd ? 'now' : hm(s.actualEnd)} · as of ${r.asOf.slice(0, 19).replace('T', ' ')} UTC`);
  out.push('');
  out.push('Summary');
  out.push(table(['metric', 'value', 'v'], r.metrics.map((m) => [m.metric, show(m), String(m.version)]), [false, true, true]));
  out.push('');
  out.push('Products');
  const pcols: MetricName[] = ['ordered_gmv', 'placed_orders', 'paid_gmv', 'orders', 'buyers', 'refunded', 'product_visitors', 'click_conversion', 'order_conversion', 'explain_gmv_on_air', 'explain_gmv_after'];
  out.push(
    table(
      ['item', 'title', 'role', 'on air m:s', ...pcols],
      r.products.map((p) => [p.itemId, p.title.length > 28 ? `${p.title.slice(0, 27)}…` : p.title, p.role ?? '', mss(p.onAirSeconds), ...pcols.map((c) => show(p.metrics.find((m) => m.metric === c)))]),
      [false, false, false, true, ...pcols.map(() => true)],
    ),
  );
  out.push('');
  out.push('Run sheet: planned vs actual (UTC)');
  out.push(
    table(
      ['#', 'role', 'title', 'item', 'status', 'planned', 'actual', 'on air m:s', 'delay'],
      r.schedule.map((x) => [
        String(x.position),
        x.role,
        x.title.length > 28 ? `${x.title.slice(0, 27)}…` : x.title,
        x.itemId ?? '',
        x.replacedBy !== null ? `replaced by #${x.replacedBy}` : x.replaces !== null ? `${x.status.replace('_', ' ')}, in #${x.replaces}` : x.status.replace('_', ' '),
        x.plannedStart ? `${hm(x.plannedStart)}–${hm(x.plannedEnd)}` : '—',
        x.actualStart ? `${hm(x.actualStart)}–${x.actualEnd ? hm(x.actualEnd) : 'now'}` : '—',
        mss(x.onAirSeconds),
        x.startDelaySeconds === null ? '—' : `${x.startDelaySeconds >= 0 ? '+' : ''}${Math.round(x.startDelaySeconds / 60)} min`,
      ]),
      [true, false, false, false, false, false, false, true, true],
    ),
  );
  out.push('');
  out.push('Top products (by paid GMV)');
  out.push(
    r.topProducts.length
      ? table(['rank', 'item', 'title', 'paid_gmv', 'ordered_gmv', 'orders', 'buyers'], r.topProducts.map((t) => [String(t.rank), t.itemId, t.title, yuan(t.paidGmv), yuan(t.orderedGmv), String(t.orders), String(t.buyers)]), [true, false, false, true, true, true, true])
      : '(no orders yet)',
  );
  out.push('');
  out.push('Lotteries');
  out.push(
    r.lotteries.length
      ? r.lotteries
          .map((l) =>
            [
              `  #${l.id} ${l.title} · ${l.prize.kind === 'item' ? `item ${l.prize.itemId}` : `coupon: ${l.prize.title}`} · ${l.state} · ${l.entrants} entrants · ${l.winners.length}/${l.winnersAsked} winners`,
              `    commitment ${l.commitment}`,
              `    seed       ${l.seed ?? '(secret until the draw)'}`,
              ...(l.winners.length ? [`    winners    ${l.winners.map((w) => `${w.rank}. ${w.userId} (${w.claim})`).join(', ')}`] : []),
            ].join('\n'),
          )
          .join('\n')
      : '(no lotteries)',
  );
  out.push('');
  out.push('Referral commissions per referrer');
  const rcols: MetricName[] = ['referral_orders', 'referral_paid_gmv', 'commission_credited', 'commission_reversed', 'commission_net'];
  const rrow = (name: string, ms: MetricValue[]) => [name, ...rcols.map((c) => show(ms.find((m) => m.metric === c)))];
  out.push(
    r.referrers.length
      ? table(['referrer', ...rcols], [...r.referrers.map((x) => rrow(x.referrer, x.metrics)), rrow('(all)', r.referralTotals)], [false, ...rcols.map(() => true)])
      : '(no attributed orders)',
  );
  out.push('');
  out.push(`Shopper segments of the room's buyers (${r.segments.shoppers})`);
  const sg = r.segments;
  out.push(`  stages  new ${sg.stages.new} · active ${sg.stages.active} · dormant ${sg.stages.dormant} · churned ${sg.stages.churned}`);
  out.push(`  R 1-5   ${sg.r.join(' / ')}`);
  out.push(`  F 1-5   ${sg.f.join(' / ')}`);
  out.push(`  M 1-5   ${sg.m.join(' / ')}`);
  out.push('');
  out.push('Team buys');
  const team = (name: MetricName) => r.teamBuys.find((m) => m.metric === name)?.value ?? 0;
  out.push(
    team('teams_opened')
      ? `  ${team('teams_opened')} opened · ${team('teams_formed')} formed · ${team('teams_failed')} failed · ${yuan(team('team_refunded'))} refunded to members of failed teams`
      : '(no team buys)',
  );
  out.push('');
  out.push('Bargains');
  const bargain = (name: MetricName) => r.bargains.find((m) => m.metric === name)?.value ?? 0;
  out.push(bargain('bargains_started') ? `  ${bargain('bargains_started')} started · ${bargain('bargains_helped')} helps · ${bargain('bargains_bought')} bought` : '(no bargains)');
  out.push('');
  out.push('Per minute (UTC; minutes with activity)');
  const active = r.minutes.filter((m) => m.metrics.some((x) => x.value));
  const mcols: MetricName[] = ['ordered_gmv', 'placed_orders', 'paid_gmv', 'orders', 'buyers', 'uv', 'pv', 'online', 'peak_online', 'product_visitors', 'new_followers'];
  out.push(
    active.length
      ? table(['minute', ...mcols], active.map((m) => [m.minute.slice(11, 16), ...mcols.map((c) => show(m.metrics.find((x) => x.metric === c)))]), [false, ...mcols.map(() => true)])
      : '(no activity yet)',
  );
  out.push('');
  out.push('Metric definitions');
  for (const d of r.dictionary) out.push(`  ${d.metric} (v${d.version}, ${d.unit}): ${d.definition}`);
  return `${out.join('\n')}\n`;
}
