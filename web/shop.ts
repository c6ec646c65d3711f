/// <reference lib="dom" />
/**
 * The shopper page (phone first): the item on air on top with its price, stock and a countdown on
 * the server clock; buy → a hold with its payment deadline → pay or cancel; my orders; remind-me
 * for a pre-heated sale; lotteries; an item's marketing offers: team buy (拼团) and bargain (砍价)
 * with their share links, the member-day rule, coupons (one per buy) and the price breakdown,
 * share links that earn a referral commission and the shopper's own commissions. Served at
 * /web/shop.html; a share link is this page with `team=`, `bargain=` or `ref=` (and `item=`).
 * Shopper actions go over the room socket like buy and pay; a team's or bargain's progress is read
 * with its GET route (a team's then follows the room's `team` deltas).
 */
import type { Audience, BuyResult, ItemInfo, JoinResult, LotteryInfo, MyCommissionsReply, MyOrder, PriceStepView, RoomView, ServerFrame } from '../common/contracts/protocol.ts';
import { effectivePrice } from '../common/contracts/room-view.ts';
import { ApiError, type BargainBuyResult, type BargainHelpResult, type BargainProgress, type BargainStartResult, type OfferRefusal, type TeamProgress, type TeamSeatHeld, type TeamSeatResult } from './client.ts';
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
  /** The price steps of the buy's answer (base, member-day, coupon). */
  breakdown?: readonly PriceStepView[];
}
const holds = new Map<string, Hold>();
/** Holds whose deadline passed while on screen: said once. */
const expired = new Set<string>();
let orders: MyOrder[] = [];
/** One idempotency key per intent: kept until the intent has its answer, reused by its retries. */
const intents = new Map<string, string>();
const busy = new Set<string>();
const reminded = new Set<string>();
/** The host's latest reminder to this shopper, per item (a `reminder` frame: sent to an audience). */
const hostReminders = new Map<string, string>();
const entrants = new Map<string, number>();
const entered = new Set<string>();

