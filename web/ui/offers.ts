/// <reference lib="dom" />
/**
 * The host console's offers panel of a flash-sale item: what the item offers now (team buy,
 * bargain, member-day rule, coupon campaigns, referral commission), the live progress of its
 * teams, and one form per marketing tool plus a reminder to an audience. Every form checks its
 * values before anything is sent (money typed in yuan, sent in fen; a rate typed in percent, sent
 * in basis points) and says in the form what is wrong; the server's refusal is said there too.
 */
import type { Audience, CommandResult, Delta, ItemInfo, ItemOffers } from '../../common/contracts/protocol.ts';
import type { CommandInput } from '../client.ts';
import type { TemplateResult } from 'lit-html';
import { html, parseYuan, serverNow, t, time, yuan } from './core.ts';
import type { StringKey } from './strings-zh.ts';

/** How the panel runs a command: the console's command path (one key per intent, its base version). */
export interface OfferDeps {
  command(intent: string, cmd: CommandInput, done?: (r: CommandResult) => void, refused?: (message: string) => void): Promise<void>;
  redraw(): void;
}

const memberTiers = ['regular', 'silver', 'gold'] as const;
const stages = ['new', 'active', 'dormant', 'churned'] as const;
/** The longest window a team, a bargain or a coupon may be given here (the contract's 7 days). */
const maxWindowSeconds = 604_800;

interface TeamProgress {
  state: 'open' | 'formed' | 'failed';
  seats: number;
  paid: number;
  size: number;
  ver: number;
}

/** Teams seen in the room's deltas, per item: the latest version of each wins. */
const teams = new Map<string, Map<string, TeamProgress>>();
/** What each form last said (a check that failed, a refusal, a success), by form and item; said in the page's language of the moment. */
const notes = new Map<string, { say: () => string; bad: boolean }>();
/** The coupon kind chosen in each item's coupon form (it decides which fields apply). */
const couponKinds = new Map<string, 'fixed' | 'percent' | 'spend'>();

/** Folds a delta's team progress (state lane: the latest version wins, formed or failed at once). */
export function trackTeam(d: Delta): void {
  if (d.t !== 'team') return;
  const byItem = teams.get(d.item) ?? new Map<string, TeamProgress>();
  const cur = byItem.get(d.team);
  if (!cur || d.ver > cur.ver) byItem.set(d.team, { state: d.state, seats: d.seats, paid: d.paid, size: d.size, ver: d.ver });
  teams.set(d.item, byItem);
}

/** A duration as a person reads it: whole hours, whole minutes, else seconds. */
function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0) return t('hostOffer.hours', { n: s / 3600 });
  if (s % 60 === 0) return t('hostOffer.minutes', { n: s / 60 });
  return t('hostOffer.seconds', { n: s });
}

/** Basis points as a percent with at most two decimals: 250 → "2.5". */
const percentOfBp = (bp: number): string => String(bp / 100);

export function audienceText(a: Audience | undefined): string {
  if (!a || (!a.tiers && !a.stages)) return t('hostOffer.everyone');
  const parts = [...(a.tiers ?? []).map((x) => t(`hostOffer.tier.${x}` as StringKey)), ...(a.stages ?? []).map((x) => t(`hostOffer.stage.${x}` as StringKey))];
  return parts.join(' + ');
}

function couponTerms(c: NonNullable<ItemOffers['coupons']>[number]): string {
  if (c.kind === 'percent') return c.minSpend ? t('hostOffer.couponPercentMin', { pct: c.percent, min: yuan(c.minSpend) }) : t('hostOffer.couponPercent', { pct: c.percent });
  if (c.kind === 'spend' || c.minSpend) return t('hostOffer.couponSpend', { min: yuan(c.minSpend), amount: yuan(c.amount) });
  return t('hostOffer.couponFixed', { amount: yuan(c.amount) });
}

