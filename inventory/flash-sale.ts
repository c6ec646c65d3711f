import { randomUUID } from 'node:crypto';
import { LivesaleError, errorTable } from '../common/platform/errors.ts';
import { ScriptCode, decodeAnswer, expectOk, refusalFor, scriptError, type Refusal, type ScriptAnswer } from '../common/contracts/script-codes.ts';
import { ItemOps, type HostOptions } from './item-ops.ts';
import { couponFields, relayGroup, type ItemKeys } from '../common/contracts/keys.ts';
import { holdBreakdown, parseHoldCoupon } from './promotions.ts';
import type { HoldView } from './item-ops.ts';
import { checkIdem, checkInt, checkOpId, checkOrderId, checkQty, checkUser } from './validate.ts';
import { baseBreakdown, lifecycleStages, memberTiers, parseBreakdown, type LifecycleStage, type MemberTier, type PriceStep } from '../common/contracts/pricing.ts';

/**
 * Flash sales (秒杀): the typed wrappers over the flash-sale scripts, the only code that changes
 * flash-sale stock. Phases by the Redis clock: pre-heat (before startsAt: visible, shoppers may
 * subscribe for a reminder) -> live -> ended.
 *
 *   createItem(spec)                                   -> boolean (false: existed, nothing changed)
 *   reserve(itemId, userId, qty, idempotencyKey, { tier?, stage?, coupon? }) -> Held | Refused | Duplicate
 *       (priced by common/contracts/pricing.ts; the coupon is reserved with the hold, if the
 *       shopper's tier and stage are in its audience)
 *   setPrice(itemId, price, { at? }, by, { opId? })    -> PriceSet { price, ver, scheduled? }
 *   applyDuePrice(itemId)                              -> PriceSet | undefined (nothing due)
 *   awardPrizes(itemId, lotteryId, winners, claimMs)   -> PrizesAwarded (zero-price holds by rank)
 * and, shared with group buys (inventory/item-ops.ts):
 *   adjustStock(itemId, delta, by, { opId? })          -> { total, available, ver, duplicate }
 *   setWindow(itemId, startsAt | 'now', endsAt | 'now', by, { opId? }) -> { startsAt, endsAt, ver, phase }
 *   cancel(itemId, orderId, { userId } | { host })     -> { outcome, available, ver, refund }
 *   subscribe(itemId, userId)                          -> { outcome, subscribers }
 *   view(itemId) / stock(itemId), hold(itemId, orderId), holds(itemId)
 * Payments are inventory/payments.ts (a payment is confirmed only once durable in Kafka).
 * Every command that changes what viewers see returns the new values with the item version
 * (publish them; a higher version is always newer).
 */

export interface FlashItemSpec {
  itemId: string;
  roomId: string;
  total: number;
  /** Unit price in fen (integer minor units). */
  price: number;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  holdMs: number;
  /** Payment reminders go out this long before a hold's deadline; default a third of holdMs; 0 = none. */
  remindMs?: number;
}

export interface Held {
  readonly outcome: 'held';
  readonly orderId: string;
  readonly qty: number;
  readonly unitPrice: number;
  /** What the hold costs: the last step of its breakdown (qty × unitPrice less its discounts). */
  readonly amount: number;
  readonly deadline: number;
  readonly available: number;
  readonly ver: number;
  /** The hold's version a payment names (1 for a new hold). */
  readonly version: number;
  /** Each price step, the rule that fired and its amount; they sum to `amount`. */
  readonly breakdown: readonly PriceStep[];
}

/** Who buys and with what: the shopper's member tier and lifecycle stage, and the coupon campaign to use. */
export interface BuyPromotion {
  readonly tier?: MemberTier | undefined;
  /** The shopper's lifecycle stage (undefined: none): a coupon with a `stages` audience needs one of them. */
  readonly stage?: LifecycleStage | undefined;
  readonly coupon?: string | undefined;
}

export interface Refused {
  readonly outcome: 'sold_out' | 'insufficient_stock' | 'limit_reached' | 'not_started' | 'ended';
  readonly code: Exclude<Refusal, 'GROUP_CLOSED'>;
  readonly message: string;
  readonly available?: number;
  readonly limit?: number;
  readonly already?: number;
  readonly startsAt?: number;
  readonly endsAt?: number;
}

export interface Duplicate<T = Held | Refused> {
  readonly outcome: 'duplicate';
  readonly first: T;
}

export type ReserveResult = Held | Refused | Duplicate;

export interface PriceSet {
  readonly itemId: string;
  /** The unit price in force now. */
  readonly price: number;
  readonly ver: number;
  /** A change waiting for its time (Redis clock). */
  readonly scheduled?: { readonly price: number; readonly at: number };
  readonly duplicate: boolean;
}