function track(f?: ServerFrame): void {
  const deltas = f?.type === 'delta' ? [f.d] : f?.type === 'deltas' || f?.type === 'catchup' ? f.items.map((e) => e.d) : [];
  for (const d of deltas) {
    if (d.t === 'lotteryEntries') entrants.set(d.lottery, d.entrants);
    if (d.t === 'team') {
      const cur = teams.get(d.team);
      if (!cur || (cur.ver !== undefined && d.ver <= cur.ver)) continue;
      teams.set(d.team, { ...cur, state: d.state, seats: d.seats, paid: d.paid, size: d.size, ver: d.ver });
      // Members and their money (refunds of a failed team) come with the team's own read.
      void loadTeam(cur.itemId, d.team);
      if (d.state !== 'open') void refreshOrders();
    }
  }
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

/** The last refusal of an action on an item, said on its card until the next action there. */
const refusals = new Map<string, string>();
function refuse(itemId: string | undefined, text: string): void {
  if (itemId) refusals.set(itemId, text);
  toast(text, 'bad');
}

/** Runs one intent once at a time; the button stays disabled until it has its answer. */
async function once(id: string, run: (key: string) => Promise<void>, itemId?: string): Promise<void> {
  if (busy.has(id)) return;
  busy.add(id);
  if (itemId) refusals.delete(itemId);
  draw();
  let key = intents.get(id);
  // The intent's name opens the key only for reading; kept short, a team join's key stays within the 60 characters it may have.
  if (!key) intents.set(id, (key = newKey(id.slice(0, 20))));
  try {
    await run(key);
    intents.delete(id);
  } catch (err) {
    // An answer (a refusal) ends the intent; a lost connection keeps its key for the retry.
    if (!(err instanceof Error && /socket closed/.test(err.message))) intents.delete(id);
    refuse(itemId, errorText(err));
  } finally {
    busy.delete(id);
    draw();
  }
}

function outcomeText(r: BuyResult | JoinResult): { held?: Hold; text: string; ok: boolean } {
  const first = r.outcome === 'duplicate' ? r.first : r;
  if (first.outcome === 'held')
    return { text: '', ok: true, held: { orderId: first.orderId, itemId: '', title: '', qty: first.qty, amount: first.amount, deadline: first.deadline, ...('breakdown' in first && first.breakdown ? { breakdown: first.breakdown } : {}) } };
  const key = `buy.${first.outcome}` as StringKey;
  return { text: t(key), ok: false };
}

/** The coupon is part of the intent: choosing another one is a new buy, with its own key. */
const buyIntent = (item: ItemInfo): string => {
  const coupon = item.kind === 'flash' ? chosenCoupon(item) : undefined;
  return `buy-${item.id}${coupon ? `-${coupon.id}` : ''}`;
};

function buy(item: ItemInfo): Promise<void> {
  const coupon = item.kind === 'flash' ? chosenCoupon(item) : undefined;
  return once(
    buyIntent(item),
    async (key) => {
      const s = live!.socket!;
      const r = item.kind === 'group' ? await s.join(item.id, 1, key) : await s.buy(item.id, 1, key, coupon?.id);
      const o = outcomeText(r);
      if (o.held) {
        holds.set(o.held.orderId, { ...o.held, itemId: item.id, title: item.title });
        toast(t('hold.made', { left: clock(o.held.deadline - serverNow()) }));
        void refreshOrders();
      } else refuse(item.id, o.text);
    },
    item.id,
  );
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

// ---------------------------------------------------------------------------------------------
// Marketing offers: team buy, bargain, member-day rule, coupons, referral share links.

type Coupon = NonNullable<NonNullable<ItemInfo['offers']>['coupons']>[number];

/** What the page was opened with: a share link names a team, a bargain or a referrer (and the item). */
const shared = { team: query('team'), bargain: query('bargain'), item: query('item'), ref: query('ref') };
/** Teams the page follows (opened, joined or shared), by team id: their read, then the live `team` deltas. */
const teams = new Map<string, TeamProgress>();
/** Teams this shopper holds a seat in, as the open or join answer said (before the team's read). */
const myTeams = new Set<string>();
/** Bargains the page follows, by bargain id (there are no bargain deltas: open ones are read again every few seconds). */
const bargains = new Map<string, BargainProgress>();
/** This shopper's cut of a bargain they helped. */
const myCuts = new Map<string, number>();
/** The coupon chosen per item (at most one per buy). */
const couponChoice = new Map<string, string>();
/** Share links made on this page, by what they share. */
const shares = new Map<string, string>();
let commissions: MyCommissionsReply | undefined;
/** The referral click of the page's own link: recorded, refused (the message) or not asked. */
let referral: { ok: boolean; text: string } | undefined;

/** Whole yuan without the cents ("¥68"), else yuan with them: a rule reads like a price tag. */
const money = (fen: number): string => (fen % 100 === 0 ? `¥${fen / 100}` : yuan(fen));

/** A window or a duration as a person says it: minutes, hours or days. */
function span(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 1) return t('span.seconds', { n: Math.max(1, Math.round(ms / 1000)) });
  if (min < 120) return t('span.minutes', { n: min });
  const h = Math.round(min / 60);
  return h < 48 ? t('span.hours', { n: h }) : t('span.days', { n: Math.round(h / 24) });
}

/** A refusal answered as a result, as a person reads it (the table's text for its code, else the server's message). */
const refusalText = (r: OfferRefusal): string => errorText(new ApiError(409, r.code, r.message));

/** Keeps what the page follows in its address, so a reload shows the same team or bargain (one at a time: `item` names its item). */
function remember(params: { team: string; item: string } | { bargain: string; item: string }): void {
  const u = new URL(location.href);
  for (const k of ['team', 'bargain']) u.searchParams.delete(k);
  for (const [k, val] of Object.entries(params)) u.searchParams.set(k, val);
  history.replaceState(null, '', u);
}

/** A share link: this page for the room with `params`, and none of the sharer's own (user, token). */
function shareLink(params: Record<string, string>): string {
  const u = new URL('/web/shop.html', location.origin);
  u.searchParams.set('room', roomId ?? '');
  for (const [k, val] of Object.entries(params)) u.searchParams.set(k, val);
  return u.toString();
}

async function copy(link: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(link);
    toast(t('share.copied'));
    return;
  } catch {
    // No clipboard permission (or not a secure context): the selection and the copy command.
  }
  const area = document.createElement('textarea');
  area.value = link;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (ok) toast(t('share.copied'));
  else toast(t('share.copyManually'), 'bad');
}