/** What the item offers now, one line per tool (each line names its tool in words). */
function current(o: ItemOffers | undefined): TemplateResult {
  const lines: TemplateResult[] = [];
  if (o?.team) lines.push(html`<li class="offer-team">${t('hostOffer.nowTeam', { size: o.team.size, price: yuan(o.team.price), window: span(o.team.windowMs), per: o.team.teamsPerUser })}</li>`);
  if (o?.bargain)
    lines.push(
      html`<li class="offer-bargain">${t('hostOffer.nowBargain', { start: yuan(o.bargain.start), floor: yuan(o.bargain.floor), helpers: o.bargain.helpers, window: span(o.bargain.windowMs) })}${o.bargain.newUsersOnly ? t('hostOffer.newOnly') : ''}</li>`,
    );
  if (o?.memberDay) lines.push(html`<li class="offer-member">${t('hostOffer.nowMemberDay', { threshold: yuan(o.memberDay.threshold), regular: yuan(o.memberDay.off.regular), silver: yuan(o.memberDay.off.silver), gold: yuan(o.memberDay.off.gold) })}</li>`);
  for (const c of o?.coupons ?? [])
    lines.push(html`<li class="offer-coupon" data-coupon=${c.id}>${t('hostOffer.nowCoupon', { id: c.id, terms: couponTerms(c), per: c.perUser, from: time(c.startsAt), to: time(c.endsAt), audience: audienceText(c.audience) })}</li>`);
  if (o?.commissionBp !== undefined) lines.push(html`<li class="offer-commission">${t('hostOffer.nowCommission', { pct: percentOfBp(o.commissionBp) })}</li>`);
  return lines.length ? html`<ul class="offers-now">${lines}</ul>` : html`<p class="muted offers-now">${t('hostOffer.none')}</p>`;
}

/** The item's teams as the room's deltas told them: open ones first, then by seats taken. */
function teamProgress(it: ItemInfo): TemplateResult | string {
  if (!it.offers?.team && !teams.has(it.id)) return '';
  const list = [...(teams.get(it.id) ?? new Map<string, TeamProgress>()).entries()].sort(([, a], [, b]) => Number(b.state === 'open') - Number(a.state === 'open') || b.seats - a.seats);
  const count = (s: TeamProgress['state']) => list.filter(([, p]) => p.state === s).length;
  return html`<div class="team-progress" role="group" aria-label=${t('hostOffer.teamsTitle')}>
    <strong>${t('hostOffer.teamsTitle')}</strong> <span class="team-counts">${t('hostOffer.teamCounts', { open: count('open'), formed: count('formed'), failed: count('failed') })}</span>
    ${
      list.length
        ? html`<ul class="teams">${list.slice(0, 8).map(
            ([id, p]) => html`<li class=${`team ${p.state}`} data-team=${id}><span>${t('hostOffer.teamLine', { id, seats: p.seats, size: p.size, paid: p.paid })} · <span class="state">${t(`hostOffer.team.${p.state}` as StringKey)}</span></span>
              <progress max=${p.size} .value=${p.seats} aria-label=${t('hostOffer.teamSeats', { id })}></progress></li>`,
          )}</ul>`
        : html`<p class="muted">${t('hostOffer.noTeams')}</p>`
    }</div>`;
}

// ---------------------------------------------------------------------------------------------
// Reading and checking the forms

class Refusal extends Error {
  constructor(
    readonly key: StringKey,
    readonly vars: Record<string, string | number>,
  ) {
    super(key);
  }
}
/** Field names in the message are string keys too, so a language switch translates the whole message. */
const refuse = (key: StringKey, vars: Record<string, string | number> = {}): never => {
  throw new Refusal(key, vars);
};
const said = (key: StringKey, vars: Record<string, string | number>) => () => t(key, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, k === 'field' ? t(v as StringKey) : v])));
const value = (f: HTMLFormElement, name: string): string => String(new FormData(f).get(name) ?? '').trim();

/** A yuan amount in fen; `min` is the least allowed (in fen). */
function money(f: HTMLFormElement, name: string, label: StringKey, min = 0): number {
  const fen = parseYuan(value(f, name));
  if (fen === undefined) return refuse('hostOffer.bad.yuan', { field: label });
  if (fen < min) return refuse('hostOffer.bad.yuanMin', { field: label, min: yuan(min) });
  return fen;
}

function integer(f: HTMLFormElement, name: string, min: number, max: number, bad: StringKey, dflt?: number): number {
  const s = value(f, name);
  const n = s === '' && dflt !== undefined ? dflt : Number(s);
  if (!/^\d*$/.test(s) || !Number.isInteger(n) || n < min || n > max) return refuse(bad, { min, max });
  return n;
}

