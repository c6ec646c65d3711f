import type { Cluster, Redis } from 'ioredis';
import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, assertOk, decodeAnswer, expectOk, scriptError } from '../common/contracts/script-codes.ts';
import type { Keys } from '../common/contracts/keys.ts';
import type { Scripts } from '../common/platform/lua-loader.ts';
import { decodeTiers, tierAt, type Tier } from './tiers.ts';
import { checkInt, checkOpId, checkOrderId, checkUser } from './validate.ts';

/**
 * What every campaign item (flash sale or tiered group buy) shares: reading its state, its
 * holds, and the commands that apply to both kinds (cancel, adjust stock, sale window, pre-heat
 * reminders). FlashSale and GroupBuy extend it.
 */

export interface InventoryDeps {
  redis: Redis | Cluster;
  keys: Keys;
  scripts: Scripts;
  /** How long a refused buy or join is kept for repeats of its key (ms; default ten minutes). */
  refusalTtlMs?: number;
}

/** A sale's phase by the Redis clock: pre-heat (visible, countdown), live (buying), ended. */
export type Phase = 'preheat' | 'live' | 'ended';

export type HoldState = 'held' | 'paid' | 'cancelled' | 'expired' | 'refunded';

export interface GroupView {
  readonly countBy: 'people' | 'units';
  readonly belowFirstTier: 'fail' | 'base';
  readonly basePrice: number;
  readonly tiers: readonly Tier[];
  readonly count: number;
  /** 0 = base price; i = tiers[i - 1] reached. */
  readonly tier: number;
  /** The unit price a joiner pays now. */
  readonly priceNow: number;
  /** The next threshold, or null at the top tier. */
  readonly nextThreshold: number | null;
  readonly state: 'open' | 'closed' | 'settled';
  readonly finalPrice?: number;
  readonly outcome?: 'succeeded' | 'failed' | 'base_price';
}

export interface ItemView {
  readonly itemId: string;
  readonly roomId: string;
  readonly kind: 'flash' | 'group';
  readonly available: number;
  readonly held: number;
  readonly sold: number;
  readonly total: number;
  /** Unit price now (group buys: the base price). */
  readonly price: number;
  readonly limit: number;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly holdMs: number;
  readonly remindMs: number;
  /** The item's inventory version: a higher version is always newer. */
  readonly ver: number;
  readonly scheduledPrice?: { readonly price: number; readonly at: number };
  readonly phase: Phase;
  /** The Redis clock when this view was read. */
  readonly serverTime: number;
  readonly group?: GroupView;
}

/** Kept for callers of the walking skeleton: the same view. */
export type StockView = ItemView;

export interface HoldView {
  readonly orderId: string;
  readonly userId: string;
  readonly state: HoldState;
  /** Grows with every change of the hold; a payment names the version it pays. */
  readonly version: number;
  readonly qty: number;
  readonly unitPrice: number;
  readonly amount: number;
  /** Payment deadline (Redis clock, ms). */
  readonly deadline: number;
}

/** A stock level viewers must see (publish it with its version: latest version wins). */
export interface StockLevel {
  readonly itemId: string;
  readonly available: number;
  readonly ver: number;
}

export interface StockAdjusted extends StockLevel {
  readonly total: number;
  /** True when the operation id was seen before: this is its first answer, nothing changed now. */
  readonly duplicate: boolean;
}

export interface WindowSet {
  readonly itemId: string;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly ver: number;
  readonly phase: Phase;
  readonly serverTime: number;
  readonly duplicate: boolean;
}

export interface Cancelled extends StockLevel {
  readonly orderId: string;
  /** cancelled: an unpaid hold released; refunded: a paid order refunded in full (host only). */
  readonly outcome: 'cancelled' | 'refunded';
  /** True when it had been cancelled (or refunded) before: nothing changed now. */
  readonly already: boolean;
  readonly refund: number;
  /** Group buys: the count and tier after the change (a leaving participant lowers them). */
  readonly group?: { readonly count: number; readonly tier: number };
}

export interface Subscribed {
  readonly outcome: 'subscribed' | 'already_subscribed' | 'live' | 'ended';
  readonly subscribers?: number;
  readonly startsAt?: number;
  readonly endsAt?: number;
}

export interface HostOptions {
  /** Idempotency of the host command: the same id answers as the first time. */
  readonly opId?: string;
}

const holdStates: Record<string, HoldState> = { h: 'held', p: 'paid', c: 'cancelled', e: 'expired', r: 'refunded' };

export function parseHold(orderId: string, raw: string): HoldView | undefined {
  const m = /^([a-z]),(\d+),(\d+),(\d+),(\d+),(.+)$/s.exec(raw);
  if (!m) return undefined;
  const qty = Number(m[3]);
  const unitPrice = Number(m[4]);
  return { orderId, state: holdStates[m[1]!] ?? 'held', version: Number(m[2]), qty, unitPrice, amount: qty * unitPrice, deadline: Number(m[5]), userId: m[6]! };
}