function shareBox(link: string, label: string) {
  return html`<div class="share">
    <label>${label} <input type="text" readonly class="share-link" .value=${link} @focus=${(e: Event) => (e.target as HTMLInputElement).select()}></label>
    <button type="button" class="small" @click=${() => void copy(link)}>${t('share.copy')}</button>
  </div>`;
}

async function loadTeam(itemId: string, teamId: string): Promise<void> {
  if (!live || !roomId) return;
  try {
    const tm = await live.http.team(roomId, itemId, teamId);
    const cur = teams.get(teamId);
    // A delta may have brought a newer version while the read was on its way.
    if (!cur || cur.ver === undefined || tm.ver === undefined || tm.ver >= cur.ver) teams.set(teamId, tm);
    else teams.set(teamId, { ...tm, state: cur.state, seats: cur.seats, paid: cur.paid, ver: cur.ver });
    if (tm.members.some((m) => m.userId === user && (m.state === 'held' || m.state === 'paid'))) myTeams.add(teamId);
  } catch (err) {
    if (!teams.has(teamId)) refusals.set(itemId, errorText(err));
  }
  draw();
}

async function loadBargain(itemId: string, bargainId: string): Promise<void> {
  if (!live || !roomId) return;
  try {
    bargains.set(bargainId, await live.http.bargain(roomId, itemId, bargainId));
  } catch (err) {
    if (!bargains.has(bargainId)) refusals.set(itemId, errorText(err));
  }
  draw();
}

/** A seat taken (team opened or joined) is a hold like any other: paid from "to pay". */
function seated(it: ItemInfo, r: TeamSeatResult): void {
  const first = r.outcome === 'duplicate' ? (r as { first: TeamSeatHeld | OfferRefusal }).first : (r as TeamSeatHeld | OfferRefusal);
  if (first.outcome !== 'held') {
    refuse(it.id, refusalText(first as OfferRefusal));
    return;
  }
  const h = first as TeamSeatHeld;
  holds.set(h.orderId, { orderId: h.orderId, itemId: it.id, title: it.title, qty: h.qty, amount: h.amount, deadline: h.deadline });
  myTeams.add(h.teamId);
  if (!teams.has(h.teamId)) teams.set(h.teamId, { itemId: it.id, teamId: h.teamId, state: 'open', leader: user, size: h.size, price: h.unitPrice, endsAt: h.teamEndsAt, seats: h.seats, paid: 0, members: [{ userId: user, state: 'held' }] });
  remember({ team: h.teamId, item: it.id });
  toast(t('team.held', { left: clock(h.deadline - serverNow()) }));
  void loadTeam(it.id, h.teamId);
  void refreshOrders();
}

function openTeam(it: ItemInfo): Promise<void> {
  return once(`team-open-${it.id}`, async (key) => seated(it, await live!.socket!.openTeam(it.id, key)), it.id);
}

function joinTeam(it: ItemInfo, teamId: string): Promise<void> {
  return once(`team-join-${teamId}`, async (key) => seated(it, await live!.socket!.joinTeam(it.id, teamId, key)), it.id);
}

function startBargain(it: ItemInfo): Promise<void> {
  return once(
    `bargain-start-${it.id}`,
    async () => {
      const r = (await live!.socket!.startBargain(it.id)) as BargainStartResult;
      if (r.outcome !== 'started' && r.outcome !== 'existing') return refuse(it.id, refusalText(r as OfferRefusal));
      const b = r as { bargainId: string; price: number };
      remember({ bargain: b.bargainId, item: it.id });
      toast(r.outcome === 'started' ? t('bargain.started') : t('bargain.existing'));
      await loadBargain(it.id, b.bargainId);
    },
    it.id,
  );
}