/** Minutes typed (decimals allowed) as whole seconds, from 1 s to 7 days. */
function windowSeconds(f: HTMLFormElement, name: string, label: StringKey): number {
  const s = value(f, name);
  const n = Number(s);
  const secs = Math.round(n * 60);
  if (!/^\d+(\.\d+)?$/.test(s) || secs < 1 || secs > maxWindowSeconds) return refuse('hostOffer.bad.window', { field: label });
  return secs;
}

function audience(f: HTMLFormElement): Audience {
  const data = new FormData(f);
  const tiers = data.getAll('tiers').map(String) as NonNullable<Audience['tiers']>;
  const chosen = data.getAll('stages').map(String) as NonNullable<Audience['stages']>;
  return { ...(tiers.length ? { tiers } : {}), ...(chosen.length ? { stages: chosen } : {}) };
}

function teamCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'setTeamBuy'> {
  const size = integer(f, 'size', 2, 100, 'hostOffer.bad.size');
  const teamPrice = money(f, 'price', 'hostOffer.teamPrice', 1);
  const secs = windowSeconds(f, 'window', 'hostOffer.teamWindow');
  const teamsPerUser = integer(f, 'perUser', 1, 100, 'hostOffer.bad.teamsPerUser', 1);
  return { command: 'setTeamBuy', itemId: it.id, size, teamPrice, windowSeconds: secs, teamsPerUser };
}

function bargainCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'setBargain'> {
  const start = money(f, 'start', 'hostOffer.start', 1);
  const floor = money(f, 'floor', 'hostOffer.floor');
  const helpers = integer(f, 'helpers', 1, 1000, 'hostOffer.bad.helpers');
  // Every help cuts at least 1 fen, so the start must be at least `helpers` fen above the floor.
  if (start - floor < helpers) refuse('hostOffer.bad.floor', { helpers, gap: yuan(helpers) });
  const secs = windowSeconds(f, 'window', 'hostOffer.bargainWindow');
  return { command: 'setBargain', itemId: it.id, start, floor, helpers, windowSeconds: secs, newUsersOnly: new FormData(f).get('newUsersOnly') !== null };
}

function memberDayCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'setMemberDay'> {
  const threshold = money(f, 'threshold', 'hostOffer.threshold');
  const off = { regular: money(f, 'regular', 'hostOffer.off.regular'), silver: money(f, 'silver', 'hostOffer.off.silver'), gold: money(f, 'gold', 'hostOffer.off.gold') };
  // A rule that takes more off than the spend it starts from would sell below nothing at the threshold.
  if (threshold > 0 && Math.max(off.regular, off.silver, off.gold) > threshold) refuse('hostOffer.bad.offOverThreshold');
  return { command: 'setMemberDay', itemId: it.id, threshold, off };
}

function couponCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'addCoupon'> {
  const id = value(f, 'id');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) refuse('hostOffer.bad.couponId');
  const kind = (value(f, 'kind') || 'fixed') as 'fixed' | 'percent' | 'spend';
  const amount = kind === 'percent' ? 0 : money(f, 'amount', 'hostOffer.amount', 1);
  const percent = kind === 'percent' ? integer(f, 'percent', 1, 99, 'hostOffer.bad.percent') : 0;
  const minSpend = value(f, 'minSpend') === '' && kind !== 'spend' ? 0 : money(f, 'minSpend', 'hostOffer.minSpend');
  if (kind === 'spend' && minSpend <= amount) refuse('hostOffer.bad.spend');
  const budget = integer(f, 'budget', 1, 100_000_000, 'hostOffer.bad.budget');
  const perUser = integer(f, 'perUser', 1, 1_000_000, 'hostOffer.bad.perUser', 1);
  const startsIn = value(f, 'startsIn');
  if (startsIn !== '' && !/^\d+(\.\d+)?$/.test(startsIn)) refuse('hostOffer.bad.startsIn');
  const validFor = windowSeconds(f, 'validFor', 'hostOffer.validFor');
  const startsAt = serverNow() + Math.round(Number(startsIn || 0) * 60_000);
  const who = audience(f);
  return { command: 'addCoupon', itemId: it.id, id, kind, amount, percent, minSpend, budget, perUser, startsAt, endsAt: startsAt + validFor * 1000, ...(who.tiers || who.stages ? { audience: who } : {}) };
}

function commissionCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'setCommission'> {
  const s = value(f, 'rate');
  // Percent with at most two decimals is a whole number of basis points.
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(s) || Number(s) > 100) refuse('hostOffer.bad.commission');
  return { command: 'setCommission', itemId: it.id, rateBp: Math.round(Number(s) * 100) };
}

function remindCommand(it: ItemInfo, f: HTMLFormElement): CommandInput<'remind'> {
  const text = value(f, 'text');
  if (text.length > 200) refuse('hostOffer.bad.remindText');
  return { command: 'remind', itemId: it.id, audience: audience(f), ...(text ? { text } : {}) };
}

/** What a reminder reached, when the reply says so. */
function remindDone(r: CommandResult): () => string {
  const n = (k: string) => (typeof r.data?.[k] === 'number' ? (r.data[k] as number) : undefined);
  const targeted = n('targeted');
  const reached = n('reached');
  return targeted === undefined ? () => t('hostOffer.reminded') : () => t('hostOffer.remindedCount', { targeted, reached: reached ?? '—' });
}

/** A campaign's coupons as the reply reads them (left, reserved or spent so far); a repeat of the same campaign says it existed. */
function couponDone(r: CommandResult): () => string {
  const d = r.data ?? {};
  const n = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
  const left = n('left');
  if (left === undefined) return () => t('hostOffer.saved');
  const vars = { left, issued: n('issued') ?? 0, spent: n('spent') ?? 0 };
  return d.created === false ? () => t('hostOffer.couponKept', vars) : () => t('hostOffer.couponSaved', vars);
}

type Build = (it: ItemInfo, f: HTMLFormElement) => CommandInput;

/** Submits one form: checks it (a failed check sends nothing), then runs the command. */
function submit(deps: OfferDeps, it: ItemInfo, form: string, build: Build, after?: (r: CommandResult) => () => string) {
  return (e: Event) => {
    e.preventDefault();
    const f = e.target as HTMLFormElement;
    const key = `${form}-${it.id}`;
    let cmd: CommandInput;
    try {
      cmd = build(it, f);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      notes.set(key, { say: said(err.key, err.vars), bad: true });
      return deps.redraw();
    }
    notes.delete(key);
    deps.redraw();
    void deps.command(
      `${form}-${it.id}-${JSON.stringify({ ...cmd, ...('startsAt' in cmd ? { startsAt: 0, endsAt: 0 } : {}) })}`,
      cmd,
      (r) => {
        notes.set(key, { say: after ? after(r) : () => t('hostOffer.saved'), bad: false });
        deps.redraw();
      },
      (message) => {
        notes.set(key, { say: () => t('hostOffer.refused', { message }), bad: true });
        deps.redraw();
      },
    );
  };
}

function note(form: string, it: ItemInfo): TemplateResult | string {
  const n = notes.get(`${form}-${it.id}`);
  if (!n) return '';
  return html`<p class=${`form-note ${n.bad ? 'bad' : 'ok'}`} role=${n.bad ? 'alert' : 'status'}>${n.bad ? '⚠ ' : '✓ '}${n.say()}</p>`;
}

function audienceBoxes(): TemplateResult {
  return html`<fieldset class="audience"><legend>${t('hostOffer.audience')}</legend>
    <span class="muted">${t('hostOffer.audienceHint')}</span><br>
    ${memberTiers.map((x) => html`<label><input type="checkbox" name="tiers" value=${x}> ${t(`hostOffer.tier.${x}` as StringKey)}</label>`)}
    ${stages.map((x) => html`<label><input type="checkbox" name="stages" value=${x}> ${t(`hostOffer.stage.${x}` as StringKey)}</label>`)}</fieldset>`;
}