/** The keys of the reserve script (and the group join), in its KEYS order, for one user's key. */
export function reserveKeys(k: ItemKeys, userId: string, idempotencyKey: string): string[] {
  return [k.item, k.users, k.holds, k.deadlines, k.outbox, k.refused(userId, idempotencyKey)];
}

/** A group join refused because the group is closed. */
export interface GroupClosedRefusal {
  readonly outcome: 'group_closed';
  readonly code: 'GROUP_CLOSED';
  readonly message: string;
}

/** A refusal from its code and fields (shared with group joins). */
export function decodeRefusal(code: number, fields: readonly unknown[]): Refused | GroupClosedRefusal {
  const refusal = refusalFor(code);
  if (!refusal) throw scriptError(code, fields[0]);
  const message = errorTable[refusal].message;
  const n = (i: number) => Number(fields[i]);
  switch (refusal) {
    case 'SOLD_OUT':
      return { outcome: 'sold_out', code: refusal, message, available: 0 };
    case 'INSUFFICIENT_STOCK':
      return { outcome: 'insufficient_stock', code: refusal, message, available: n(0) };
    case 'LIMIT_REACHED':
      return { outcome: 'limit_reached', code: refusal, message, limit: n(0), already: n(1) };
    case 'NOT_STARTED':
      return { outcome: 'not_started', code: refusal, message, startsAt: n(0) };
    case 'ENDED':
      return { outcome: 'ended', code: refusal, message, endsAt: n(0) };
    case 'GROUP_CLOSED':
      return { outcome: 'group_closed', code: refusal, message };
  }
}

/** A reserve answer: held, or a refusal; any other code throws its typed error. */
function decodeReserve({ code, fields: f }: ScriptAnswer): Held | Refused {
  if (code === ScriptCode.COUPON_NOT_APPLICABLE || code === ScriptCode.COUPON_EXHAUSTED || code === ScriptCode.COUPON_NOT_FOR_YOU) throw scriptError(code, undefined, { reason: String(f[0]) });
  if (code !== ScriptCode.OK) {
    const r = decodeRefusal(code, f);
    if (r.outcome === 'group_closed') throw scriptError(code);
    return r;
  }
  const qty = Number(f[1]);
  const unitPrice = Number(f[2]);
  // A first answer recorded before promotions existed has no amount and breakdown: the base alone.
  const priced = f[6] !== undefined && f[7] !== undefined;
  return {
    outcome: 'held',
    orderId: String(f[0]),
    qty,
    unitPrice,
    amount: priced ? Number(f[6]) : qty * unitPrice,
    deadline: Number(f[3]),
    available: Number(f[4]),
    ver: Number(f[5]),
    version: 1,
    breakdown: priced ? parseBreakdown(String(f[7]), unitPrice, qty) : baseBreakdown(unitPrice, qty),
  };
}

/** A lottery's prize holds: the first `awarded` winners (by rank) hold one unit at price 0. */
export interface PrizesAwarded {
  readonly itemId: string;
  readonly awarded: number;
  /** The claim deadline (Redis clock, ms) of each awarded winner, by rank. */
  readonly deadlines: readonly number[];
  readonly available: number;
  readonly ver: number;
}

export function defaultRemindMs(holdMs: number): number {
  return Math.floor(holdMs / 3);
}

export class FlashSale extends ItemOps {
  /** Creates the item's inventory once; returns false if it already existed (nothing changed). */
  async createItem(spec: FlashItemSpec): Promise<boolean> {
    const k = this.keys.item(spec.itemId);
    this.keys.room(spec.roomId); // validates the room id
    const a = expectOk(
      await this.scripts.call('init-flash-item', [k.item, k.outbox], [
        spec.itemId,
        spec.roomId,
        spec.total,
        spec.price,
        spec.perUserLimit,
        spec.startsAt,
        spec.endsAt,
        spec.holdMs,
        relayGroup,
        spec.remindMs ?? defaultRemindMs(spec.holdMs),
      ]),
    );
    await this.redis.sadd(this.keys.outboxRegistry, spec.itemId);
    return a.code === ScriptCode.OK;
  }

