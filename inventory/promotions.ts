import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, expectOk } from '../common/contracts/script-codes.ts';
import { couponFields } from '../common/contracts/keys.ts';
import { decodeAudience, encodeAudience, lifecycleStages, memberTiers, type CouponAudience, type CouponCampaign, type MemberDayRule, type MemberTier, type PriceStep } from '../common/contracts/pricing.ts';
import { ItemOps } from './item-ops.ts';
import { checkInt } from './validate.ts';

/**
 * A flash-sale item's member-day rule and coupon campaigns (inventory/lua/set-promotion-3.lua),
 * kept with its holds so a coupon is reserved in the same atomic call as the stock
 * (inventory/lua/includes/coupon.lua). The price they make is common/contracts/pricing.ts.
 *
 *   setMemberDay(itemId, rule)             -> void (replaces the rule; later holds use it)
 *   addCampaign(itemId, campaign)          -> boolean (false: the same campaign was there); a
 *                                             campaign's audience (tiers, stages) is kept with it
 *                                             and enforced by the reserve script
 *   campaign(itemId, id)                   -> CampaignState | undefined
 *   holdCoupon(itemId, orderId)            -> the hold's coupon and discounts, or undefined
 */

export interface CampaignState {
  readonly id: string;
  /** Coupons neither reserved nor spent now. */
  readonly left: number;
  /** Coupons ever reserved on a hold. */
  readonly issued: number;
  /** Coupons spent on a paid order, less those a refund restored. */
  readonly spent: number;
  /** Who may use it (absent: anyone). */
  readonly audience?: CouponAudience;
}

/**
 * The audience as set-promotion-3.lua takes it: the tiers and the stages, each "|"-joined in the
 * contracts' order (the same audience in another order is the same campaign), "" for any.
 */
function audienceArgs(a: CouponAudience | undefined): [string, string] {
  if (a?.tiers?.length === 0 || a?.stages?.length === 0) throw new LivesaleError('INVALID_ARGUMENT', 'an audience list names at least one tier or stage (leave it out for everyone)');
  for (const t of a?.tiers ?? []) if (!memberTiers.includes(t)) throw new LivesaleError('INVALID_ARGUMENT', 'audience tiers are regular, silver or gold');
  for (const s of a?.stages ?? []) if (!lifecycleStages.includes(s)) throw new LivesaleError('INVALID_ARGUMENT', 'audience stages are new, active, dormant or churned');
  const enc = encodeAudience(a);
  if (enc === '') return ['', ''];
  const [tiers, stages] = enc.split(',') as [string, string];
  return [tiers === '*' ? '' : tiers, stages === '*' ? '' : stages];
}

export interface HoldCoupon {
  readonly state: 'reserved' | 'spent' | 'freed';
  /** The campaign (undefined: a member-day discount only). */
  readonly campaign?: string;
  readonly couponOff: number;
  readonly memberOff: number;
  /** The tier the member-day rule priced. */
  readonly tier: MemberTier;
}

/** The hold's coupon record (includes/coupon.lua: state,campaign,couponOff,memberOff,tier). */
export function parseHoldCoupon(raw: string): HoldCoupon | undefined {
  const m = /^([rsf]),([A-Za-z0-9_~-]+),(\d+),(\d+),(regular|silver|gold)$/.exec(raw);
  if (!m) return undefined;
  return {
    state: couponStates[m[1] as keyof typeof couponStates],
    ...(m[2] === '~' ? {} : { campaign: m[2]! }),
    couponOff: Number(m[3]),
    memberOff: Number(m[4]),
    tier: m[5] as MemberTier,
  };
}

/** The price steps of a hold from its coupon record (undefined: no discount, the base alone). */
export function holdBreakdown(unitPrice: number, qty: number, c: HoldCoupon | undefined): PriceStep[] {
  const steps: PriceStep[] = [{ step: 'base', rule: `unit ${unitPrice} x ${qty}`, amount: unitPrice * qty }];
  if (c && c.memberOff > 0) steps.push({ step: 'member', rule: `member-day:${c.tier}`, amount: 0 - c.memberOff });
  if (c?.campaign) steps.push({ step: 'coupon', rule: `coupon:${c.campaign}`, amount: 0 - c.couponOff });
  return steps;
}

const couponStates = { r: 'reserved', s: 'spent', f: 'freed' } as const;
const money = 10_000_000_000_000;

export class Promotions extends ItemOps {
  async setMemberDay(itemId: string, rule: MemberDayRule): Promise<void> {
    const v = [rule.threshold, rule.off.regular, rule.off.silver, rule.off.gold].map((n, i) => checkInt(n, i === 0 ? 'threshold' : 'amount off', 0, money));
    const k = this.keys.item(itemId);
    expectOk(await this.scripts.call('set-promotion', [k.item, k.holds, k.outbox], ['md', ...v]));
  }

  async addCampaign(itemId: string, c: CouponCampaign): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(c.id)) throw new LivesaleError('INVALID_ARGUMENT', 'a campaign id is 1..64 letters, digits, - or _');
    if (c.kind !== 'fixed' && c.kind !== 'percent' && c.kind !== 'spend') throw new LivesaleError('INVALID_ARGUMENT', 'coupon kind is fixed, percent or spend');
    const k = this.keys.item(itemId);
    const a = expectOk(
      await this.scripts.call('set-promotion', [k.item, k.holds, k.outbox], [
        'campaign',
        c.id,
        c.kind,
        checkInt(c.amount, 'amount', 0, money),
        checkInt(c.percent, 'percent', 0, 99),
        checkInt(c.minSpend, 'minimum spend', 0, money),
        checkInt(c.perUser, 'per-user limit', 1, 1_000_000),
        checkInt(c.startsAt, 'startsAt', 0, 99_999_999_999_999),
        checkInt(c.endsAt, 'endsAt', 0, 99_999_999_999_999),
        checkInt(c.budget, 'budget', 1, 100_000_000),
        ...audienceArgs(c.audience),
      ]),
    );
    return a.code === ScriptCode.OK;
  }

  async campaign(itemId: string, id: string): Promise<CampaignState | undefined> {
    const k = this.keys.item(itemId);
    const [cfg, left, issued, spent] = await this.redis.hmget(k.holds, couponFields.campaign(id), couponFields.left(id), couponFields.issued(id), couponFields.spent(id));
    if (cfg === null) return undefined;
    const audience = decodeAudience(cfg ?? '');
    return { id, left: Number(left ?? 0), issued: Number(issued ?? 0), spent: Number(spent ?? 0), ...(audience ? { audience } : {}) };
  }

  /** Coupons of the campaign the user holds or has spent now (what its per-user limit counts). */
  async userCoupons(itemId: string, id: string, userId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.item(itemId).holds, couponFields.userCount(id, userId))) ?? 0);
  }

  async holdCoupon(itemId: string, orderId: string): Promise<HoldCoupon | undefined> {
    const raw = await this.redis.hget(this.keys.item(itemId).holds, couponFields.order(orderId));
    return raw === null ? undefined : parseHoldCoupon(raw);
  }
}
