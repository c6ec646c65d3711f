import { randomUUID } from 'node:crypto';
import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, decodeAnswer, expectOk, type ScriptAnswer } from '../common/contracts/script-codes.ts';
import { decodeRefusal, defaultRemindMs, reserveKeys, type Duplicate, type GroupClosedRefusal, type Refused } from './flash-sale.ts';
import { ItemOps, type HostOptions } from './item-ops.ts';
import { relayGroup } from '../common/contracts/keys.ts';
import { settle, type BelowFirstTier, type CountBy, type GroupOutcome, type SettlementAction, type SettlementOrder } from './settlement.ts';
import { encodeTiers, validateTiers, type Tier } from './tiers.ts';
import { checkIdem, checkInt, checkOpId, checkQty, checkUser } from './validate.ts';

/**
 * Tiered group buys (阶梯团): typed wrappers over the group scripts.
 *
 *   create(spec)                                  -> boolean (false: existed, nothing changed)
 *   join(itemId, userId, qty, idempotencyKey)     -> Joined { count, unitPrice, nextThreshold, crossed } | refusal | duplicate
 *   close(itemId, by, { opId? })                  -> GroupClosed { count, finalPrice, outcome, ver }
 *   settle(itemId, by?)                           -> Settled { outcome, finalPrice, refunds, refundTotal, repriced, cancelled, available, ver }
 * and everything of inventory/item-ops.ts (cancel, adjustStock, setWindow, subscribe, view).
 *
 * Joining is one atomic call: it reserves stock, counts the participant (people or units, by
 * configuration) and prices the hold at the tier the count reaches with this join. Settlement is
 * the pure function of inventory/settlement.ts, applied by the settle-group script: refunds go
 * out as refund.issued events with deterministic ids (`<order>:refund:tier`), so the ledger
 * keeps each refund exactly once however often settlement runs.
 */

export interface GroupItemSpec {
  itemId: string;
  roomId: string;
  /** Total stock (units) the group can sell. */
  capacity: number;
  /** Unit price in fen below the first threshold. */
  basePrice: number;
  tiers: readonly Tier[];
  /** What the thresholds count: distinct people, or units. */
  countBy: CountBy;
  /** Below the first threshold at close: fail (cancel and refund everything) or sell at the base price. */
  belowFirstTier: BelowFirstTier;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  holdMs: number;
  remindMs?: number;
}

export interface Joined {
  readonly outcome: 'held';
  readonly orderId: string;
  readonly qty: number;
  /** The price of the tier reached with this join. */
  readonly unitPrice: number;
  readonly amount: number;
  readonly deadline: number;
  readonly available: number;
  readonly ver: number;
  readonly version: number;
  /** Participants (or units) counted after this join. */
  readonly count: number;
  /** 0 = base; i = tiers[i - 1]. */
  readonly tier: number;
  /** The next threshold, or null at the top tier. */
  readonly nextThreshold: number | null;
  /** This join reached a new tier (group.tier_reached was emitted): push it to the room. */
  readonly crossed: boolean;
}

export type JoinResult = Joined | Refused | GroupClosedRefusal | Duplicate<Joined | Refused | GroupClosedRefusal>;

export interface GroupClosed {
  readonly itemId: string;
  readonly count: number;
  readonly finalPrice: number;
  readonly outcome: GroupOutcome;
  readonly ver: number;
  /** It was closed before this call (nothing changed now). */
  readonly already: boolean;
  readonly duplicate: boolean;
}

export interface Settled {
  readonly itemId: string;
  readonly outcome: GroupOutcome;
  readonly finalPrice: number;
  readonly count: number;
  /** What this call applied (a second call applies nothing). */
  readonly refunds: number;
  readonly refundTotal: number;
  readonly repriced: number;
  readonly cancelled: number;
  readonly available: number;
  readonly ver: number;
  /** It was settled before this call. */
  readonly already: boolean;
}

const actionCode: Record<SettlementAction['kind'], string> = { refund: 'r', reprice: 'p', cancel: 'c', refund_full: 'f' };
const settleBatch = 200;

/** A join answer: held, or a refusal; any other code throws its typed error. */
function decodeJoin({ code, fields: f }: ScriptAnswer): Joined | Refused | GroupClosedRefusal {
  if (code !== ScriptCode.OK) return decodeRefusal(code, f);
  const n = f.map(Number);
  return {
    outcome: 'held',
    orderId: String(f[0]),
    qty: n[1]!,
    unitPrice: n[2]!,
    amount: n[1]! * n[2]!,
    deadline: n[3]!,
    available: n[4]!,
    ver: n[5]!,
    version: 1,
    count: n[6]!,
    tier: n[7]!,
    nextThreshold: n[8] === 0 ? null : n[8]!,
    crossed: n[9] === 1,
  };
}