function helpBargain(it: ItemInfo, b: BargainProgress): Promise<void> {
  return once(
    `bargain-help-${b.bargainId}`,
    async () => {
      const r = (await live!.socket!.helpBargain(it.id, b.bargainId)) as BargainHelpResult;
      if (r.outcome !== 'helped') return refuse(it.id, refusalText(r as OfferRefusal));
      const h = r as { cut: number; price: number };
      myCuts.set(b.bargainId, h.cut);
      toast(t('bargain.youCut', { cut: yuan(h.cut), price: yuan(h.price) }));
      await loadBargain(it.id, b.bargainId);
    },
    it.id,
  );
}

function buyBargain(it: ItemInfo, b: BargainProgress): Promise<void> {
  return once(
    `bargain-buy-${b.bargainId}`,
    async () => {
      const r = (await live!.socket!.buyBargain(it.id, b.bargainId)) as BargainBuyResult;
      if (r.outcome !== 'held') return refuse(it.id, refusalText(r as OfferRefusal));
      const h = r as { orderId: string; amount: number; deadline: number };
      holds.set(h.orderId, { orderId: h.orderId, itemId: it.id, title: it.title, qty: 1, amount: h.amount, deadline: h.deadline });
      toast(t('hold.made', { left: clock(h.deadline - serverNow()) }));
      await Promise.all([loadBargain(it.id, b.bargainId), refreshOrders()]);
    },
    it.id,
  );
}

async function refreshCommissions(): Promise<void> {
  if (!live) return;
  try {
    commissions = await live.http.myCommissions({ limit: 20 });
  } catch {
    /* the next refresh tries again */
  }
  draw();
}

/** Opening a page through someone's share link records the click once (attribution is the ledger's, at payment). */
async function recordReferral(): Promise<void> {
  const ref = shared.ref;
  if (!live?.socket || !roomId || !ref || ref === user) return;
  const mark = `livesale.ref.${roomId}.${user}.${ref}.${shared.item ?? ''}`;
  if (sessionStorage.getItem(mark)) {
    referral = { ok: true, text: t('ref.via', { who: ref }) };
    return;
  }
  try {
    await live.socket!.referralClick(ref, shared.item);
    sessionStorage.setItem(mark, '1');
    referral = { ok: true, text: t('ref.via', { who: ref }) };
  } catch (err) {
    referral = { ok: false, text: errorText(err) };
  }
  draw();
}

function share(it: ItemInfo): void {
  shares.set(`ref:${it.id}`, shareLink({ item: it.id, ref: user }));
  draw();
}

/** A coupon's terms in words: 无门槛减¥5, 满¥50减¥10, 9折. */
function couponTerms(c: Coupon): string {
  if (c.kind === 'percent') {
    const off = c.percent;
    const terms = t('coupon.percent', { pct: off, zhe: String((100 - off) / 10) });
    return c.minSpend > 0 ? t('coupon.from', { min: money(c.minSpend), terms }) : terms;
  }
  if (c.kind === 'spend' || c.minSpend > 0) return t('coupon.spend', { min: money(c.minSpend), off: money(c.amount) });
  return t('coupon.fixed', { off: money(c.amount) });
}

/** Who a coupon is for, in words ("金卡专享"); empty for everyone. */
function audienceText(a: Audience | undefined): string {
  if (!a || (!a.tiers && !a.stages)) return '';
  const who = [...(a.tiers ?? []).map((x) => t(`member.${x}` as StringKey)), ...(a.stages ?? []).map((x) => t(`stage.${x}` as StringKey))].join(t('aud.sep'));
  return t('aud.only', { who });
}

const validCoupons = (it: ItemInfo, now: number): Coupon[] => (it.offers?.coupons ?? []).filter((c) => c.startsAt <= now && now < c.endsAt);

function chosenCoupon(it: ItemInfo): Coupon | undefined {
  const id = couponChoice.get(it.id);
  return id ? validCoupons(it, serverNow()).find((c) => c.id === id) : undefined;
}

function memberDayText(it: ItemInfo): string {
  const m = it.offers?.memberDay;
  if (!m) return '';
  const steps = (['gold', 'silver', 'regular'] as const).filter((x) => m.off[x] > 0).map((x) => t('member.step', { tier: t(`member.${x}`), min: money(m.threshold), off: money(m.off[x]) }));
  return steps.length ? t('member.rule', { rules: steps.join(' · ') }) : '';
}

