/// <reference lib="dom" />
/**
 * The ops dashboard's marketing section, from the show's review report (orders/report.ts): team
 * buys, bargains, coupons, the member-day discount, referral commissions (in all and per
 * referrer) and the lifecycle segments of the room's buyers; and the form that sets a shopper's
 * member tier (PUT /members/:userId/tier). Every figure carries its unit in words.
 */
import type { HttpClient } from '../client.ts';
import type { TemplateResult } from 'lit-html';
import { errorText, html, t, yuan } from './core.ts';
import type { StringKey } from './strings-zh.ts';

interface Metric {
  metric: string;
  value: number | null;
}

/** The parts of the review report this section reads. */
export interface MarketingReport {
  metrics: Metric[];
  teamBuys?: Metric[];
  bargains?: Metric[];
  referrers?: { referrer: string; metrics: Metric[] }[];
  referralTotals?: Metric[];
  segments?: { stages: Record<(typeof stages)[number], number>; shoppers: number };
}

const stages = ['new', 'active', 'dormant', 'churned'] as const;
const tiers = ['regular', 'silver', 'gold'] as const;
const val = (ms: Metric[] | undefined, name: string): number => ms?.find((m) => m.metric === name)?.value ?? 0;

/** A figure's text with its unit: fen as yuan, counts with their measure word (English labels name the measure). */
type Unit = 'fen' | 'teams' | 'times' | 'orders' | 'coupons' | 'people';
const shown = (n: number, unit: Unit): string => (unit === 'fen' ? yuan(n) : t(`opsMkt.unit.${unit}` as StringKey, { n: n.toLocaleString('en-US') }));

function card(title: StringKey, rows: [StringKey, string, number, Unit][]): TemplateResult {
  return html`<div class="mkt-card" role="group" aria-label=${t(title)}><h3>${t(title)}</h3>
    <dl>${rows.map(([label, metric, n, unit]) => html`<div class="fig" data-metric=${metric}><dt>${t(label)}</dt><dd>${shown(n, unit)}</dd></div>`)}</dl></div>`;
}

/** What the tier form last said (in the page's language of the moment). */
let tierNote: { say: () => string; bad: boolean } | undefined;
let tierBusy = false;

async function setTier(e: Event, http: HttpClient | undefined, redraw: () => void): Promise<void> {
  e.preventDefault();
  const f = e.target as HTMLFormElement;
  const data = new FormData(f);
  const userId = String(data.get('userId') ?? '').trim();
  const tier = String(data.get('tier') ?? '') as (typeof tiers)[number];
  // The server's rule for a user id, said before anything is sent.
  if (!/^[\x21-\x7e]{1,128}$/.test(userId)) {
    tierNote = { say: () => t('opsMkt.bad.userId'), bad: true };
    return redraw();
  }
  if (!http || tierBusy) return;
  tierBusy = true;
  tierNote = undefined;
  redraw();
  try {
    await http.setMemberTier(userId, tier);
    tierNote = { say: () => t('opsMkt.tierSet', { user: userId, tier: t(`hostOffer.tier.${tier}` as StringKey) }), bad: false };
    f.reset();
  } catch (err) {
    const message = errorText(err);
    tierNote = { say: () => t('hostOffer.refused', { message }), bad: true };
  } finally {
    tierBusy = false;
    redraw();
  }
}

function tierForm(http: HttpClient | undefined, redraw: () => void): TemplateResult {
  return html`<form class="tier-form" aria-label=${t('opsMkt.tierForm')} novalidate @submit=${(e: Event) => void setTier(e, http, redraw)}>
    <h3>${t('opsMkt.tierForm')}</h3>
    <label>${t('opsMkt.userId')} <input name="userId" size="16" autocomplete="off"></label>
    <label>${t('opsMkt.tier')} <select name="tier">${tiers.map((x) => html`<option value=${x}>${t(`hostOffer.tier.${x}` as StringKey)}</option>`)}</select></label>
    <button type="submit" ?disabled=${tierBusy || !http}>${t('opsMkt.setTier')}</button>
    ${tierNote ? html`<p class=${`form-note ${tierNote.bad ? 'bad' : 'ok'}`} role=${tierNote.bad ? 'alert' : 'status'}>${tierNote.bad ? '⚠ ' : '✓ '}${tierNote.say()}</p>` : ''}</form>`;
}

