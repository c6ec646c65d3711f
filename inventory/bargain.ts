import { randomInt, randomUUID } from 'node:crypto';
import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, decodeAnswer, expectOk, scriptError, type ScriptAnswer } from '../common/contracts/script-codes.ts';
import { decodeRefusal, type Refused } from './flash-sale.ts';
import { ItemOps } from './item-ops.ts';
import { checkInt, checkOrderId, checkUser } from './validate.ts';

/**
 * Bargains (砍价) on a flash-sale item: typed wrappers over the bargain scripts.
 *
 *   configure(itemId, spec)                  -> BargainSettings
 *   start(itemId, userId)                    -> BargainStarted (a new one, or the user's open one)
 *   help(itemId, bargainId, helperId)        -> Helped | BargainRefused
 *   buy(itemId, bargainId, userId)           -> BargainHeld (a hold at the current price) | refusal
 *   bargain(itemId, bargainId)               -> BargainView | undefined
 *   counts(itemId)                           -> { started, helps, bought }
 *
 * Each help cuts a draw of the bargain's seeded generator (`bargainCuts`, the same function as
 * inventory/lua/includes/bargain.lua): the K-th help reaches the floor exactly, no cut is below
 * 1 fen. Each call is one atomic script over the item's keys. The hold a buy makes is paid with
 * inventory/payments.ts like any other.
 */

export interface BargainSpec {
  /** Start price (fen). */
  readonly start: number;
  /** Floor price (fen): start - floor >= helpers. */
  readonly floor: number;
  /** Helps K that reach the floor. */
  readonly helpers: number;
  /** How long a bargain stays open from its start (ms; at most until the sale ends). */
  readonly windowMs: number;
  /** Only users who have never held or bought this item may help. */
  readonly newUsersOnly?: boolean;
}

export interface BargainSettings extends Required<BargainSpec> {
  readonly itemId: string;
}

export interface BargainStarted {
  readonly outcome: 'started' | 'existing';
  readonly bargainId: string;
  /** The price now (the start price for a new bargain). */
  readonly price: number;
  readonly floor: number;
  readonly helpers: number;
  readonly endsAt: number;
}

export interface Helped {
  readonly outcome: 'helped';
  readonly cut: number;
  readonly price: number;
  readonly helped: number;
  readonly helpers: number;
  readonly floor: number;
}

export interface BargainRefused {
  readonly outcome: 'bargain_not_found' | 'bargain_closed' | 'already_helped' | 'bargain_at_floor' | 'not_new_user';
  readonly code: 'BARGAIN_NOT_FOUND' | 'BARGAIN_CLOSED' | 'ALREADY_HELPED' | 'BARGAIN_AT_FLOOR' | 'NOT_NEW_USER';
  readonly message: string;
}

export interface BargainHeld {
  readonly outcome: 'held';
  readonly orderId: string;
  readonly qty: 1;
  readonly unitPrice: number;
  readonly amount: number;
  readonly deadline: number;
  readonly available: number;
  readonly ver: number;
  /** The bargain's hold existed (held or paid): nothing changed now. */
  readonly already: boolean;
}

export interface BargainView {
  readonly itemId: string;
  readonly bargainId: string;
  readonly state: 'open' | 'bought' | 'expired';
  readonly starter: string;
  readonly start: number;
  readonly floor: number;
  readonly price: number;
  readonly helpers: number;
  readonly helped: number;
  readonly endsAt: number;
  readonly helperIds: readonly string[];
  /** The hold of the purchase, once bought. */
  readonly orderId?: string;
}

const refusals: Record<number, BargainRefused['outcome']> = {
  [ScriptCode.BARGAIN_NOT_FOUND]: 'bargain_not_found',
  [ScriptCode.BARGAIN_CLOSED]: 'bargain_closed',
  [ScriptCode.ALREADY_HELPED]: 'already_helped',
  [ScriptCode.BARGAIN_AT_FLOOR]: 'bargain_at_floor',
  [ScriptCode.NOT_NEW_USER]: 'not_new_user',
};

function refusal(a: ScriptAnswer): BargainRefused | undefined {
  const outcome = refusals[a.code];
  if (!outcome) return undefined;
  const e = scriptError(a.code);
  return { outcome, code: e.code as BargainRefused['code'], message: e.message };
}

const modulus = 2_147_483_647;

/**
 * The cuts of a bargain, help by help: a function of the seed and the terms alone (minstd,
 * x' = x * 48271 mod 2^31 - 1). The last help cuts what remains, so the K-th reaches the floor
 * exactly; every other help cuts from 1 to twice the even share of what remains, leaving at
 * least 1 fen for each help still to come.
 */
export function bargainCuts(seed: number, start: number, floor: number, helpers: number): number[] {
  let x = seed;
  let cur = start;
  const cuts: number[] = [];
  for (let helped = 0; helped < helpers; helped++) {
    const left = helpers - helped;
    const remaining = cur - floor;
    x = Number((BigInt(x) * 48271n) % BigInt(modulus));
    const cut = left <= 1 ? remaining : 1 + (x % Math.min(remaining - (left - 1), Math.max(1, Math.floor((2 * remaining) / left))));
    cuts.push(cut);
    cur -= cut;
  }
  return cuts;
}