/** A price breakdown in words: 原价 ¥99.00 · 会员日（金卡）−¥10.00 · 优惠券（满¥50减¥10）−¥5.00. */
function breakdownText(steps: readonly PriceStepView[] | undefined, itemId: string): string {
  if (!steps || steps.length < 2) return '';
  const it = live?.socket?.view?.doc.items[itemId];
  return steps
    .map((s) => {
      if (s.step === 'base') return t('step.base', { amount: yuan(s.amount) });
      const off = yuan(Math.abs(s.amount));
      if (s.step === 'member') {
        const tier = s.rule.split(':')[1] ?? '';
        return t('step.member', { tier: ['regular', 'silver', 'gold'].includes(tier) ? t(`member.${tier}` as StringKey) : tier, off });
      }
      const id = s.rule.split(':').slice(1).join(':');
      const c = it?.offers?.coupons?.find((x) => x.id === id);
      return t('step.coupon', { coupon: c ? couponTerms(c) : id, off });
    })
    .join(' · ');
}

function teamPanel(it: ItemInfo, tm: TeamProgress) {
  const now = serverNow();
  const me = tm.members.find((m) => m.userId === user);
  const seated = myTeams.has(tm.teamId) && (!me || me.state === 'held' || me.state === 'paid');
  const open = tm.state === 'open' && now < tm.endsAt;
  const status =
    tm.state === 'formed'
      ? `✓ ${t('team.formed', { size: tm.size, price: yuan(tm.price) })}`
      : tm.state === 'failed'
        ? `✗ ${t('team.failed')}${me && (me.state === 'paid' || me.state === 'refunded') ? ` ${t('team.refundMine', { amount: yuan(tm.price) })}` : ''}`
        : open
          ? t('team.progress', { seats: tm.seats, paid: tm.paid, size: tm.size, left: clock(tm.endsAt - now) })
          : t('team.settling');
  return html`<div class="offer-panel team" data-team=${tm.teamId} aria-label=${t('team.title')}>
    <h3>${t('team.panel', { size: tm.size, price: yuan(tm.price) })}</h3>
    <progress max=${tm.size} .value=${tm.paid} aria-label=${t('team.paidBar')}></progress>
    <p class=${`team-state ${tm.state}`} role="status">${status}</p>
    ${tm.state === 'open' ? html`<p class="muted">${t('team.rule')}</p>` : ''}
    ${seated && open ? shareBox(shareLink({ team: tm.teamId, item: it.id }), t('team.shareLabel')) : ''}
    ${
      !seated && open
        ? html`<button type="button" class="primary" ?disabled=${busy.has(`team-join-${tm.teamId}`) || tm.seats >= tm.size} @click=${() => joinTeam(it, tm.teamId)}>${
            tm.seats >= tm.size ? t('team.full') : t('team.join', { price: yuan(tm.price) })
          }</button>`
        : ''
    }
  </div>`;
}

