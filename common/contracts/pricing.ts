/**
 * Member tiers, member-day rules, coupon campaigns and the one price resolver.
 *
 * Precedence (what stacks, in this order; each step works on what the previous one left):
 *   1. base      the item's unit price in force (the flash price, or the scheduled price whose
 *                time has come) times the quantity;
 *   2. member    the member-day rule of the item: the shopper's tier's amount off when the base
 *                is at least the rule's threshold (regular, silver and gold each have their own
 *                amount; 0 means no discount for that tier);
 *   3. coupon    at most one coupon, on what the member step left: `fixed` takes its amount off
 *                (a 无门槛 coupon has minSpend 0), `spend` (满减) takes its amount off when the
 *                subtotal is at least minSpend, `percent` takes floor(subtotal × percent / 100)
 *                off when the subtotal is at least minSpend. A campaign with an audience
 *                applies only to a shopper of its tiers and stages (else the buy is refused).
 * Every discount is capped at what is left, so the price is never below zero, and the steps'
 * amounts (the base positive, each discount negative) sum to the price.
 *
 * Flash-sale buys only. A group join, a team seat and a bargain buy take no coupon (and no
 * member-day step): a join is priced at the tier its group's count reached, a seat at its team's
 * price, a bargain at its cut price, which are the offer already. Their requests have no coupon
 * field and their schemas are strict, so a join or seat that names a coupon is refused as
 * VALIDATION_FAILED (400) and changes nothing; the reserve scripts' idempotency record
 * (inventory/lua/includes/buy.lua) counts a join's coupon as none.
 *
 * The same function runs inside the reserve script (inventory/lua/includes/price.lua) so the
 * price and the coupon reservation are one atomic step; test/inventory/pricing.test.ts checks
 * the two agree on random rule sets.
 */

export const memberTiers = ['regular', 'silver', 'gold'] as const;
export type MemberTier = (typeof memberTiers)[number];

/**
 * Lifecycle stages of a shopper from the ledger (orders/segments.ts has the rules). The one list:
 * the protocol's `lifecycleStageSchema`, the segment rules and the reserve script's audience
 * check all use it. A shopper with no paid order has no stage.
 */
export const lifecycleStages = ['new', 'active', 'dormant', 'churned'] as const;
export type LifecycleStage = (typeof lifecycleStages)[number];

/**
 * Who a coupon campaign (or a reminder) is for: a shopper must match every field given; an
 * absent field admits everyone, so a campaign without an audience is for anyone. A `stages`
 * audience never admits a shopper without a stage.
 */
export interface CouponAudience {
  readonly tiers?: readonly MemberTier[] | undefined;
  readonly stages?: readonly LifecycleStage[] | undefined;
}

/** Whether a shopper of `tier`, in `stage` (undefined: none), is in the audience. */
export function inAudience(a: CouponAudience | undefined, tier: MemberTier, stage: LifecycleStage | undefined): boolean {
  if (!a) return true;
  if (a.tiers && !a.tiers.includes(tier)) return false;
  if (a.stages && (stage === undefined || !a.stages.includes(stage))) return false;
  return true;
}

/**
 * The audience as the campaign's stored config ends (inventory/lua/includes/coupon.lua):
 * "<tiers>,<stages>", each a "|"-joined list in the order of memberTiers / lifecycleStages, or "*"
 * for any; "" for no audience (the config is then as it was before audiences existed, so an
 * older campaign compares equal to itself).
 */
export function encodeAudience(a: CouponAudience | undefined): string {
  const tiers = a?.tiers?.length ? memberTiers.filter((t) => a.tiers!.includes(t)) : undefined;
  const stages = a?.stages?.length ? lifecycleStages.filter((s) => a.stages!.includes(s)) : undefined;
  if (!tiers && !stages) return '';
  return `${tiers ? tiers.join('|') : '*'},${stages ? stages.join('|') : '*'}`;
}

/** The audience of a stored campaign config (undefined: everyone). */
export function decodeAudience(config: string): CouponAudience | undefined {
  const f = config.split(',');
  if (f.length < 10) return undefined;
  const list = <T extends string>(s: string, all: readonly T[]): T[] | undefined => (s === '*' ? undefined : s.split('|').filter((x): x is T => (all as readonly string[]).includes(x)));
  const tiers = list(f[8]!, memberTiers);
  const stages = list(f[9]!, lifecycleStages);
  if (!tiers && !stages) return undefined;
  return { ...(tiers ? { tiers } : {}), ...(stages ? { stages } : {}) };
}

/** A member-day rule: `off[tier]` fen off an order whose base is at least `threshold` fen. */
export interface MemberDayRule {
  readonly threshold: number;
  readonly off: Readonly<Record<MemberTier, number>>;
}

export type CouponKind = 'fixed' | 'percent' | 'spend';

