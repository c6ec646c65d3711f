/// <reference lib="dom" />
/**
 * The host console: the run sheet as the spine (slot on air with its countdown, next, backup swap,
 * drift), the item on air pinned, search and filter over the items, price (in yuan, confirmed on
 * a big drop), stock set to any amount, sale windows, tiered groups, each flash-sale item's
 * marketing offers with its live team progress (web/ui/offers.ts), lotteries, announcements and
 * the audit log. Served at /web/host.html.
 */
import type { CommandResult, ItemInfo, LotteryEligibility, RoomView, RunOfShow, ServerFrame } from '../common/contracts/protocol.ts';
import { effectivePrice } from '../common/contracts/room-view.ts';
import { repeat } from 'lit-html/directives/repeat.js';
import { type AuditEntryReply, ApiError, type CommandInput } from './client.ts';
import { offersPanel, trackTeam } from './ui/offers.ts';
import './ui/marketing.css';
import { clock, confirmBox, connLine, drift, errorText, header, html, LiveRoom, newKey, pageToken, pageUser, parseYuan, query, render, serverNow, t, time, toast, tokenRole, yuan } from './ui/core.ts';
import type { StringKey } from './ui/strings-zh.ts';

/** A price cut of more than this share of the current price asks for confirmation. */
const bigDropShare = 0.3;

const root = document.getElementById('app')!;
const roomId = query('room');
const asRole = query('as') === 'ops' ? 'ops' : 'host';
const user = pageUser(asRole);
let live: LiveRoom | undefined;
let role: string | undefined;
let showId: string | undefined;
let run: RunOfShow | undefined;
/** Local time the run of show arrived, to count its time left down between pushes. */
let runAt = 0;
let audit: AuditEntryReply[] = [];
let search = '';
let filter = 'all';
let notice: string | undefined;
const busy = new Set<string>();
const intents = new Map<string, string>();
const entrants = new Map<string, number>();

function track(f?: ServerFrame): void {
  if (f?.type === 'run_of_show') {
    run = f;
    runAt = Date.now();
  }
  const deltas = f?.type === 'delta' ? [f.d] : f?.type === 'deltas' || f?.type === 'catchup' ? f.items.map((e) => e.d) : [];
  for (const d of deltas) {
    if (d.t === 'lotteryEntries') entrants.set(d.lottery, d.entrants);
    trackTeam(d);
  }
}

async function refreshAudit(): Promise<void> {
  if (!live || !roomId) return;
  try {
    audit = await live.http.audit(roomId, 30);
  } catch {
    /* kept as it was */
  }
  draw();
}

async function refreshRun(): Promise<void> {
  if (!live || !roomId) return;
  try {
    if (!showId) showId = ((await live.http.request('GET', `/rooms/${roomId}/show`)).body as { show?: { id: string } })?.show?.id;
    if (showId) {
      run = await live.http.runOfShow(showId);
      runAt = Date.now();
    }
  } catch {
    /* no show yet */
  }
  draw();
}

/**
 * Runs one host command: one idempotency key per intent (kept for its retries), based on the
 * version this console shows. A stale version is refused: the view is already the fresh one, and
 * the console says so. An ops user confirms every command. A form that says refusals itself
 * passes `refused`, which gets the refusal as a person reads it.
 */
async function command(intent: string, cmd: CommandInput, done?: (r: CommandResult) => void, refused?: (message: string) => void): Promise<void> {
  if (busy.has(intent)) return;
  if (role === 'ops' && !(await confirmBox(t('host.opsConfirm', { command: t(`cmd.${cmd.command}` as StringKey) })))) return;
  busy.add(intent);
  draw();
  let key = intents.get(intent);
  if (!key) intents.set(intent, (key = newKey(cmd.command)));
  try {
    const r = await live!.socket!.command(cmd, { idempotencyKey: key });
    intents.delete(intent);
    notice = undefined;
    toast(t('host.applied', { command: t(`cmd.${cmd.command}` as StringKey) }));
    done?.(r);
  } catch (err) {
    if (!(err instanceof Error && /socket closed/.test(err.message))) intents.delete(intent);
    if (err instanceof ApiError && err.code === 'CONFLICT') {
      notice = t('host.conflict');
      toast(notice, 'bad');
      refused?.(notice);
    } else {
      toast(errorText(err), 'bad');
      refused?.(errorText(err));
    }
  } finally {
    busy.delete(intent);
    void refreshAudit();
    if (['next', 'skip', 'swap'].includes(cmd.command)) void refreshRun();
    draw();
  }
}