function bargainPanel(it: ItemInfo, b: BargainProgress) {
  const now = serverNow();
  const open = b.state !== 'expired' && now < b.endsAt;
  const mine = b.starter === user;
  const helped = b.helperIds.includes(user) || myCuts.has(b.bargainId);
  return html`<div class="offer-panel bargain" data-bargain=${b.bargainId} aria-label=${t('bargain.title')}>
    <h3>${mine ? t('bargain.mine') : t('bargain.theirs', { who: b.starter })}</h3>
    <div class="bargain-price" role="status">${t('bargain.now', { price: yuan(b.price) })}</div>
    <progress max=${Math.max(1, b.start - b.floor)} .value=${b.start - b.price} aria-label=${t('bargain.cutBar')}></progress>
    <p>${t('bargain.progress', { start: yuan(b.start), floor: yuan(b.floor), helped: b.helped, helpers: b.helpers })}
      · ${open ? t('bargain.left', { left: clock(b.endsAt - now) }) : t('bargain.closed')}</p>
    ${b.price <= b.floor ? html`<p class="ok-note">✓ ${t('bargain.atFloor')}</p>` : ''}
    ${mine && b.state === 'bought' ? html`<p class="ok-note">✓ ${t('bargain.bought')}</p>` : ''}
    ${mine && open ? shareBox(shareLink({ bargain: b.bargainId, item: it.id }), t('bargain.shareLabel')) : ''}
    ${
      mine && open
        ? html`<button type="button" class="primary" ?disabled=${busy.has(`bargain-buy-${b.bargainId}`)} @click=${() => buyBargain(it, b)}>${t('bargain.buy', { price: yuan(b.price) })}</button>`
        : ''
    }
    ${
      // A bought bargain takes no more help; its starter may still come back to pay.
      !mine && open && b.state === 'open'
        ? html`<button type="button" class="primary" ?disabled=${helped || b.price <= b.floor || busy.has(`bargain-help-${b.bargainId}`)} @click=${() => helpBargain(it, b)}>${helped ? t('bargain.helped') : t('bargain.help')}</button>`
        : ''
    }
    ${myCuts.has(b.bargainId) ? html`<p class="ok-note">✓ ${t('bargain.yourCut', { cut: yuan(myCuts.get(b.bargainId)!) })}</p>` : ''}
  </div>`;
}

/** The offers of a flash-sale item on its card: what each one is, its actions and the panels of its teams and bargains. */
function offersBlock(it: ItemInfo, phase: Phase) {
  if (it.kind !== 'flash') return '';
  const o = it.offers ?? {};
  const now = serverNow();
  const live = phase === 'live';
  const coupons = validCoupons(it, now);
  const chosen = chosenCoupon(it);
  const member = memberDayText(it);
  const myTeamPanels = [...teams.values()].filter((tm) => tm.itemId === it.id);
  const myBargains = [...bargains.values()].filter((b) => b.itemId === it.id);
  const startedHere = myBargains.some((b) => b.starter === user && b.state !== 'expired' && now < b.endsAt);
  const link = shares.get(`ref:${it.id}`);
  return html`<div class="offers">
    ${member ? html`<p class="offer member">${member}</p>` : ''}
    ${
      coupons.length
        ? html`<div class="offer coupons" role="group" aria-label=${t('coupon.title')}><strong>${t('coupon.title')}</strong> <span class="muted">${t('coupon.one')}</span>
          ${coupons.map((c) => {
            const on = chosen?.id === c.id;
            const aud = audienceText(c.audience);
            return html`<div class=${`coupon ${on ? 'chosen' : ''}`} data-coupon=${c.id}><span class="terms">${couponTerms(c)}</span>${aud ? html` <span class="aud">${aud}</span>` : ''}
              <span class="muted">${t('coupon.until', { at: time(c.endsAt) })}</span>
              <button type="button" class="small" aria-pressed=${on ? 'true' : 'false'} aria-label=${on ? t('coupon.chosenLabel', { terms: couponTerms(c) }) : t('coupon.pickLabel', { terms: couponTerms(c) })} @click=${() => {
                if (on) couponChoice.delete(it.id);
                else couponChoice.set(it.id, c.id);
                draw();
              }}>${on ? `✓ ${t('coupon.chosen')}` : t('coupon.pick')}</button></div>`;
          })}
          <p class="muted">${chosen ? t('coupon.willUse', { terms: couponTerms(chosen) }) : t('coupon.none')}</p></div>`
        : ''
    }
    ${
      o.team
        ? html`<div class="offer team-offer"><strong>${t('team.title')}</strong> ${t('team.offer', { size: o.team.size, price: yuan(o.team.price) })} · ${t('team.window', { w: span(o.team.windowMs) })}
          <button type="button" class="primary" ?disabled=${!live || busy.has(`team-open-${it.id}`)} @click=${() => openTeam(it)}>${t('team.open', { price: yuan(o.team.price) })}</button></div>`
        : ''
    }
    ${myTeamPanels.map((tm) => teamPanel(it, tm))}
    ${
      o.bargain
        ? html`<div class="offer bargain-offer"><strong>${t('bargain.title')}</strong> ${t('bargain.offer', { start: yuan(o.bargain.start), floor: yuan(o.bargain.floor), n: o.bargain.helpers })} · ${t('bargain.window', { w: span(o.bargain.windowMs) })}${
            o.bargain.newUsersOnly ? html` · ${t('bargain.newOnly')}` : ''
          }
          ${startedHere ? '' : html`<button type="button" class="primary" ?disabled=${!live || busy.has(`bargain-start-${it.id}`)} @click=${() => startBargain(it)}>${t('bargain.start')}</button>`}</div>`
        : ''
    }
    ${myBargains.map((b) => bargainPanel(it, b))}
    <div class="offer referral">
      <button type="button" @click=${() => share(it)}>${o.commissionBp ? t('ref.shareEarn', { pct: o.commissionBp / 100 }) : t('ref.share')}</button>
      ${link ? shareBox(link, t('ref.shareLabel')) : ''}
    </div>
  </div>`;
}

