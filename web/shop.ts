/// <reference lib="dom" />
/**
 * The shopper page (phone first): the item on air on top with its price, stock and a countdown on
 * the server clock; buy → a hold with its payment deadline → pay or cancel; my orders; remind-me
 * for a pre-heated sale; lotteries. Served at /web/shop.html.
 */
import type { BuyResult, ItemInfo, JoinResult, LotteryInfo, MyOrder, RoomView, ServerFrame } from '../common/contracts/protocol.ts';
import { effectivePrice } from '../common/contracts/room-view.ts';
import { clock, connLine, errorText, header, html, LiveRoom, newKey, pageToken, pageUser, query, render, serverNow, t, time, toast, yuan } from './ui/core.ts';
import type { StringKey } from './ui/strings-zh.ts';

const root = document.getElementById('app')!;
const roomId = query('room');
const user = pageUser('shopper');
let live: LiveRoom | undefined;

/** A hold the page knows of (from a buy, before "my orders" lists it). */
interface Hold {
  orderId: string;
  itemId: string;
  title: string;
  qty: number;
  amount: number;
  deadline: number;
}
const holds = new Map<string, Hold>();
/** Holds whose deadline passed while on screen: said once. */
const expired = new Set<string>();
let orders: MyOrder[] = [];
/** One idempotency key per intent: kept until the intent has its answer, reused by its retries. */
const intents = new Map<string, string>();
const busy = new Set<string>();
const reminded = new Set<string>();
const entrants = new Map<string, number>();
const entered = new Set<string>();

function track(f?: ServerFrame): void {
  const deltas = f?.type === 'delta' ? [f.d] : f?.type === 'deltas' || f?.type === 'catchup' ? f.items.map((e) => e.d) : [];
  for (const d of deltas) if (d.t === 'lotteryEntries') entrants.set(d.lottery, d.entrants);
}

async function refreshOrders(): Promise<void> {
  const s = live?.socket;
  if (!s || !roomId) return;
  try {
    orders = (await s.orders({ roomId, limit: 50 })).orders;
    for (const o of orders) if (o.state !== 'held') holds.delete(o.orderId);
  } catch {
    /* the next refresh tries again */
  }
  draw();
}

/** Runs one intent once at a time; the button stays disabled until it has its answer. */
async function once(id: string, run: (key: string) => Promise<void>): Promise<void> {
  if (busy.has(id)) return;
  busy.add(id);
  draw();
  let key = intents.get(id);
  if (!key) intents.set(id, (key = newKey(id)));
  try {
    await run(key);
    intents.delete(id);
  } catch (err) {
    // An answer (a refusal) ends the intent; a lost connection keeps its key for the retry.
    if (!(err instanceof Error && /socket closed/.test(err.message))) intents.delete(id);
    toast(errorText(err), 'bad');
  } finally {
    busy.delete(id);
    draw();
  }
}

function outcomeText(r: BuyResult | JoinResult): { held?: Hold; text: string; ok: boolean } {
  const first = r.outcome === 'duplicate' ? r.first : r;
  if (first.outcome === 'held') return { text: '', ok: true, held: { orderId: first.orderId, itemId: '', title: '', qty: first.qty, amount: first.amount, deadline: first.deadline } };
  const key = `buy.${first.outcome}` as StringKey;
  return { text: t(key), ok: false };
}

function buy(item: ItemInfo): Promise<void> {
  return once(`buy-${item.id}`, async (key) => {
    const s = live!.socket!;
    const r = item.kind === 'group' ? await s.join(item.id, 1, key) : await s.buy(item.id, 1, key);
    const o = outcomeText(r);
    if (o.held) {
      holds.set(o.held.orderId, { ...o.held, itemId: item.id, title: item.title });
      toast(t('hold.made', { left: clock(o.held.deadline - serverNow()) }));
      void refreshOrders();
    } else toast(o.text, 'bad');
  });
}

function pay(h: Hold): Promise<void> {
  return once(`pay-${h.orderId}`, async () => {
    const r = await live!.socket!.pay(h.itemId, h.orderId);
    holds.delete(h.orderId);
    toast(t('hold.paid', { amount: yuan(r.amount) }));
    await refreshOrders();
  });
}