export function phaseAt(startsAt: number, endsAt: number, now: number): Phase {
  return now < startsAt ? 'preheat' : now < endsAt ? 'live' : 'ended';
}

export class ItemOps {
  protected readonly redis: Redis | Cluster;
  protected readonly keys: Keys;
  protected readonly scripts: Scripts;
  protected readonly refusalTtlMs: number;

  constructor(deps: InventoryDeps) {
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.scripts = deps.scripts;
    this.refusalTtlMs = deps.refusalTtlMs ?? 600_000;
  }

  /** The Redis clock (ms). */
  async serverTime(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /** The item as Redis holds it now, or undefined when Redis has no inventory for it. */
  async view(itemId: string): Promise<ItemView | undefined> {
    const k = this.keys.item(itemId);
    const [h, now] = await Promise.all([this.redis.hgetall(k.item), this.serverTime()]);
    if (!h.kind) return undefined;
    return itemViewOf(itemId, h, now);
  }

  /** Same as view(): the counters viewers see (available, ver) and everything else. */
  stock(itemId: string): Promise<ItemView | undefined> {
    return this.view(itemId);
  }

  async hold(itemId: string, orderId: string): Promise<HoldView | undefined> {
    const raw = await this.redis.hget(this.keys.item(itemId).holds, orderId);
    return raw === null ? undefined : parseHold(orderId, raw);
  }

  /** Every hold of the item (any state), read in pages. */
  async holds(itemId: string): Promise<HoldView[]> {
    const key = this.keys.item(itemId).holds;
    const out: HoldView[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        if (flat[i]!.includes(' ')) continue; // "<order> p": the stored paid event
        const h = parseHold(flat[i]!, flat[i + 1]!);
        if (h) out.push(h);
      }
    } while (cursor !== '0');
    return out;
  }