  /**
   * Reserves `qty` units for `userId`. Business refusals (sold out, limit, window) are results;
   * invalid arguments and an unavailable item throw typed errors. The same idempotency key
   * returns the first answer as `duplicate`.
   */
  async reserve(itemId: string, userId: string, qty: unknown, idempotencyKey: unknown, promo: BuyPromotion = {}): Promise<ReserveResult> {
    if (promo.tier !== undefined && !memberTiers.includes(promo.tier)) throw new LivesaleError('INVALID_ARGUMENT', 'tier is regular, silver or gold');
    if (promo.stage !== undefined && !lifecycleStages.includes(promo.stage)) throw new LivesaleError('INVALID_ARGUMENT', 'stage is new, active, dormant or churned');
    if (promo.coupon !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(promo.coupon)) throw new LivesaleError('INVALID_ARGUMENT', 'a coupon is a campaign id: 1..64 letters, digits, - or _');
    checkQty(qty);
    checkIdem(idempotencyKey);
    if (userId === '') throw new LivesaleError('INVALID_ARGUMENT', 'user id is required');
    checkUser(userId);
    const k = this.keys.item(itemId);
    const args = [userId, qty as number, idempotencyKey as string, randomUUID(), this.refusalTtlMs, promo.tier ?? '', promo.coupon ?? '', promo.stage ?? ''];
    const a = decodeAnswer(await this.scripts.call('reserve', reserveKeys(k, userId, idempotencyKey as string), args));
    // Refusals are results (and recorded for repeats); other negative codes throw in decodeReserve.
    return a.duplicate ? { outcome: 'duplicate', first: decodeReserve(a) } : decodeReserve(a);
  }

  /** The price steps of holds of the item (their member-day and coupon discounts), by order id. */
  async holdBreakdowns(itemId: string, holds: readonly HoldView[]): Promise<Map<string, PriceStep[]>> {
    const out = new Map<string, PriceStep[]>();
    if (!holds.length) return out;
    const raw = await this.redis.hmget(this.keys.item(itemId).holds, ...holds.map((h) => couponFields.order(h.orderId)));
    holds.forEach((h, i) => {
      const c = raw[i] ? parseHoldCoupon(raw[i]!) : undefined;
      out.set(h.orderId, holdBreakdown(h.unitPrice, h.qty, c));
    });
    return out;
  }

  /**
   * The host changes the unit price: now (no `at`, or `at` not after the Redis clock), or at a
   * scheduled time. A change now replaces a scheduled one. Group buys: WRONG_ITEM_KIND.
   */
  async setPrice(itemId: string, price: number, when: { at?: number }, by: string, opts: HostOptions = {}): Promise<PriceSet> {
    checkInt(price, 'price', 0, 1_000_000_000);
    const at = when.at === undefined ? '' : checkInt(when.at, 'at', 0, 99_999_999_999_999);
    checkUser(by, 'host id');
    const k = this.keys.item(itemId);
    const a = expectOk(await this.scripts.call('set-price', [k.item, k.users, k.outbox], [price, at, by, checkOpId(opts.opId)]));
    const n = a.fields.map(Number);
    if (a.code === ScriptCode.OK) return { itemId, price: n[0]!, ver: n[1]!, duplicate: a.duplicate };
    if (a.code === ScriptCode.SCHEDULED) return { itemId, price: n[0]!, scheduled: { price: n[1]!, at: n[2]! }, ver: n[3]!, duplicate: a.duplicate };
    throw scriptError(a.code);
  }

  /** Applies a scheduled price whose time has come; undefined when nothing is due. */
  async applyDuePrice(itemId: string): Promise<PriceSet | undefined> {
    const k = this.keys.item(itemId);
    const a = expectOk(await this.scripts.call('apply-price', [k.item, k.outbox], []));
    if (a.code !== ScriptCode.OK) return undefined;
    return { itemId, price: Number(a.fields[0]), ver: Number(a.fields[1]), duplicate: false };
  }

  /**
   * Holds one unit of the item at unit price 0 for each winner, in rank order while stock lasts,
   * with the claim deadline as the payment deadline (inventory/lua/award-prizes-5.lua). Outside
   * the sale window and the per-user limit; idempotent by order id (a winner already holding
   * its order counts as awarded). WRONG_ITEM_KIND for a group buy; ENDED for a retired item.
   */
  async awardPrizes(itemId: string, lotteryId: string, winners: readonly { orderId: string; userId: string }[], claimMs: number): Promise<PrizesAwarded> {
    checkInt(claimMs, 'claim time', 1000, 86_400_000);
    checkOrderId(lotteryId);
    if (winners.length > 1000) throw new LivesaleError('INVALID_ARGUMENT', 'at most 1000 winners');
    const args: (string | number)[] = [claimMs, lotteryId];
    for (const w of winners) args.push(checkOrderId(w.orderId), checkUser(w.userId));
    const k = this.keys.item(itemId);
    const f = expectOk(await this.scripts.call('award-prizes', [k.item, k.users, k.holds, k.deadlines, k.outbox], args)).fields.map(Number);
    return { itemId, awarded: f[0]!, available: f[1]!, ver: f[2]!, deadlines: f.slice(3) };
  }
}