/** Starts (planned → live) or ends (live → ended) the room's show; ending asks first. */
async function showTransition(kind: 'start' | 'end'): Promise<void> {
  if (!live || !showId || busy.has(`show-${kind}`)) return;
  if (kind === 'end' && !(await confirmBox(t('show.endConfirm', { title: showId })))) return;
  busy.add(`show-${kind}`);
  draw();
  try {
    const r = await live.http.request('POST', `/shows/${showId}/${kind}`, {});
    if (r.status >= 300) {
      const e = (r.body as { error?: { code?: string; message?: string } })?.error;
      throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? `the show did not ${kind}`);
    }
    toast(t(kind === 'start' ? 'show.started' : 'show.ended.toast'));
  } catch (err) {
    toast(errorText(err), 'bad');
  } finally {
    busy.delete(`show-${kind}`);
    await refreshRun();
  }
}

const field = (form: HTMLFormElement, name: string): string => String(new FormData(form).get(name) ?? '').trim();
const minutes = (s: string, dflt: number): number => {
  const n = Number(s || dflt);
  return Number.isFinite(n) && n > 0 ? Math.round(n * 60_000) : dflt * 60_000;
};

async function changePrice(it: ItemInfo, input: HTMLInputElement): Promise<void> {
  const price = parseYuan(input.value);
  if (price === undefined) return toast(t('host.badYuan'), 'bad');
  const now = effectivePrice(it, serverNow());
  if (price < now * (1 - bigDropShare) && !(await confirmBox(t('host.bigDrop', { from: yuan(now), to: yuan(price), pct: Math.round((1 - price / now) * 100) })))) return;
  await command(`price-${it.id}-${price}`, { command: 'setPrice', itemId: it.id, price }, () => (input.value = ''));
}

async function setStock(v: RoomView, it: ItemInfo, input: HTMLInputElement): Promise<void> {
  const target = Number(input.value);
  if (!Number.isInteger(target) || target < 0) return toast(t('host.badStock'), 'bad');
  const delta = target - (v.stock[it.id]?.available ?? 0);
  if (delta === 0) return toast(t('host.stockSame'));
  await command(`stock-${it.id}-${target}`, { command: 'adjustStock', itemId: it.id, delta }, () => (input.value = ''));
}

function phase(v: RoomView, it: ItemInfo, now: number): string {
  if (it.closed) return 'closed';
  if (now >= it.endsAt) return 'ended';
  if (now < it.startsAt) return 'preheat';
  if ((v.stock[it.id]?.available ?? 1) <= 0) return 'soldout';
  return 'live';
}

function phaseText(v: RoomView, it: ItemInfo, now: number): string {
  const p = phase(v, it, now);
  if (p === 'preheat') return t('phase.preheat', { left: clock(it.startsAt - now) });
  if (p === 'live') return t('phase.live', { left: clock(it.endsAt - now) });
  return t(`phase.${p}` as StringKey);
}

