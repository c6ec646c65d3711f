/// <reference lib="dom" />
/**
 * The ops dashboard: live GMV (ordered, paid, net), orders, viewers online and peak, a per-minute
 * chart, the conversion funnel, the per-product table, the run-sheet drift, the review report
 * with CSV download, the marketing figures (team buys, bargains, coupons, member-day discount,
 * referral commissions per referrer, the buyers' lifecycle segments), and how far the ledger is
 * behind. The one thing it changes is a shopper's member tier. Served at /web/ops.html.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './ui/marketing.css';
import type { RunOfShowFrame, ServerFrame } from '../common/contracts/protocol.ts';
import { clock, connLine, drift, errorText, header, html, LiveRoom, pageToken, pageUser, query, render, t, time, toast, tokenRole, yuan } from './ui/core.ts';
import { type MarketingReport, marketing } from './ui/ops-marketing.ts';
import type { StringKey } from './ui/strings-zh.ts';

/** The parts of the review report (GET /shows/:id/report) this page reads. */
interface Metric {
  metric: string;
  value: number;
}
interface Report extends MarketingReport {
  show: { id: string; title: string };
  asOf: string;
  metrics: Metric[];
  products: { itemId: string; title: string; onAirSeconds: number; metrics: Metric[] }[];
  minutes: { minute: string; metrics: Metric[] }[];
}
interface Ready {
  ready: boolean;
  lag?: { seconds: number; events: number; outbox: number; kafka: number | null };
}

const root = document.getElementById('app')!;
const roomId = query('room');
const user = pageUser('ops');
let live: LiveRoom | undefined;
let role: string | undefined;
let showId: string | undefined;
let report: Report | undefined;
/** The newest pushed figures (faster than the report). */
let pushed: Metric[] | undefined;
let ready: Ready | undefined;
let run: RunOfShowFrame | undefined;
let chart: uPlot | undefined;
let lastRead = 0;

const val = (ms: Metric[] | undefined, name: string): number => ms?.find((m) => m.metric === name)?.value ?? 0;

async function refresh(): Promise<void> {
  if (!live || !roomId) return;
  lastRead = Date.now();
  try {
    if (!showId) showId = ((await live.http.request('GET', `/rooms/${roomId}/show`)).body as { show?: { id: string } })?.show?.id;
    if (showId) {
      const r = await live.http.request('GET', `/shows/${showId}/report`);
      if (r.status === 200) report = r.body as Report;
    }
    ready = (await live.http.request('GET', '/readyz')).body as Ready;
    if (!ready.lag) {
      // /readyz leaves the ledger out when READY_PIPELINE is off: the gauges on /metrics have it.
      const text = String((await live.http.request('GET', '/metrics')).body ?? '');
      const gauge = (name: string) => text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm'))?.[1];
      const seconds = gauge('livesale_ledger_lag_seconds');
      const events = gauge('livesale_ledger_lag_events');
      if (seconds !== undefined && events !== undefined) ready.lag = { seconds: Number(seconds), events: Number(events), outbox: 0, kafka: null };
    }
  } catch {
    /* shown as it was; the next round tries again */
  }
  draw();
}