function cancel(h: Hold): Promise<void> {
  return once(`cancel-${h.orderId}`, async () => {
    await live!.socket!.cancel(h.itemId, h.orderId);
    holds.delete(h.orderId);
    toast(t('hold.cancelled'));
    await refreshOrders();
  });
}

function remind(item: ItemInfo): Promise<void> {
  return once(`remind-${item.id}`, async () => {
    const r = await live!.socket!.subscribe(item.id);
    reminded.add(item.id);
    toast(r.outcome === 'live' ? t('remind.live') : t('remind.set'));
  });
}

function enter(l: LotteryInfo): Promise<void> {
  return once(`lottery-${l.id}`, async () => {
    const r = await live!.socket!.enterLottery(l.id);
    entered.add(l.id);
    entrants.set(l.id, r.entrants);
    toast(r.outcome === 'duplicate' ? t('lottery.already') : t('lottery.entered'));
  });
}

/** Items whose details are open; opening them is the product click the funnel counts. */
const opened = new Set<string>();
const clicked = new Set<string>();
function details(item: ItemInfo): void {
  if (opened.delete(item.id)) {
    draw();
    return;
  }
  opened.add(item.id);
  if (!clicked.has(item.id)) {
    clicked.add(item.id);
    void live?.socket?.click(item.id).catch(() => clicked.delete(item.id));
  }
  draw();
}

type Phase = 'preheat' | 'live' | 'soldout' | 'ended' | 'closed';
function phaseOf(v: RoomView, it: ItemInfo, now: number): Phase {
  if (it.closed) return 'closed';
  if (now >= it.endsAt) return 'ended';
  if (now < it.startsAt) return 'preheat';
  if ((v.stock[it.id]?.available ?? 1) <= 0) return 'soldout';
  return 'live';
}

function tierBar(v: RoomView, it: ItemInfo) {
  const g = v.groups[it.id];
  if (it.kind !== 'group' || !it.tiers) return '';
  const count = g?.count ?? 0;
  const next = it.tiers.find((x) => x.threshold > count);
  const top = it.tiers[it.tiers.length - 1]!.threshold;
  return html`<div class="tiers">
    <progress max=${top} .value=${Math.min(count, top)} aria-label=${t('tier.progress')}></progress>
    <div>${t('tier.now', { count, price: yuan(g?.price ?? it.price) })}
      ${next ? t('tier.next', { left: next.threshold - count, price: yuan(next.price) }) : t('tier.top')}</div>
  </div>`;
}

function itemCard(v: RoomView, it: ItemInfo, onAir: boolean) {
  const now = serverNow();
  const phase = phaseOf(v, it, now);
  const stock = v.stock[it.id];
  const price = it.kind === 'group' ? (v.groups[it.id]?.price ?? it.price) : effectivePrice(it, now);
  const buying = busy.has(`buy-${it.id}`);
  const label = it.kind === 'group' ? t('buy.join') : t('buy.buy');
  const when =
    phase === 'preheat' ? t('phase.preheat', { left: clock(it.startsAt - now) }) : phase === 'live' ? t('phase.live', { left: clock(it.endsAt - now) }) : t(`phase.${phase}` as StringKey);
  return html`<article class=${`card ${onAir ? 'onair' : ''} ${phase}`} data-item=${it.id} aria-label=${it.title}>
    <h2>${onAir ? html`<span class="badge">${t('onair')}</span> ` : ''}${it.title}</h2>
    <div class="price">${yuan(price)}${it.scheduledPrice && it.scheduledPrice.at > now ? html` <small>${t('price.scheduled', { price: yuan(it.scheduledPrice.price), at: time(it.scheduledPrice.at) })}</small>` : ''}</div>
    <div class="meta"><span class="stock">${stock ? t('stock.left', { n: stock.available, total: it.total }) : ''}</span> · <span class="phase">${when}</span></div>
    ${tierBar(v, it)}
    ${
      opened.has(it.id)
        ? html`<div class="details muted">${t('shop.details', { limit: it.limit, from: time(it.startsAt), to: time(it.endsAt) })}${it.tiers ? html`<br>${it.tiers.map((x) => t('tier.step', { n: x.threshold, price: yuan(x.price) })).join(' · ')}` : ''}</div>`
        : ''
    }
    <div class="actions">
      ${
        phase === 'preheat'
          ? html`<button type="button" class="primary" ?disabled=${reminded.has(it.id) || busy.has(`remind-${it.id}`)} @click=${() => remind(it)}>${reminded.has(it.id) ? t('remind.done') : t('remind.me')}</button>`
          : html`<button type="button" class="primary buy" ?disabled=${phase !== 'live' || buying} @click=${() => buy(it)}>${buying ? t('buy.busy') : phase === 'live' ? label : t(`phase.${phase}` as StringKey)}</button>`
      }
      <button type="button" class="link" aria-expanded=${opened.has(it.id) ? 'true' : 'false'} @click=${() => details(it)}>${opened.has(it.id) ? t('shop.hideDetails') : t('shop.showDetails')}</button>
    </div>
  </article>`;
}