function itemRow(v: RoomView, it: ItemInfo) {
  const now = serverNow();
  const onAir = v.doc.onAir === it.id;
  const p = phase(v, it, now);
  const g = v.groups[it.id];
  const price = it.kind === 'group' ? (g?.price ?? it.price) : effectivePrice(it, now);
  const id = (s: string) => `${s}-${it.id}`;
  return html`<li class=${`row ${onAir ? 'onair' : ''}`} data-item=${it.id}>
    <div class="row-head"><strong>${it.title}</strong>${onAir ? html` <span class="badge">${t('onair')}</span>` : ''}
      <span class="price">${yuan(price)}</span>
      <span class="muted">${t('stock.left', { n: v.stock[it.id]?.available ?? 0, total: it.total })} · ${phaseText(v, it, now)}</span></div>
    ${it.kind === 'group' && it.tiers ? ladder(v, it) : ''}
    <div class="row-actions">
      <button type="button" @click=${() => command(`onair-${it.id}-${onAir}`, { command: 'onAir', itemId: onAir ? null : it.id })}>${onAir ? t('host.offAir') : t('host.onAir')}</button>
      ${
        it.kind === 'flash'
          ? html`<label>${t('host.newPrice')} <input id=${id('price')} inputmode="decimal" size="7" placeholder=${(effectivePrice(it, now) / 100).toFixed(2)}
                @keydown=${(e: KeyboardEvent) => e.key === 'Enter' && void changePrice(it, e.target as HTMLInputElement)}></label>
              <button type="button" @click=${() => changePrice(it, document.getElementById(id('price')) as HTMLInputElement)}>${t('host.setPrice')}</button>`
          : ''
      }
      <label>${t('host.stockTo')} <input id=${id('stock')} inputmode="numeric" size="5" placeholder=${String(v.stock[it.id]?.available ?? 0)}></label>
      <button type="button" @click=${() => setStock(v, it, document.getElementById(id('stock')) as HTMLInputElement)}>${t('host.setStock')}</button>
      ${
        it.kind === 'flash'
          ? html`<label>${t('host.window')} <input id=${id('window')} inputmode="numeric" size="3" value="10"></label>
              <button type="button" @click=${() => {
                const ms = minutes((document.getElementById(id('window')) as HTMLInputElement).value, 10);
                void command(`open-${it.id}-${it.endsAt}`, { command: 'openSale', itemId: it.id, endsAt: serverNow() + ms });
              }}>${p === 'live' ? t('host.extendSale') : p === 'preheat' ? t('host.openSale') : t('host.reopenSale')}</button>
              <button type="button" ?disabled=${p !== 'live' && p !== 'soldout'} @click=${() => command(`close-${it.id}-${it.endsAt}`, { command: 'closeSale', itemId: it.id })}>${t('host.closeSale')}</button>`
          : it.closed
            ? ''
            : html`<button type="button" @click=${() => command(`closegroup-${it.id}`, { command: 'closeGroup', itemId: it.id })}>${t('host.closeGroup')}</button>`
      }
      <button type="button" @click=${() => command(`delist-${it.id}`, { command: 'delist', itemId: it.id })}>${t('host.delist')}</button>
    </div>
    ${it.kind === 'flash' ? offersPanel(it, offerDeps) : ''}</li>`;
}

const offerDeps = { command, redraw: () => draw() };

function ladder(v: RoomView, it: ItemInfo) {
  const g = v.groups[it.id];
  const count = g?.count ?? 0;
  const top = it.tiers![it.tiers!.length - 1]!.threshold;
  return html`<div class="tiers"><progress max=${top} .value=${Math.min(count, top)} aria-label=${t('tier.progress')}></progress>
    <ol class="ladder">${it.tiers!.map((x) => html`<li class=${count >= x.threshold ? 'reached' : ''}>${count >= x.threshold ? '✓ ' : ''}${t('tier.step', { n: x.threshold, price: yuan(x.price) })}</li>`)}</ol>
    <div class="muted">${t('tier.now', { count, price: yuan(g?.price ?? it.price) })}${it.closed ? ` · ${t(`group.${it.closed.outcome}` as StringKey)}` : ''}</div></div>`;
}