async function downloadCsv(part: string): Promise<void> {
  if (!showId || !live) return;
  const res = await fetch(`/shows/${showId}/report?format=csv&part=${part}`, { headers: { authorization: `Bearer ${live.token}` } });
  if (!res.ok) return toast(t('ops.csvFailed'), 'bad');
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `show-${showId}-${part}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function updateChart(): void {
  const box = document.getElementById('chart');
  if (!box || !report) return;
  const mins = report.minutes;
  const data: uPlot.AlignedData = [
    mins.map((m) => Date.parse(m.minute) / 1000),
    mins.map((m) => val(m.metrics, 'ordered_gmv') / 100),
    mins.map((m) => val(m.metrics, 'paid_gmv') / 100),
    mins.map((m) => val(m.metrics, 'placed_orders')),
  ];
  box.dataset.points = String(mins.length);
  if (!chart) {
    chart = new uPlot(
      {
        width: Math.min(760, box.clientWidth || 760),
        height: 220,
        title: t('ops.chart'),
        series: [
          {},
          { label: t('ops.orderedGmv'), stroke: '#c2410c', width: 2, scale: 'yuan', value: (_u, v) => (v === null ? '—' : `¥${v.toFixed(2)}`) },
          { label: t('ops.paidGmv'), stroke: '#15803d', width: 2, dash: [6, 3], scale: 'yuan', value: (_u, v) => (v === null ? '—' : `¥${v.toFixed(2)}`) },
          { label: t('ops.placed'), stroke: '#1d4ed8', width: 1, points: { show: true }, scale: 'n' },
        ],
        // A minute either side, so a show's first minutes read as minutes, not years.
        scales: { x: { time: true, auto: false } },
        axes: [{}, { scale: 'yuan', label: '¥' }, { scale: 'n', side: 1, grid: { show: false } }],
      },
      data,
      box,
    );
  } else chart.setData(data);
  const xs = data[0] as number[];
  if (xs.length) chart.setScale('x', { min: xs[0]! - 60, max: xs[xs.length - 1]! + 60 });
}

function funnel() {
  const ms = report?.metrics;
  const steps: [StringKey, number][] = [
    ['ops.uv', val(ms, 'uv')],
    ['ops.visitors', val(ms, 'product_visitors')],
    ['ops.buyers', val(ms, 'buyers')],
    ['ops.paidOrders', val(ms, 'orders')],
  ];
  const top = Math.max(1, steps[0]![1]);
  return html`<section class="panel" aria-label=${t('ops.funnel')}><h2>${t('ops.funnel')}</h2>
    <ol class="funnel">${steps.map(([k, n], i) => html`<li><span class="funnel-label">${t(k)}</span>
      <span class="bar" style=${`width:${Math.min(100, Math.max(2, Math.round((n / top) * 100)))}%`}></span>
      <span>${n}${i ? ` (${steps[i - 1]![1] ? `${Math.round((n / steps[i - 1]![1]) * 100)}%` : '—'})` : ''}</span></li>`)}</ol></section>`;
}

function products() {
  const rows = report?.products ?? [];
  return html`<section class="panel" aria-label=${t('ops.products')}><h2>${t('ops.products')}</h2>
    <table class="products"><thead><tr><th>${t('ops.item')}</th><th>${t('ops.orderedGmv')}</th><th>${t('ops.paidGmv')}</th><th>${t('ops.placed')}</th><th>${t('ops.paidOrders')}</th><th>${t('ops.onAirTime')}</th></tr></thead>
    <tbody>${rows.map((p) => html`<tr data-item=${p.itemId}><td>${p.title}</td><td>${yuan(val(p.metrics, 'ordered_gmv'))}</td><td>${yuan(val(p.metrics, 'paid_gmv'))}</td><td>${val(p.metrics, 'placed_orders')}</td><td>${val(p.metrics, 'orders')}</td><td>${clock(p.onAirSeconds * 1000)}</td></tr>`)}</tbody></table></section>`;
}

function draw(): void {
  const ms = pushed ?? report?.metrics;
  const viewers = live?.socket?.viewers;
  const lag = ready?.lag;
  render(
    html`${header(t('ops.title'), draw)}
    <main class="ops">
      ${connLine(live?.state ?? { kind: 'connecting' })}
      ${!roomId ? html`<p class="status bad" role="alert">${t('conn.noRoomGiven')}</p>` : ''}
      ${role && role !== 'ops' ? html`<p class="status bad" role="alert">${t('ops.notOps')}</p>` : ''}
      <section class="tiles" aria-label=${t('ops.live')}>
        <div class="tile"><div class="muted">${t('ops.orderedGmv')}</div><div class="big" id="gmv-ordered">${yuan(val(ms, 'ordered_gmv'))}</div></div>
        <div class="tile"><div class="muted">${t('ops.paidGmv')}</div><div class="big" id="gmv-paid">${yuan(val(ms, 'paid_gmv'))}</div></div>
        <div class="tile"><div class="muted">${t('ops.netGmv')}</div><div class="big" id="gmv-net">${yuan(val(ms, 'net_paid_gmv'))}</div></div>
        <div class="tile"><div class="muted">${t('ops.orders')}</div><div class="big" id="orders">${t('ops.ordersValue', { placed: val(ms, 'placed_orders'), paid: val(ms, 'orders') })}</div></div>
        <div class="tile"><div class="muted">${t('ops.viewers')}</div><div class="big" id="viewers">${viewers ? t('ops.viewersValue', { online: viewers.online, peak: viewers.peak }) : '—'}</div></div>
        <div class="tile"><div class="muted">${t('ops.lag')}</div><div class="big" id="lag">${lag ? t('ops.lagValue', { s: lag.seconds.toFixed(1), n: lag.events }) : ready ? t('ops.lagUnknown') : '—'}</div>
          <div class="muted">${ready ? (ready.ready ? `✓ ${t('ops.ready')}` : `⚠ ${t('ops.notReady')}`) : ''}</div></div>
      </section>
      <section class="panel" aria-label=${t('ops.chart')}><div id="chart"></div></section>
      <section class="panel" aria-label=${t('run.title')}><h2>${t('run.title')}</h2>
        ${run ? html`<p>${t('run.current')} <strong>${run.current ? `#${run.current.position} ${run.current.title}` : t('run.nothing')}</strong> · ${t('run.next')} ${run.next ? `#${run.next.position} ${run.next.title}` : t('run.end')} · <strong id="drift">${t('run.drift', { d: drift(run.driftMs) })}</strong></p>
          <ol class="slots">${run.slots.map((s) => html`<li class=${`slot ${s.status}`}><span class="slot-status">${t(`slot.${s.status}` as StringKey)}</span> #${s.position} ${s.title} <span class="muted">${t('run.slotDrift', { start: drift(s.startDriftMs), end: drift(s.endDriftMs) })}</span></li>`)}</ol>` : html`<p class="muted">${t('run.none')}</p>`}
      </section>
      ${funnel()}
      ${products()}
      ${marketing(report, live?.http, draw)}
      <section class="panel" aria-label=${t('ops.report')}><h2>${t('ops.report')}</h2>
        <p class="muted">${report ? t('ops.asOf', { at: time(Date.parse(report.asOf)), title: report.show.title }) : t('ops.noShow')}</p>
        ${['products', 'summary', 'minutes', 'schedule', 'lotteries'].map((part) => html`<button type="button" ?disabled=${!showId} @click=${() => void downloadCsv(part)}>${t('ops.csv', { part: t(`csv.${part}` as StringKey) })}</button> `)}
      </section>
      <p class="muted">${t('host.you', { user, role: role ?? '…', version: live?.socket?.view?.version ?? '—' })}</p>
    </main>`,
    root,
  );
  updateChart();
}

async function main(): Promise<void> {
  draw();
  if (!roomId) return;
  const token = await pageToken('ops', user);
  role = tokenRole(token);
  live = new LiveRoom(roomId, token, (f?: ServerFrame) => {
    if (f?.type === 'stats') {
      pushed = (f as unknown as { metrics?: Metric[] }).metrics ?? pushed;
      if (Date.now() - lastRead > 1000) void refresh();
    }
    if (f?.type === 'run_of_show') run = f;
    if (f === undefined) void refresh();
    draw();
  });
  await live.start();
}

setInterval(() => void refresh(), 3000);
setInterval(draw, 1000);
void main().catch((err) => toast(errorText(err), 'bad'));