export function marketing(report: MarketingReport | undefined, http: HttpClient | undefined, redraw: () => void): TemplateResult {
  const m = report?.metrics;
  const team = report?.teamBuys;
  const bargain = report?.bargains;
  const ref = report?.referralTotals;
  const seg = report?.segments;
  const referrers = report?.referrers ?? [];
  const money = (ms: Metric[]) => (name: string) => yuan(val(ms, name));
  return html`<section class="panel marketing" aria-label=${t('opsMkt.title')}><h2>${t('opsMkt.title')}</h2>
    ${
      report
        ? html`<div class="mkt-grid">
      ${card('opsMkt.teams', [
        ['opsMkt.teamsOpened', 'teams_opened', val(team, 'teams_opened'), 'teams'],
        ['opsMkt.teamsFormed', 'teams_formed', val(team, 'teams_formed'), 'teams'],
        ['opsMkt.teamsFailed', 'teams_failed', val(team, 'teams_failed'), 'teams'],
        ['opsMkt.teamRefunded', 'team_refunded', val(team, 'team_refunded'), 'fen'],
      ])}
      ${card('opsMkt.bargains', [
        ['opsMkt.bargainsStarted', 'bargains_started', val(bargain, 'bargains_started'), 'times'],
        ['opsMkt.bargainsHelped', 'bargains_helped', val(bargain, 'bargains_helped'), 'times'],
        ['opsMkt.bargainsBought', 'bargains_bought', val(bargain, 'bargains_bought'), 'orders'],
      ])}
      ${card('opsMkt.coupons', [
        ['opsMkt.couponsIssued', 'coupons_issued', val(m, 'coupons_issued'), 'coupons'],
        ['opsMkt.couponsUsed', 'coupons_used', val(m, 'coupons_used'), 'coupons'],
        ['opsMkt.couponDiscount', 'coupon_discount', val(m, 'coupon_discount'), 'fen'],
        ['opsMkt.memberDiscount', 'member_discount', val(m, 'member_discount'), 'fen'],
      ])}
      ${card('opsMkt.commissions', [
        ['opsMkt.referralOrders', 'referral_orders', val(ref, 'referral_orders'), 'orders'],
        ['opsMkt.commissionCredited', 'commission_credited', val(ref, 'commission_credited'), 'fen'],
        ['opsMkt.commissionReversed', 'commission_reversed', val(ref, 'commission_reversed'), 'fen'],
        ['opsMkt.commissionNet', 'commission_net', val(ref, 'commission_net'), 'fen'],
      ])}
      ${card('opsMkt.segments', [...stages.map((s): [StringKey, string, number, Unit] => [`hostOffer.stage.${s}` as StringKey, `segment_${s}`, seg?.stages[s] ?? 0, 'people']), ['opsMkt.shoppers', 'segment_shoppers', seg?.shoppers ?? 0, 'people']])}
    </div>
    <p class="muted">${t('opsMkt.segmentsNote')}</p>
    <h3>${t('opsMkt.perReferrer')}</h3>
    ${
      referrers.length
        ? html`<table class="referrers"><thead><tr><th>${t('opsMkt.referrer')}</th><th>${t('opsMkt.referralOrders')}</th><th>${t('opsMkt.referralGmv')}</th><th>${t('opsMkt.commissionCredited')}</th><th>${t('opsMkt.commissionReversed')}</th><th>${t('opsMkt.commissionNet')}</th></tr></thead>
        <tbody>${referrers.map((r) => {
          const y = money(r.metrics);
          return html`<tr data-referrer=${r.referrer}><td>${r.referrer}</td><td>${shown(val(r.metrics, 'referral_orders'), 'orders')}</td><td>${y('referral_paid_gmv')}</td><td>${y('commission_credited')}</td><td>${y('commission_reversed')}</td><td>${y('commission_net')}</td></tr>`;
        })}</tbody></table>`
        : html`<p class="muted">${t('opsMkt.noReferrers')}</p>`
    }`
        : html`<p class="muted">${t('ops.noShow')}</p>`
    }
    ${tierForm(http, redraw)}
  </section>`;
}