function holdList() {
  const now = serverNow();
  const fromOrders = orders.filter((o) => o.state === 'held' && o.deadline !== null).map((o) => ({ orderId: o.orderId, itemId: o.item.id, title: o.item.title, qty: o.qty, amount: o.amount, deadline: o.deadline! }));
  const all = new Map<string, Hold>([...fromOrders.map((h) => [h.orderId, h] as const), ...holds]);
  const rows = [...all.values()].sort((a, b) => a.deadline - b.deadline);
  for (const h of rows)
    if (h.deadline <= now && !expired.has(h.orderId)) {
      expired.add(h.orderId);
      toast(t('hold.expired', { title: h.title }), 'bad');
      setTimeout(() => void refreshOrders(), 1500);
    }
  const open = rows.filter((h) => h.deadline > now);
  const missed = rows.filter((h) => h.deadline <= now);
  if (!open.length && !missed.length) return '';
  return html`<section class="holds" aria-label=${t('hold.title')}><h2>${t('hold.title')}</h2>
    ${open.map(
      (h) => html`<div class="hold" data-order=${h.orderId}>
        <div><strong>${h.title}</strong> × ${h.qty} · ${yuan(h.amount)}</div>
        <div class="deadline" role="timer">${t('hold.deadline', { left: clock(h.deadline - now) })}</div>
        <button type="button" class="primary" ?disabled=${busy.has(`pay-${h.orderId}`)} @click=${() => pay(h)}>${t('hold.pay', { amount: yuan(h.amount) })}</button>
        <button type="button" ?disabled=${busy.has(`cancel-${h.orderId}`)} @click=${() => cancel(h)}>${t('hold.cancel')}</button>
      </div>`,
    )}
    ${missed.map((h) => html`<div class="hold missed" data-order=${h.orderId}>⚠ ${t('hold.missed', { title: h.title })}</div>`)}
  </section>`;
}

function adjustment(a: MyOrder['adjustments'][number]): string {
  switch (a.kind) {
    case 'refund':
      return t('orders.refund', { amount: yuan(a.amount), at: time(a.at) });
    case 'repriced':
      return t('orders.repriced', { price: yuan(a.price), at: time(a.at) });
    case 'cancelled':
      return t('orders.cancelledAt', { at: time(a.at) });
    case 'expired':
      return t('orders.expiredAt', { at: time(a.at) });
  }
}

/** An unpaid hold past its deadline is expired to the shopper, before the ledger records it. */
const shownState = (o: MyOrder): MyOrder['state'] => (o.state === 'held' && o.deadline !== null && o.deadline <= serverNow() ? 'expired' : o.state);

function orderList() {
  return html`<section class="orders" aria-label=${t('orders.title')}><h2>${t('orders.title')}
      <button type="button" class="small" @click=${() => void refreshOrders()}>${t('orders.refresh')}</button></h2>
    ${
      orders.length
        ? html`<ul>${orders.map(
            (o) => html`<li data-order=${o.orderId}><span class=${`state ${shownState(o)}`}>${t(`state.${shownState(o)}` as StringKey)}</span> ${o.item.title} × ${o.qty} · ${yuan(o.amount)}
              ${o.paidAmount ? html`<span class="muted">${t('orders.net', { paid: yuan(o.paidAmount), net: yuan(o.net) })}</span>` : ''}
              ${o.adjustments.map((a) => html`<div class="muted">${adjustment(a)}</div>`)}</li>`,
          )}</ul>`
        : html`<p class="muted">${t('orders.none')}</p>`
    }</section>`;
}