function runSheet() {
  if (!run) return html`<section class="run" aria-label=${t('run.title')}><h2>${t('run.title')}</h2><p class="muted">${t('run.none')}</p></section>`;
  const cur = run.current;
  const left = cur?.timeLeftMs === null || cur === null ? null : cur.timeLeftMs - (Date.now() - runAt);
  const backups = run.rows.filter((r) => r.role === 'backup' && r.status === 'pending');
  return html`<section class="run" aria-label=${t('run.title')}>
    <h2>${t('run.title')} <span class="muted">${t(`show.${run.state}` as StringKey)} · ${t('run.drift', { d: drift(run.driftMs) })}</span>
      ${run.state === 'planned' ? html`<button type="button" class="primary show-start" ?disabled=${busy.has('show-start')} @click=${() => void showTransition('start')}>${t('show.start')}</button>` : ''}
      ${run.state === 'live' ? html`<button type="button" class="show-end" ?disabled=${busy.has('show-end')} @click=${() => void showTransition('end')}>${t('show.end')}</button>` : ''}</h2>
    <div class="run-now">
      <div><span class="muted">${t('run.current')}</span> <strong class="run-current">${cur ? `#${cur.position} ${cur.title}` : t('run.nothing')}</strong>
        ${left === null ? '' : html` · <span role="timer" class=${left < 0 ? 'over' : ''}>${left < 0 ? t('run.over', { t: clock(-left) }) : t('run.left', { t: clock(left) })}</span>`}</div>
      <div><span class="muted">${t('run.next')}</span> <strong class="run-next">${run.next ? `#${run.next.position} ${run.next.title}` : t('run.end')}</strong></div>
      <button type="button" class="primary" ?disabled=${run.state !== 'live' || busy.has('next')} @click=${() => command(`next-${cur?.position ?? 0}`, { command: 'next' })}>${t('run.nextBtn')}</button>
    </div>
    <ol class="slots">${run.slots.map(
      (s) => html`<li class=${`slot ${s.status}`}><span class="slot-status">${t(`slot.${s.status}` as StringKey)}</span> #${s.position} ${s.title}${s.replacedBy === null ? '' : html` <span class="muted">${t('run.backupOf', { n: s.replacedBy })}</span>`}
        <span class="muted">${t('run.slotDrift', { start: drift(s.startDriftMs), end: drift(s.endDriftMs) })}</span>
        ${s.status === 'pending' ? html`<button type="button" class="small" @click=${() => command(`skip-${s.position}`, { command: 'skip', position: s.position })}>${t('run.skip')}</button>` : ''}
        ${
          (s.status === 'pending' || s.status === 'on_air') && backups.length
            ? html`<label class="small">${t('run.swapWith')} <select id=${`swap-${s.position}`}>${backups.map((b) => html`<option value=${b.position}>#${b.position} ${b.title}</option>`)}</select></label>
              <button type="button" class="small" @click=${() => {
                const b = Number((document.getElementById(`swap-${s.position}`) as HTMLSelectElement).value);
                void command(`swap-${s.position}-${b}`, { command: 'swap', mainPosition: s.position, backupPosition: b });
              }}>${t('run.swap')}</button>`
            : ''
        }</li>`,
    )}</ol></section>`;
}

function onAirCard(v: RoomView) {
  const it = v.doc.onAir ? v.doc.items[v.doc.onAir] : undefined;
  const now = serverNow();
  return html`<section class="onair-card" aria-label=${t('onair')}>
    ${it ? html`<span class="badge">${t('onair')}</span> <strong>${it.title}</strong> · <span class="price">${yuan(it.kind === 'group' ? (v.groups[it.id]?.price ?? it.price) : effectivePrice(it, now))}</span> · ${t('stock.left', { n: v.stock[it.id]?.available ?? 0, total: it.total })} · ${phaseText(v, it, now)}` : html`<span class="muted">${t('shop.nothingOnAir')}</span>`}
  </section>`;
}

function matches(v: RoomView, it: ItemInfo): boolean {
  if (search && !it.title.toLowerCase().includes(search.toLowerCase())) return false;
  if (filter === 'all') return true;
  if (filter === 'onair') return v.doc.onAir === it.id;
  return phase(v, it, serverNow()) === filter;
}

function addItemForm() {
  return html`<form class="panel" aria-label=${t('host.addItem')} @submit=${(e: Event) => {
    e.preventDefault();
    const f = e.target as HTMLFormElement;
    const price = parseYuan(field(f, 'price'));
    if (price === undefined) return toast(t('host.badYuan'), 'bad');
    const startsAt = serverNow() + Math.max(0, Number(field(f, 'startsIn')) || 0) * 60_000;
    void command(`add-${field(f, 'title')}-${price}`, { command: 'addItem', title: field(f, 'title') || t('host.newItem'), price, stock: Number(field(f, 'stock')), perUserLimit: Number(field(f, 'limit') || 1), startsAt, endsAt: startsAt + minutes(field(f, 'duration'), 30) }, () => f.reset());
  }}>
    <h3>${t('host.addItem')}</h3>
    <label>${t('form.title')} <input name="title" required></label>
    <label>${t('form.priceYuan')} <input name="price" inputmode="decimal" required size="7"></label>
    <label>${t('form.stock')} <input name="stock" inputmode="numeric" value="100" size="5"></label>
    <label>${t('form.limit')} <input name="limit" inputmode="numeric" value="2" size="3"></label>
    <label>${t('form.startsIn')} <input name="startsIn" inputmode="numeric" value="0" size="3"></label>
    <label>${t('form.duration')} <input name="duration" inputmode="numeric" value="30" size="3"></label>
    <button type="submit">${t('host.add')}</button></form>`;
}

function groupForm() {
  return html`<form class="panel" aria-label=${t('host.openGroup')} @submit=${(e: Event) => {
    e.preventDefault();
    const f = e.target as HTMLFormElement;
    const basePrice = parseYuan(field(f, 'base'));
    const tiers = field(f, 'tiers')
      .split(/[,，\s]+/)
      .filter(Boolean)
      .map((p) => p.split(/[:：]/))
      .map(([n, y]) => ({ threshold: Number(n), price: parseYuan(y ?? '') ?? Number.NaN }));
    if (basePrice === undefined || !tiers.length || tiers.some((x) => !Number.isInteger(x.threshold) || Number.isNaN(x.price))) return toast(t('host.badTiers'), 'bad');
    void command(`group-${field(f, 'title')}`, { command: 'openGroup', title: field(f, 'title') || t('host.newItem'), basePrice, stock: Number(field(f, 'stock')), perUserLimit: 2, tiers, endsAt: serverNow() + minutes(field(f, 'duration'), 30) }, () => f.reset());
  }}>
    <h3>${t('host.openGroup')}</h3>
    <label>${t('form.title')} <input name="title" required></label>
    <label>${t('form.baseYuan')} <input name="base" inputmode="decimal" required size="7"></label>
    <label>${t('form.tiers')} <input name="tiers" placeholder="10:44.90, 50:39.90" required></label>
    <label>${t('form.stock')} <input name="stock" inputmode="numeric" value="500" size="5"></label>
    <label>${t('form.duration')} <input name="duration" inputmode="numeric" value="30" size="3"></label>
    <button type="submit">${t('host.open')}</button></form>`;
}

function lotteryPanel(v: RoomView) {
  const flash = v.doc.listing.map((id) => v.doc.items[id]).filter((it): it is ItemInfo => it?.kind === 'flash');
  return html`<section class="panel" aria-label=${t('lottery.title')}><h3>${t('lottery.title')}</h3>
    <form aria-label=${t('lottery.create')} @submit=${(e: Event) => {
      e.preventDefault();
      const f = e.target as HTMLFormElement;
      const prizeItem = field(f, 'prize');
      const eligibility = { kind: field(f, 'who') || 'anyone' } as LotteryEligibility;
      void command(
        `lottery-${field(f, 'title')}`,
        {
          command: 'createLottery',
          title: field(f, 'title'),
          prize: prizeItem ? { kind: 'item', itemId: prizeItem } : { kind: 'coupon', title: field(f, 'coupon') || field(f, 'title') },
          winners: Number(field(f, 'winners') || 1),
          eligibility,
          closesAt: serverNow() + minutes(field(f, 'duration'), 5),
          ...(showId ? { showId } : {}),
        },
        () => f.reset(),
      );
    }}>
      <label>${t('form.title')} <input name="title" required></label>
      <label>${t('lottery.prize')} <select name="prize"><option value="">${t('lottery.coupon')}</option>${flash.map((it) => html`<option value=${it.id}>${it.title}</option>`)}</select></label>
      <label>${t('lottery.couponTitle')} <input name="coupon"></label>
      <label>${t('lottery.winnersN')} <input name="winners" inputmode="numeric" value="1" size="3"></label>
      <label>${t('lottery.who')} <select name="who">${['anyone', 'present', 'followers', 'buyers'].map((k) => html`<option value=${k}>${t(`who.${k}` as StringKey)}</option>`)}</select></label>
      <label>${t('form.duration')} <input name="duration" inputmode="numeric" value="5" size="3"></label>
      <button type="submit">${t('lottery.create')}</button>
    </form>
    <ul class="lotteries">${(v.doc.lotteries ?? [])
      .slice()
      .reverse()
      .map(
        (l) => html`<li data-lottery=${l.id}><strong>${l.title}</strong> · ${t(`lottery.${l.state}` as StringKey)} · ${t('lottery.count', { n: l.winners })}
        ${l.state === 'open' ? html` · <span class="entrants">${t('lottery.entrants', { n: entrants.get(l.id) ?? 0 })}</span>
            <button type="button" @click=${async () => {
              if (await confirmBox(t('lottery.drawConfirm', { title: l.title }))) void command(`draw-${l.id}`, { command: 'drawLottery', lotteryId: l.id });
            }}>${t('lottery.draw')}</button>` : ''}
        <div class="muted mono">${t('lottery.commitment')} ${l.commitment.slice(0, 16)}…</div>
        ${l.drawn ? html`<div class="winners">${t('lottery.winnerList', { list: l.drawn.winners.join(', ') || '—', entrants: l.drawn.entrants })}</div><div class="muted mono">${t('lottery.seed')} ${l.drawn.seed}</div>` : ''}</li>`,
      )}</ul></section>`;
}

function announcePanel(v: RoomView) {
  return html`<section class="panel" aria-label=${t('ann.title')}><h3>${t('ann.title')}</h3>
    <form @submit=${(e: Event) => {
      e.preventDefault();
      const f = e.target as HTMLFormElement;
      const text = field(f, 'text');
      if (text) void command(`announce-${text}`, { command: 'announce', text }, () => f.reset());
    }}><label>${t('ann.text')} <input name="text" required></label> <button type="submit">${t('ann.post')}</button></form>
    <ul class="announcements">${(v.doc.announcements ?? [])
      .slice(-5)
      .reverse()
      .map((a) => {
        const pinned = v.doc.pinned?.id === a.id;
        return html`<li data-announcement=${a.id}>${time(a.at)} ${pinned ? html`<strong>📌 ${t('ann.pinned')}</strong> ` : ''}${a.text}
          <button type="button" aria-pressed=${pinned ? 'true' : 'false'} @click=${() => void command(`pin-${a.id}-${pinned}`, { command: 'pin', announcementId: pinned ? null : a.id })}>${t(pinned ? 'ann.unpin' : 'ann.pin')}</button></li>`;
      })}</ul></section>`;
}

function auditPanel() {
  return html`<section class="panel" aria-label=${t('audit.title')}><h3>${t('audit.title')}</h3>
    <table class="audit"><thead><tr><th>${t('audit.at')}</th><th>${t('audit.who')}</th><th>${t('audit.command')}</th><th>${t('audit.outcome')}</th></tr></thead>
    <tbody>${audit.map((a) => html`<tr><td>${time(a.at)}</td><td>${a.actor}</td><td>${a.command}</td><td>${a.outcome === 'rejected' ? `✗ ${a.errorCode ?? ''}` : a.outcome === 'duplicate' ? `↺ ${t('audit.duplicate')}` : `✓ ${t('audit.applied')}`}</td></tr>`)}</tbody></table></section>`;
}

function draw(): void {
  const v = live?.socket?.view;
  const allowed = role === 'host' || role === 'ops';
  const items = v ? v.doc.listing.map((id) => v.doc.items[id]).filter((it): it is ItemInfo => !!it) : [];
  const shown = v ? items.filter((it) => matches(v, it)) : [];
  const delisted = v ? Object.values(v.doc.items).filter((it) => !v.doc.listing.includes(it.id)) : [];
  render(
    html`${header(v ? `${t('host.title')} · ${v.doc.title}` : t('host.title'), draw)}
    <main class="host">
      ${connLine(live?.state ?? { kind: 'connecting' })}
      ${!roomId ? html`<p class="status bad" role="alert">${t('conn.noRoomGiven')}</p>` : ''}
      ${role && !allowed ? html`<p class="status bad" role="alert">${t('host.notHost')}</p>` : ''}
      ${notice ? html`<p class="status warn" role="alert">⟳ ${notice}</p>` : ''}
      ${
        v && allowed
          ? html`<div class="pinned">${onAirCard(v)}${runSheet()}</div>
        <div class="columns">
          <section class="items" aria-label=${t('host.items')}>
            <h2>${t('host.items')} <span class="muted">${t('host.count', { shown: shown.length, all: items.length })}</span></h2>
            <div class="filters">
              <label>${t('host.search')} <input type="search" .value=${search} @input=${(e: Event) => {
                search = (e.target as HTMLInputElement).value;
                draw();
              }}></label>
              <label>${t('host.filter')} <select @change=${(e: Event) => {
                filter = (e.target as HTMLSelectElement).value;
                draw();
              }}>${['all', 'onair', 'live', 'preheat', 'soldout', 'ended'].map((k) => html`<option value=${k} ?selected=${filter === k}>${t(`filter.${k}` as StringKey)}</option>`)}</select></label>
            </div>
            <ul class="rows">${repeat(shown, (it) => it.id, (it) => itemRow(v, it))}</ul>
            ${delisted.length ? html`<p class="muted">${t('host.delisted')} ${delisted.map((it) => html`<button type="button" class="small" @click=${() => command(`list-${it.id}`, { command: 'list', itemId: it.id })}>${t('host.list', { title: it.title })}</button>`)}</p>` : ''}
          </section>
          <div class="side">${addItemForm()}${groupForm()}${lotteryPanel(v)}${announcePanel(v)}${auditPanel()}</div>
        </div>`
          : ''
      }
      <p class="muted">${t('host.you', { user, role: role ?? '…', version: v?.version ?? '—' })}${live?.socket?.viewers ? ` · ${t('viewers', { n: live.socket.viewers.online })}` : ''}</p>
    </main>`,
    root,
  );
}

async function main(): Promise<void> {
  draw();
  if (!roomId) return;
  const token = await pageToken(asRole, user);
  role = tokenRole(token);
  if (role !== 'host' && role !== 'ops') return draw();
  live = new LiveRoom(roomId, token, (f) => {
    track(f);
    if (f === undefined) {
      void refreshRun();
      void refreshAudit();
    }
    draw();
  });
  await live.start();
}

setInterval(draw, 1000);
setInterval(() => void refreshAudit(), 10_000);
void main().catch((err) => toast(errorText(err), 'bad'));