export class GroupBuy extends ItemOps {
  /** Creates the group's inventory once (tiers validated first); false if it existed. */
  async create(spec: GroupItemSpec): Promise<boolean> {
    validateTiers({ basePrice: spec.basePrice, tiers: spec.tiers });
    if (spec.countBy !== 'people' && spec.countBy !== 'units') throw new LivesaleError('INVALID_ARGUMENT', 'countBy must be people or units');
    if (spec.belowFirstTier !== 'fail' && spec.belowFirstTier !== 'base') throw new LivesaleError('INVALID_ARGUMENT', 'belowFirstTier must be fail or base');
    checkInt(spec.capacity, 'capacity', 0, 1_000_000_000);
    checkInt(spec.perUserLimit, 'perUserLimit', 1, 10_000);
    checkInt(spec.holdMs, 'holdMs', 1000, 86_400_000);
    if (!(spec.endsAt > spec.startsAt)) throw new LivesaleError('INVALID_ARGUMENT', 'endsAt must be after startsAt');
    const k = this.keys.item(spec.itemId);
    this.keys.room(spec.roomId);
    const a = expectOk(
      await this.scripts.call('init-group-item', [k.item, k.outbox], [
        spec.itemId,
        spec.roomId,
        spec.capacity,
        spec.basePrice,
        spec.perUserLimit,
        spec.startsAt,
        spec.endsAt,
        spec.holdMs,
        relayGroup,
        spec.remindMs ?? defaultRemindMs(spec.holdMs),
        encodeTiers(spec.tiers),
        spec.countBy === 'people' ? 'p' : 'u',
        spec.belowFirstTier,
      ]),
    );
    await this.redis.sadd(this.keys.outboxRegistry, spec.itemId);
    return a.code === ScriptCode.OK;
  }

  /** Joins the group: refusals are results, bad input and an unavailable item throw. */
  async join(itemId: string, userId: string, qty: unknown, idempotencyKey: unknown): Promise<JoinResult> {
    checkQty(qty);
    checkIdem(idempotencyKey);
    checkUser(userId);
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('join-group', reserveKeys(k, userId, idempotencyKey as string), [userId, qty as number, idempotencyKey as string, randomUUID(), this.refusalTtlMs]));
    // Refusals are results (and recorded for repeats); other negative codes throw in decodeJoin.
    return a.duplicate ? { outcome: 'duplicate', first: decodeJoin(a) } : decodeJoin(a);
  }

  /** Closes joining; the final count fixes the final price (group.closed). Closing twice is harmless. */
  async close(itemId: string, by: string, opts: HostOptions = {}): Promise<GroupClosed> {
    checkUser(by, 'host id');
    const k = this.keys.item(itemId);
    const a = expectOk(await this.scripts.call('close-group', [k.item, k.users, k.outbox], [by, checkOpId(opts.opId)]));
    return {
      itemId,
      count: Number(a.fields[0]),
      finalPrice: Number(a.fields[1]),
      outcome: a.fields[2] as GroupOutcome,
      ver: Number(a.fields[3]),
      already: a.code === ScriptCode.ALREADY,
      duplicate: a.duplicate,
    };
  }

  /**
   * Closes (if still open) and settles the group: the pure settlement function over the final
   * count and the orders, applied in batches. Each action names the hold version it was computed
   * from; holds that changed meanwhile (paid during settlement) are computed again. Safe to run
   * twice or concurrently: a settled group answers `already`.
   */
  async settle(itemId: string, by = 'settlement'): Promise<Settled> {
    const closed = await this.close(itemId, by);
    const k = this.keys.item(itemId);
    const keys = [k.item, k.users, k.holds, k.deadlines, k.outbox];
    const tally = { refunds: 0, refundTotal: 0, repriced: 0, cancelled: 0 };
    for (let pass = 0; pass < 20; pass++) {
      const view = await this.view(itemId);
      if (!view?.group) throw new LivesaleError('ITEM_UNAVAILABLE', `group ${itemId} has no inventory in Redis`);
      const g = view.group;
      if (g.state === 'settled') {
        return { itemId, outcome: closed.outcome, finalPrice: closed.finalPrice, count: closed.count, ...tally, available: view.available, ver: view.ver, already: pass === 0 };
      }
      const orders: SettlementOrder[] = (await this.holds(itemId)).map((h) => ({
        orderId: h.orderId,
        userId: h.userId,
        qty: h.qty,
        unitPrice: h.unitPrice,
        state: h.state,
        version: h.version,
      }));
      const s = settle({ basePrice: g.basePrice, tiers: g.tiers }, g.belowFirstTier, closed.count, orders);
      if (s.finalPrice !== closed.finalPrice || s.outcome !== closed.outcome) {
        throw new LivesaleError('INTERNAL', `settlement disagrees with the close: ${s.outcome} at ${s.finalPrice}, closed ${closed.outcome} at ${closed.finalPrice}`);
      }
      if (s.actions.length === 0) {
        expectOk(await this.scripts.call('settle-group', keys, ['1']));
        continue; // the next pass sees it settled
      }
      for (let i = 0; i < s.actions.length; i += settleBatch) {
        const batch = s.actions.slice(i, i + settleBatch);
        const args: (string | number)[] = ['0'];
        for (const a of batch) args.push(a.orderId, a.version, actionCode[a.kind]);
        const r = expectOk(await this.scripts.call('settle-group', keys, args));
        if (r.code === ScriptCode.ALREADY) break; // settled by a concurrent call
        const skipped = new Set(r.fields.slice(3).map(String));
        for (const a of batch) {
          if (skipped.has(a.orderId)) continue;
          if (a.kind === 'refund' || a.kind === 'refund_full') {
            tally.refunds++;
            tally.refundTotal += a.amount;
          } else if (a.kind === 'reprice') tally.repriced++;
          else tally.cancelled++;
        }
      }
    }
    throw new LivesaleError('INTERNAL', `group ${itemId} did not settle after 20 passes (orders keep changing)`);
  }
}