function lotteries(v: RoomView) {
  const ls = (v.doc.lotteries ?? []).slice().reverse();
  if (!ls.length) return '';
  const now = serverNow();
  return html`<section class="lotteries" aria-label=${t('lottery.title')}><h2>${t('lottery.title')}</h2>
    ${ls.map((l) => {
      const prize = l.prize.kind === 'coupon' ? l.prize.title : (v.doc.items[l.prize.itemId]?.title ?? '');
      if (l.state === 'drawn' && l.drawn) {
        const won = l.drawn.winners.includes(user);
        return html`<div class="lottery drawn" data-lottery=${l.id}><strong>${l.title}</strong> · ${prize}
          <div class=${won ? 'won' : 'lost'}>${won ? `★ ${t('lottery.won')}` : entered.has(l.id) ? t('lottery.notWon') : t('lottery.drawn')}</div>
          <div class="muted">${t('lottery.winners', { n: l.drawn.winners.length, entrants: l.drawn.entrants })}</div></div>`;
      }
      const open = now >= l.opensAt && now < l.closesAt;
      return html`<div class="lottery" data-lottery=${l.id}><strong>${l.title}</strong> · ${prize} · ${t('lottery.count', { n: l.winners })}
        <div class="muted">${open ? t('lottery.closesIn', { left: clock(l.closesAt - now) }) : now < l.opensAt ? t('lottery.opensIn', { left: clock(l.opensAt - now) }) : t('lottery.closed')}
          ${entrants.has(l.id) ? ` · ${t('lottery.entrants', { n: entrants.get(l.id)! })}` : ''}</div>
        <button type="button" class="primary" ?disabled=${!open || entered.has(l.id) || busy.has(`lottery-${l.id}`)} @click=${() => enter(l)}>${entered.has(l.id) ? t('lottery.done') : t('lottery.enter')}</button></div>`;
    })}</section>`;
}

function draw(): void {
  const v = live?.socket?.view;
  const state = live?.state ?? { kind: 'connecting' as const };
  const onAir = v?.doc.onAir ? v.doc.items[v.doc.onAir] : undefined;
  const others = v ? v.doc.listing.filter((id) => id !== v.doc.onAir && v.doc.items[id]).map((id) => v.doc.items[id]!) : [];
  const last = v?.doc.announcements?.at(-1);
  const pinned = v?.doc.pinned ?? undefined;
  render(
    html`${header(v ? v.doc.title : t('shop.title'), draw)}
    <main class="shop">
      ${connLine(state)}
      ${!roomId ? html`<p class="status bad" role="alert">${t('conn.noRoomGiven')}</p>` : ''}
      ${pinned ? html`<p class="announce pinned" role="status"><strong>📌 ${t('ann.pinned')}</strong> ${pinned.text}</p>` : ''}
      ${last && last.id !== pinned?.id ? html`<p class="announce" role="status"><strong>${t('ann.title')}</strong> ${last.text}</p>` : ''}
      ${v ? (onAir ? itemCard(v, onAir, true) : html`<p class="muted">${t('shop.nothingOnAir')}</p>`) : ''}
      ${holdList()}
      ${v ? lotteries(v) : ''}
      ${v && others.length ? html`<section aria-label=${t('shop.more')}><h2>${t('shop.more')}</h2>${others.map((it) => itemCard(v, it, false))}</section>` : ''}
      ${v ? orderList() : ''}
      <p class="muted">${t('shop.you', { user })}${live?.socket?.viewers ? ` · ${t('viewers', { n: live.socket.viewers.online })}` : ''}</p>
    </main>`,
    root,
  );
}

async function main(): Promise<void> {
  draw();
  if (!roomId) return;
  const token = await pageToken('shopper', user);
  live = new LiveRoom(roomId, token, (f) => {
    track(f);
    if (f?.type === 'snapshot' || f === undefined) void refreshOrders();
    if (f?.type === 'delta' && f.d.t === 'lotteryDrawn') toast(f.d.lottery.drawn?.winners.includes(user) ? t('lottery.won') : t('lottery.drawnNow'));
    draw();
  });
  await live.start();
}

setInterval(draw, 500);
setInterval(() => void refreshOrders(), 5000);
void main().catch((err) => toast(errorText(err), 'bad'));