export class Bargains extends ItemOps {
  async configure(itemId: string, spec: BargainSpec): Promise<BargainSettings> {
    checkInt(spec.start, 'start price', 1, 1_000_000_000);
    checkInt(spec.floor, 'floor price', 0, 1_000_000_000);
    checkInt(spec.helpers, 'helpers', 1, 1000);
    checkInt(spec.windowMs, 'bargain window', 1000, 604_800_000);
    if (spec.start - spec.floor < spec.helpers) throw new LivesaleError('INVALID_ARGUMENT', 'start - floor must be at least the number of helpers (every help cuts at least 1 fen)');
    const k = this.keys.item(itemId);
    const f = expectOk(await this.scripts.call('bargain-setup', [k.item, k.bargains, k.outbox], [spec.start, spec.floor, spec.helpers, spec.windowMs, spec.newUsersOnly ? '1' : '0'])).fields.map(Number);
    return { itemId, start: f[0]!, floor: f[1]!, helpers: f[2]!, windowMs: f[3]!, newUsersOnly: f[4] === 1 };
  }

  /** Starts a bargain (or answers the user's open one). Sale-window refusals are results. */
  async start(itemId: string, userId: string): Promise<BargainStarted | Refused> {
    checkUser(userId);
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('bargain-start', [k.item, k.bargains, k.outbox], [userId, randomUUID().replaceAll('-', ''), randomInt(1, modulus - 1)]));
    if (a.code === ScriptCode.NOT_STARTED || a.code === ScriptCode.ENDED) return decodeRefusal(a.code, a.fields) as Refused;
    const f = expectOk([a.code, ...a.fields]).fields;
    return { outcome: a.code === ScriptCode.OK ? 'started' : 'existing', bargainId: String(f[0]), price: Number(f[1]), floor: Number(f[2]), helpers: Number(f[3]), endsAt: Number(f[4]) };
  }

  async help(itemId: string, bargainId: string, helperId: string): Promise<Helped | BargainRefused> {
    checkOrderId(bargainId);
    checkUser(helperId);
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('bargain-help', [k.item, k.users, k.bargains, k.outbox], [bargainId, helperId]));
    const r = refusal(a);
    if (r) return r;
    const f = expectOk([a.code, ...a.fields]).fields.map(Number);
    return { outcome: 'helped', cut: f[0]!, price: f[1]!, helped: f[2]!, helpers: f[3]!, floor: f[4]! };
  }

  /** The starter buys at the current price: a hold through the normal path. */
  async buy(itemId: string, bargainId: string, userId: string): Promise<BargainHeld | BargainRefused | Refused> {
    checkOrderId(bargainId);
    checkUser(userId);
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('bargain-buy', [k.item, k.users, k.holds, k.deadlines, k.outbox, k.bargains], [bargainId, userId, randomUUID()]));
    const r = refusal(a);
    if (r) return r;
    if (a.code < 0) {
      const x = decodeRefusal(a.code, a.fields);
      if (x.outcome === 'group_closed') throw scriptError(a.code);
      return x;
    }
    const f = a.fields;
    return {
      outcome: 'held',
      orderId: String(f[0]),
      qty: 1,
      unitPrice: Number(f[2]),
      amount: Number(f[2]),
      deadline: Number(f[3]),
      available: Number(f[4]),
      ver: Number(f[5]),
      already: a.code === ScriptCode.ALREADY,
    };
  }

  async bargain(itemId: string, bargainId: string): Promise<BargainView | undefined> {
    checkOrderId(bargainId);
    const k = this.keys.item(itemId);
    const [rec, helpers] = await this.redis.hmget(k.bargains, `b ${bargainId}`, `h ${bargainId}`);
    if (!rec) return undefined;
    const m = /^([a-z]),(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),(\d+),([\w-]*),(.+)$/s.exec(rec);
    if (!m) throw new LivesaleError('INTERNAL', `malformed bargain record ${bargainId}`);
    const endsAt = Number(m[7]);
    const now = await this.serverTime();
    return {
      itemId,
      bargainId,
      state: m[1] === 'b' ? 'bought' : now >= endsAt ? 'expired' : 'open',
      starter: m[10]!,
      start: Number(m[2]),
      floor: Number(m[3]),
      helpers: Number(m[4]),
      helped: Number(m[5]),
      price: Number(m[6]),
      endsAt,
      helperIds: (helpers ?? '').split(' ').filter(Boolean),
      ...(m[9] ? { orderId: m[9] } : {}),
    };
  }

  async counts(itemId: string): Promise<{ started: number; helps: number; bought: number }> {
    const [s, h, b] = await this.redis.hmget(this.keys.item(itemId).bargains, 'started', 'helps', 'bought');
    return { started: Number(s ?? 0), helps: Number(h ?? 0), bought: Number(b ?? 0) };
  }
}