/** The heading of a link's item: a friend's share, or (reopened from the page's own address) the shopper's own team or bargain. */
function sharedTitle(): string {
  const own = (shared.team && teams.get(shared.team)?.leader === user) || (shared.bargain && bargains.get(shared.bargain)?.starter === user);
  return own ? t('shop.followed') : t('shop.shared');
}

function commissionPanel() {
  const c = commissions;
  return html`<section class="commissions panel" aria-label=${t('comm.title')}><h2>${t('comm.title')}
      <button type="button" class="small" @click=${() => void refreshCommissions()}>${t('orders.refresh')}</button></h2>
    ${
      c
        ? html`<p class="totals"><span class="credited">${t('comm.credited', { amount: yuan(c.totals.credited) })}</span> · <span class="reversed">${t('comm.reversed', { amount: yuan(c.totals.reversed) })}</span> ·
            <strong class="net">${t('comm.net', { amount: yuan(c.totals.net) })}</strong> <span class="muted">${t('comm.orders', { n: c.totals.orders })}</span></p>
          ${
            c.commissions.length
              ? html`<ul>${c.commissions.map(
                  (x) => html`<li data-order=${x.orderId}>${x.item.title} · ${t('comm.rate', { pct: x.rateBp / 100 })} · ${t('comm.row', { base: yuan(x.base), credited: yuan(x.credited), reversed: yuan(x.reversed), net: yuan(x.net) })}
                    <span class=${`state ${x.state}`}>${t(`state.${x.state}` as StringKey)}</span></li>`,
                )}</ul>`
              : html`<p class="muted">${t('comm.none')}</p>`
          }`
        : html`<p class="muted">${t('comm.loading')}</p>`
    }</section>`;
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
  const buying = busy.has(buyIntent(it));
  const label = it.kind === 'group' ? t('buy.join') : t('buy.buy');
  const when =
    phase === 'preheat' ? t('phase.preheat', { left: clock(it.startsAt - now) }) : phase === 'live' ? t('phase.live', { left: clock(it.endsAt - now) }) : t(`phase.${phase}` as StringKey);
  return html`<article class=${`card ${onAir ? 'onair' : ''} ${phase}`} data-item=${it.id} aria-label=${it.title}>
    <h2>${onAir ? html`<span class="badge">${t('onair')}</span> ` : ''}${it.title}</h2>
    <div class="price">${yuan(price)}${it.scheduledPrice && it.scheduledPrice.at > now ? html` <small>${t('price.scheduled', { price: yuan(it.scheduledPrice.price), at: time(it.scheduledPrice.at) })}</small>` : ''}</div>
    <div class="meta"><span class="stock">${stock ? t('stock.left', { n: stock.available, total: it.total }) : ''}</span> · <span class="phase">${when}</span></div>
    ${tierBar(v, it)}
    ${offersBlock(it, phase)}
    ${refusals.has(it.id) ? html`<p class="refusal" role="alert">⚠ ${refusals.get(it.id)}</p>` : ''}
    ${hostReminders.has(it.id) ? html`<p class="host-reminder">${t('shop.hostReminder', { text: hostReminders.get(it.id)! })}</p>` : ''}
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
  const fromOrders = orders
    .filter((o) => o.state === 'held' && o.deadline !== null)
    .map((o): Hold => ({ orderId: o.orderId, itemId: o.item.id, title: o.item.title, qty: o.qty, amount: o.amount, deadline: o.deadline!, breakdown: o.breakdown }));
  const all = new Map<string, Hold>([...fromOrders.map((h) => [h.orderId, h] as const), ...[...holds].map(([id, h]) => [id, { ...h, breakdown: h.breakdown ?? fromOrders.find((o) => o.orderId === id)?.breakdown }] as const)]);
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
        ${breakdownText(h.breakdown, h.itemId) ? html`<div class="breakdown muted">${breakdownText(h.breakdown, h.itemId)}</div>` : ''}
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
              ${breakdownText(o.breakdown, o.item.id) ? html`<div class="breakdown muted">${breakdownText(o.breakdown, o.item.id)}</div>` : ''}
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
  // A shared link's item comes first (the team or bargain its sharer asked for), shown once.
  const sharedItem = v && shared.item && shared.item !== v.doc.onAir ? v.doc.items[shared.item] : undefined;
  const others = v ? v.doc.listing.filter((id) => id !== v.doc.onAir && id !== sharedItem?.id && v.doc.items[id]).map((id) => v.doc.items[id]!) : [];
  const last = v?.doc.announcements?.at(-1);
  const pinned = v?.doc.pinned ?? undefined;
  render(
    html`${header(v ? v.doc.title : t('shop.title'), draw)}
    <main class="shop">
      ${connLine(state)}
      ${!roomId ? html`<p class="status bad" role="alert">${t('conn.noRoomGiven')}</p>` : ''}
      ${pinned ? html`<p class="announce pinned" role="status"><strong>📌 ${t('ann.pinned')}</strong> ${pinned.text}</p>` : ''}
      ${last && last.id !== pinned?.id ? html`<p class="announce" role="status"><strong>${t('ann.title')}</strong> ${last.text}</p>` : ''}
      ${referral ? html`<p class=${`status ${referral.ok ? 'ok' : 'bad'}`} role="status">${referral.ok ? '🔗' : '⚠'} ${referral.text}</p>` : ''}
      ${v && sharedItem ? html`<section aria-label=${sharedTitle()}><h2>${sharedTitle()}</h2>${itemCard(v, sharedItem, false)}</section>` : ''}
      ${v && shared.item && !v.doc.items[shared.item] ? html`<p class="status bad" role="alert">⚠ ${t('err.ITEM_NOT_FOUND')}</p>` : ''}
      ${v ? (onAir ? itemCard(v, onAir, true) : html`<p class="muted">${t('shop.nothingOnAir')}</p>`) : ''}
      ${holdList()}
      ${v ? lotteries(v) : ''}
      ${v && others.length ? html`<section aria-label=${t('shop.more')}><h2>${t('shop.more')}</h2>${others.map((it) => itemCard(v, it, false))}</section>` : ''}
      ${v ? orderList() : ''}
      ${v ? commissionPanel() : ''}
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
    if (f?.type === 'reminder') {
      hostReminders.set(f.itemId, f.text);
      toast(t('shop.hostReminder', { text: f.text }));
    }
    draw();
  });
  await live.start();
  if (live.state.kind !== 'live') return;
  if (shared.item && shared.team) void loadTeam(shared.item, shared.team);
  if (shared.item && shared.bargain) void loadBargain(shared.item, shared.bargain);
  void recordReferral();
  void refreshCommissions();
}

/** Open bargains are read again: a help changes the price without a room delta. */
function pollBargains(): void {
  const now = serverNow();
  for (const b of bargains.values()) if (b.state === 'open' && now < b.endsAt) void loadBargain(b.itemId, b.bargainId);
}

setInterval(draw, 500);
setInterval(() => void refreshOrders(), 5000);
// Commissions are read from the ledger: only a shopper who shared a link here, or has earned before, reads them again.
setInterval(() => {
  if (shares.size || (commissions?.totals.orders ?? 0) > 0) void refreshCommissions();
}, 5000);
setInterval(pollBargains, 2000);
void main().catch((err) => toast(errorText(err), 'bad'));