/** A coupon campaign of one item. */
export interface CouponCampaign {
  /** Letters, digits, - and _ (1..64). */
  readonly id: string;
  readonly kind: CouponKind;
  /** fixed / spend: fen off. percent: unused (0). */
  readonly amount: number;
  /** percent: 1..99 percent off. Others: unused (0). */
  readonly percent: number;
  /** The subtotal (after the member step) the coupon needs, in fen; 0: no threshold. */
  readonly minSpend: number;
  /** How many coupons the campaign gives out in all (reserved or spent at one time). */
  readonly budget: number;
  /** How many one shopper may hold or have spent at one time. */
  readonly perUser: number;
  /** Validity (Redis clock, ms): startsAt <= now < endsAt. */
  readonly startsAt: number;
  readonly endsAt: number;
  /** Who may use it (absent: anyone); the reserve script refuses anyone else (COUPON_NOT_FOR_YOU). */
  readonly audience?: CouponAudience | undefined;
}

export type PriceStepName = 'base' | 'member' | 'coupon';

/** One step of a price: the rule that fired and its amount (base positive, discounts negative). */
export interface PriceStep {
  readonly step: PriceStepName;
  /** base: "unit <price> x <qty>"; member: "member-day:<tier>"; coupon: "coupon:<campaign id>". */
  readonly rule: string;
  readonly amount: number;
}

export interface PriceInput {
  readonly unitPrice: number;
  readonly qty: number;
  readonly tier: MemberTier;
  /** The shopper's lifecycle stage (undefined: none, no paid order); only a coupon's audience reads it. */
  readonly stage?: LifecycleStage | undefined;
  readonly memberDay?: MemberDayRule | undefined;
  readonly coupon?: CouponCampaign | undefined;
  readonly now: number;
}

export type CouponRefusal = 'not_for_you' | 'not_valid_now' | 'below_min_spend';

export interface ResolvedPrice {
  readonly steps: readonly PriceStep[];
  /** What the shopper pays: the sum of the steps' amounts, never below zero. */
  readonly amount: number;
  /** The coupon's discount (0 without one). */
  readonly couponOff: number;
  /** Set when a coupon was asked for and does not apply (the buy is refused). */
  readonly couponRefusal?: CouponRefusal;
}

/** The price of a buy: the steps in precedence order and what is paid. */
export function resolvePrice(input: PriceInput): ResolvedPrice {
  const base = input.unitPrice * input.qty;
  const steps: PriceStep[] = [{ step: 'base', rule: `unit ${input.unitPrice} x ${input.qty}`, amount: base }];
  let left = base;
  const md = input.memberDay;
  if (md && base >= md.threshold) {
    const off = Math.min(md.off[input.tier], left);
    if (off > 0) {
      steps.push({ step: 'member', rule: `member-day:${input.tier}`, amount: 0 - off });
      left -= off;
    }
  }
  let couponOff = 0;
  const c = input.coupon;
  if (c) {
    if (!inAudience(c.audience, input.tier, input.stage)) return { steps, amount: left, couponOff: 0, couponRefusal: 'not_for_you' };
    if (input.now < c.startsAt || input.now >= c.endsAt) return { steps, amount: left, couponOff: 0, couponRefusal: 'not_valid_now' };
    if (left < c.minSpend) return { steps, amount: left, couponOff: 0, couponRefusal: 'below_min_spend' };
    const raw = c.kind === 'percent' ? Math.floor((left * c.percent) / 100) : c.amount;
    couponOff = Math.min(raw, left);
    steps.push({ step: 'coupon', rule: `coupon:${c.id}`, amount: 0 - couponOff });
    left -= couponOff;
  }
  return { steps, amount: left, couponOff };
}

/**
 * The breakdown as the reserve script answers it (no commas: the answer is stored as text):
 * steps separated by ";", each "b.<amount>" (base), "m.<tier>.<off>" or "c.<campaign>.<off>".
 */
export function parseBreakdown(text: string, unitPrice: number, qty: number): PriceStep[] {
  const steps: PriceStep[] = [];
  for (const part of text.split(';')) {
    const f = part.split('.');
    if (f[0] === 'b') steps.push({ step: 'base', rule: `unit ${unitPrice} x ${qty}`, amount: Number(f[1]) });
    else if (f[0] === 'm') steps.push({ step: 'member', rule: `member-day:${f[1]}`, amount: 0 - Number(f[2]) });
    else if (f[0] === 'c') steps.push({ step: 'coupon', rule: `coupon:${f[1]}`, amount: 0 - Number(f[2]) });
  }
  return steps;
}

/** The breakdown of a hold without promotions (the base step alone). */
export function baseBreakdown(unitPrice: number, qty: number): PriceStep[] {
  return [{ step: 'base', rule: `unit ${unitPrice} x ${qty}`, amount: unitPrice * qty }];
}