/** The offers panel of one flash-sale item in the host console's item list. */
export function offersPanel(it: ItemInfo, deps: OfferDeps): TemplateResult {
  const o = it.offers;
  const kind = couponKinds.get(it.id) ?? 'fixed';
  const form = (name: string, label: StringKey, build: Build, body: TemplateResult, after?: (r: CommandResult) => () => string) =>
    html`<form class="offer-form" aria-label=${t(label)} novalidate @submit=${submit(deps, it, name, build, after)}>
      <h4>${t(label)}</h4>${body}<button type="submit">${t(label)}</button>${note(name, it)}</form>`;
  return html`<div class="offers" data-offers=${it.id}>
    ${current(o)}
    ${teamProgress(it)}
    <details class="offer-tools"><summary>${t('hostOffer.tools')}</summary>
      <div class="offer-forms">
      ${form(
        'team',
        'hostOffer.teamForm',
        teamCommand,
        html`<label>${t('hostOffer.size')} <input name="size" inputmode="numeric" size="3" value=${o?.team?.size ?? 3}></label>
          <label>${t('hostOffer.teamPrice')} <input name="price" inputmode="decimal" size="7" placeholder=${o?.team ? (o.team.price / 100).toFixed(2) : ''}></label>
          <label>${t('hostOffer.teamWindow')} <input name="window" inputmode="decimal" size="4" value=${o?.team ? String(o.team.windowMs / 60_000) : '30'}></label>
          <label>${t('hostOffer.teamsPerUser')} <input name="perUser" inputmode="numeric" size="3" value=${o?.team?.teamsPerUser ?? 1}></label>`,
      )}
      ${form(
        'bargain',
        'hostOffer.bargainForm',
        bargainCommand,
        html`<label>${t('hostOffer.start')} <input name="start" inputmode="decimal" size="7" placeholder=${(it.price / 100).toFixed(2)}></label>
          <label>${t('hostOffer.floor')} <input name="floor" inputmode="decimal" size="7"></label>
          <label>${t('hostOffer.helpers')} <input name="helpers" inputmode="numeric" size="4" value=${o?.bargain?.helpers ?? 5}></label>
          <label>${t('hostOffer.bargainWindow')} <input name="window" inputmode="decimal" size="4" value=${o?.bargain ? String(o.bargain.windowMs / 60_000) : '60'}></label>
          <label><input type="checkbox" name="newUsersOnly"> ${t('hostOffer.newUsersOnly')}</label>`,
      )}
      ${form(
        'member',
        'hostOffer.memberForm',
        memberDayCommand,
        html`<label>${t('hostOffer.threshold')} <input name="threshold" inputmode="decimal" size="7"></label>
          ${memberTiers.map((x) => html`<label>${t(`hostOffer.off.${x}` as StringKey)} <input name=${x} inputmode="decimal" size="6" value="0"></label>`)}`,
      )}
      ${form(
        'coupon',
        'hostOffer.couponForm',
        couponCommand,
        html`<label>${t('hostOffer.couponId')} <input name="id" size="12"></label>
          <label>${t('hostOffer.kind')} <select name="kind" @change=${(e: Event) => {
            couponKinds.set(it.id, (e.target as HTMLSelectElement).value as 'fixed' | 'percent' | 'spend');
            deps.redraw();
          }}>${(['fixed', 'percent', 'spend'] as const).map((k) => html`<option value=${k} ?selected=${kind === k}>${t(`hostOffer.kind.${k}` as StringKey)}</option>`)}</select></label>
          <label>${t('hostOffer.amount')} <input name="amount" inputmode="decimal" size="6" ?disabled=${kind === 'percent'}></label>
          <label>${t('hostOffer.percent')} <input name="percent" inputmode="numeric" size="3" ?disabled=${kind !== 'percent'}></label>
          <label>${t('hostOffer.minSpend')} <input name="minSpend" inputmode="decimal" size="6" placeholder=${kind === 'spend' ? '' : '0'}></label>
          <label>${t('hostOffer.budget')} <input name="budget" inputmode="numeric" size="6" value="100"></label>
          <label>${t('hostOffer.perUser')} <input name="perUser" inputmode="numeric" size="3" value="1"></label>
          <label>${t('hostOffer.startsIn')} <input name="startsIn" inputmode="decimal" size="3" value="0"></label>
          <label>${t('hostOffer.validFor')} <input name="validFor" inputmode="decimal" size="4" value="60"></label>
          ${audienceBoxes()}`,
        couponDone,
      )}
      ${form(
        'commission',
        'hostOffer.commissionForm',
        commissionCommand,
        html`<label>${t('hostOffer.commissionPct')} <input name="rate" inputmode="decimal" size="5" placeholder=${o?.commissionBp === undefined ? '' : percentOfBp(o.commissionBp)}></label>`,
      )}
      ${form(
        'remind',
        'hostOffer.remindForm',
        remindCommand,
        html`<label>${t('hostOffer.remindText')} <input name="text" size="24" placeholder=${it.title}></label>${audienceBoxes()}`,
        remindDone,
      )}
      </div>
    </details></div>`;
}