  /** Units the user holds or bought of the item (what counts against the per-user limit). */
  async userCount(itemId: string, userId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.item(itemId).users, userId)) ?? 0);
  }

  /**
   * The user's holds of the item (any state), found through the first answers of the user's
   * successful buys or joins (`<user> <idempotency key>` in the users hash, whose second field is
   * the order id). It reads the whole users hash in pages: ask only when `userCount` says the
   * user has holds someone else (the ledger) does not know of yet. Undefined (not looked up) when
   * the hash has more than `maxUserFields` fields: the scan would cost Redis too much per call.
   */
  async userHolds(itemId: string, userId: string, maxUserFields = 50_000): Promise<HoldView[] | undefined> {
    checkUser(userId);
    const k = this.keys.item(itemId);
    if ((await this.redis.hlen(k.users)) > maxUserFields) return undefined;
    const pattern = `${userId.replace(/[*?[\]\\]/g, (c) => `\\${c}`)} *`;
    const orderIds = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(k.users, cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = next;
      for (let i = 1; i < flat.length; i += 2) {
        const f = flat[i]!.split(',');
        if (f[0] === '1' && f[1]) orderIds.add(f[1]);
      }
    } while (cursor !== '0');
    if (!orderIds.size) return [];
    const ids = [...orderIds];
    const raw = await this.redis.hmget(k.holds, ...ids);
    const out: HoldView[] = [];
    ids.forEach((id, i) => {
      const h = raw[i] ? parseHold(id, raw[i]!) : undefined;
      if (h && h.userId === userId) out.push(h);
    });
    return out;
  }

  /**
   * Cancels an order: `{ userId }` for the holder (an unpaid hold only), `{ host }` for the host
   * (an unpaid hold, or a paid order refunded in full). Cancelling twice answers `already`.
   * Throws ORDER_NOT_FOUND, HOLD_EXPIRED, ORDER_PAID, ITEM_UNAVAILABLE, INVALID_ARGUMENT.
   */
  async cancel(itemId: string, orderId: string, by: { userId: string } | { host: string }): Promise<Cancelled> {
    checkOrderId(orderId);
    const isHost = 'host' in by;
    const userId = isHost ? '' : checkUser(by.userId);
    if (isHost) checkUser(by.host, 'host id');
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('cancel', [k.item, k.users, k.holds, k.deadlines, k.outbox], [orderId, userId, isHost ? 'host' : 'user']));
    const f = a.fields;
    if (a.code === ScriptCode.HOLD_EXPIRED) throw scriptError(a.code, undefined, { available: Number(f[0]), ver: Number(f[1]) });
    assertOk(a);
    return {
      itemId,
      orderId,
      outcome: String(f[2]) as Cancelled['outcome'],
      already: a.code === ScriptCode.ALREADY,
      available: Number(f[0]),
      ver: Number(f[1]),
      refund: Number(f[3]),
      ...(f[6] === 'group' ? { group: { count: Number(f[4]), tier: Number(f[5]) } } : {}),
    };
  }

  /**
   * The host adds (delta > 0) or removes (delta < 0) stock. Never below what is held and sold:
   * STOCK_BELOW_COMMITTED (details: available, held, sold) and nothing changes.
   * Returns the new total and available with the version to publish.
   */
  async adjustStock(itemId: string, delta: number, by: string, opts: HostOptions = {}): Promise<StockAdjusted> {
    checkInt(delta, 'delta', -1_000_000_000, 1_000_000_000);
    if (delta === 0) throw new LivesaleError('INVALID_ARGUMENT', 'delta must not be 0');
    checkUser(by, 'host id');
    const k = this.keys.item(itemId);
    const a = decodeAnswer(await this.scripts.call('adjust-stock', [k.item, k.users, k.outbox], [delta, by, checkOpId(opts.opId)]));
    if (a.code === ScriptCode.STOCK_BELOW_COMMITTED) {
      const [available, held, sold] = a.fields.map(Number);
      throw new LivesaleError('STOCK_BELOW_COMMITTED', `cannot remove ${-delta}: only ${available} available (${held} held, ${sold} sold)`, {
        available,
        held,
        sold,
      });
    }
    assertOk(a);
    const [total, available, ver] = a.fields.map(Number);
    return { itemId, total: total!, available: available!, ver: ver!, duplicate: a.duplicate };
  }

  /**
   * The host opens, closes or reschedules the sale window. `'now'` is the Redis clock at the
   * call; `undefined` leaves that end unchanged. Returns the window, version and phase.
   */
  async setWindow(itemId: string, startsAt: number | 'now' | undefined, endsAt: number | 'now' | undefined, by: string, opts: HostOptions = {}): Promise<WindowSet> {
    const arg = (v: number | 'now' | undefined, what: string) =>
      v === undefined ? '' : v === 'now' ? 'now' : String(checkInt(v, what, 0, 99_999_999_999_999));
    const s = arg(startsAt, 'startsAt');
    const e = arg(endsAt, 'endsAt');
    checkUser(by, 'host id');
    const k = this.keys.item(itemId);
    const a = expectOk(await this.scripts.call('set-window', [k.item, k.users, k.outbox], [s, e, by, checkOpId(opts.opId)]));
    const [start, end, ver, now] = a.fields.map(Number);
    return { itemId, startsAt: start!, endsAt: end!, ver: ver!, serverTime: now!, phase: phaseAt(start!, end!, now!), duplicate: a.duplicate };
  }

  /** A shopper asks for a reminder when the pre-heated sale opens. */
  async subscribe(itemId: string, userId: string): Promise<Subscribed> {
    checkUser(userId);
    const k = this.keys.item(itemId);
    const { code, fields: f } = decodeAnswer(await this.scripts.call('subscribe', [k.item, k.subs, k.outbox], [userId]));
    if (code === ScriptCode.OK) return { outcome: 'subscribed', subscribers: Number(f[0]) };
    if (code === ScriptCode.ALREADY) return { outcome: 'already_subscribed', subscribers: Number(f[0]) };
    if (code === ScriptCode.SALE_LIVE) return { outcome: 'live', startsAt: Number(f[0]) };
    if (code === ScriptCode.ENDED) return { outcome: 'ended', endsAt: Number(f[0]) };
    throw scriptError(code, f[0]);
  }
}

/** The item hash as a view. */
export function itemViewOf(itemId: string, h: Record<string, string>, now: number): ItemView {
  const n = (f: string) => Number(h[f] ?? 0);
  const startsAt = n('start');
  const endsAt = n('end');
  const base = {
    itemId,
    roomId: h.room ?? '',
    kind: (h.kind === 'group' ? 'group' : 'flash') as ItemView['kind'],
    available: n('avail'),
    held: n('held'),
    sold: n('sold'),
    total: n('total'),
    price: n('price'),
    limit: n('limit'),
    startsAt,
    endsAt,
    holdMs: n('hold_ms'),
    remindMs: n('rem_ms'),
    ver: n('ver'),
    phase: phaseAt(startsAt, endsAt, now),
    serverTime: now,
    ...(h.np !== undefined ? { scheduledPrice: { price: n('np'), at: n('nat') } } : {}),
  };
  if (h.kind !== 'group') return base;
  const tiers = decodeTiers(h.tiers ?? '');
  const count = n('count');
  const at = tierAt({ basePrice: n('price'), tiers }, count);
  const state = (h.gstate ?? 'open') as GroupView['state'];
  return {
    ...base,
    group: {
      countBy: h.mode === 'u' ? 'units' : 'people',
      belowFirstTier: h.below === 'base' ? 'base' : 'fail',
      basePrice: n('price'),
      tiers,
      count,
      tier: at.index,
      priceNow: at.price,
      nextThreshold: at.next,
      state,
      ...(state !== 'open' ? { finalPrice: n('fprice'), outcome: h.outcome as GroupView['outcome'] } : {}),
    },
  };
}
