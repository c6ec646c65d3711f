import type { Logger } from '../common/platform/logger.ts';
import { RoundLoop } from '../common/platform/round-loop.ts';
import { ScriptCode, assertOk, decodeAnswer, expectOk } from '../common/contracts/script-codes.ts';
import type { PriceSet } from './flash-sale.ts';
import { GroupBuy, type Settled } from './group-buy.ts';
import { TeamBuy, type TeamSettled } from './team-buy.ts';
import type { InventoryDeps } from './item-ops.ts';
import { relayGroup } from '../common/contracts/keys.ts';
import type { Retired } from './retirement.ts';

/**
 * The expiry sweeper: on every round, for every item (the outbox registry lists them),
 *   - expires unpaid holds past their deadline (each exactly once: the expire-holds script
 *     changes the hold's state in the same call, so sweepers can run side by side),
 *   - sends payment reminders (催单) for holds near their deadline,
 *   - sends pre-heat reminders to subscribers when a sale is about to open,
 *   - applies scheduled prices whose time has come,
 *   - closes and settles group buys whose joining window has ended (or that the host closed),
 *   - retires items that are done (with `retentionMs`): sale ended `retireGraceMs` ago, no unpaid
 *     hold, group settled, outbox relayed. The retire-item script marks the item and gives each of
 *     its keys the retention as expiry; `onRetired` records it in the ledger; then it leaves the
 *     registry. So a round costs one SMEMBERS plus a few calls per live item: finished items cost
 *     nothing (docs/retirement.md).
 * Times are the Redis clock's. What viewers must see (new stock levels, prices, group results)
 * is passed to `onChange`, which the sweeper process publishes to the item's room.
 */

export interface SweeperOptions extends InventoryDeps {
  /** Holds (or reminders) handled per script call. */
  batch?: number;
  /** Pre-heat reminders go out this long before a sale opens. */
  preheatLeadMs?: number;
  /** Pause between rounds. */
  intervalMs?: number;
  /** Items swept at once. */
  concurrency?: number;
  log?: Logger;
  onChange?: (change: ItemSweep) => void | Promise<void>;
  /** Told about items Redis has no inventory for (data lost): the keeper rebuilds them. */
  onUnavailable?: (itemId: string) => void;
  /** How long a retired item's keys are kept (ms); 0 or absent: items never retire. */
  retentionMs?: number;
  /** An ended, drained item retires this long after its sale's end (ms; default 0). */
  retireGraceMs?: number;
  /**
   * Told about items that retired (now, or earlier but still registered): the ledger records
   * them. Only once it returns do they leave the registry; if it throws they are offered again.
   */
  onRetired?: (items: readonly Retired[]) => Promise<void>;
}

export interface ItemSweep {
  readonly itemId: string;
  readonly roomId?: string;
  readonly expired: number;
  readonly paymentReminders: number;
  /** Pre-heat reminders sent. */
  readonly reminded: number;
  readonly price?: PriceSet;
  readonly settled?: Settled;
  /** Teams of a team buy settled in this sweep (their window ended, or every seat was paid). */
  readonly teams?: readonly TeamSettled[];
  /** After the sweep, when anything changed. */
  readonly available?: number;
  readonly ver?: number;
  readonly group?: { readonly count: number; readonly tier: number; readonly priceNow: number; readonly nextThreshold: number | null };
  /** Redis has no inventory for the item. */
  readonly unavailable?: boolean;
  /** The sale's end (Redis clock, ms). */
  readonly endsAt?: number;
  /** When the item retired (Redis clock, ms), if it has. */
  readonly retiredAt?: number;
}

const maxCallsPerItem = 100;

export class Sweeper {
  readonly #o: SweeperOptions & { batch: number; preheatLeadMs: number; intervalMs: number; concurrency: number; retentionMs: number; retireGraceMs: number };
  readonly #groups: GroupBuy;
  readonly #teams: TeamBuy;
  readonly #rounds: RoundLoop;

  constructor(opts: SweeperOptions) {
    this.#o = { batch: 500, preheatLeadMs: 60_000, intervalMs: 250, concurrency: 8, retentionMs: 0, retireGraceMs: 0, ...opts };
    this.#rounds = RoundLoop.logged(() => this.sweepAll(), this.#o.intervalMs, this.#o.log, 'sweep round');
    this.#groups = new GroupBuy(opts);
    this.#teams = new TeamBuy(opts);
  }

  start(): void {
    this.#rounds.start();
  }

  async stop(): Promise<void> {
    await this.#rounds.stop();
  }

  /** One round over every registered item; returns the items where something happened. */
  async sweepAll(): Promise<ItemSweep[]> {
    const ids = await this.#o.redis.smembers(this.#o.keys.outboxRegistry);
    const out: ItemSweep[] = [];
    if (ids.length === 0) return out;
    const retiring = this.#o.retentionMs > 0;
    const now = retiring ? await this.#groups.serverTime() : 0;
    const retired: Retired[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          const r = await this.sweepItem(id);
          if (r.unavailable) this.#o.onUnavailable?.(id);
          if (r.retiredAt !== undefined) retired.push({ itemId: id, retiredAt: r.retiredAt });
          else if (retiring && r.endsAt !== undefined && now >= r.endsAt + this.#o.retireGraceMs) {
            const at = await this.retireItem(id);
            if (at !== undefined) retired.push({ itemId: id, retiredAt: at });
          }
          if (r.expired || r.paymentReminders || r.reminded || r.price || r.settled || r.teams) {
            out.push(r);
            await this.#o.onChange?.(r);
          }
        } catch (err) {
          this.#o.log?.warn({ err: (err as Error).message, itemId: id }, 'sweeping an item failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, ids.length) }, worker));
    if (retired.length) await this.#unregister(retired);
    return out;
  }

  /**
   * Retires the item if it is done (retire-item.lua checks it in the same call); returns when it
   * retired, or undefined when it is not done yet. Does not touch the registry.
   */
  async retireItem(itemId: string): Promise<number | undefined> {
    const k = this.#o.keys.item(itemId);
    const a = decodeAnswer(
      await this.#o.scripts.call('retire-item', [k.item, k.users, k.holds, k.deadlines, k.subs, k.outbox, k.lock, k.teams, k.teamEnds, k.bargains], [
        this.#o.retentionMs,
        this.#o.retireGraceMs,
        relayGroup,
      ]),
    );
    if (a.code === ScriptCode.ITEM_UNAVAILABLE || a.code === ScriptCode.NOTHING_DUE) return undefined;
    assertOk(a);
    if (a.code === ScriptCode.OK) {
      this.#o.log?.info({ itemId, retentionMs: this.#o.retentionMs }, 'item retired: its keys expire after the retention');
    }
    return Number(a.fields[0]);
  }

  /** The ledger first, then the registry: a crash in between only repeats both next round. */
  async #unregister(retired: Retired[]): Promise<void> {
    try {
      await this.#o.onRetired?.(retired);
    } catch (err) {
      this.#o.log?.warn({ err: (err as Error).message, items: retired.length }, 'cannot record retired items in the ledger yet; they stay registered');
      return;
    }
    await this.#o.redis.srem(this.#o.keys.outboxRegistry, ...retired.map((r) => r.itemId));
  }

  /** Sweeps one item. */
  async sweepItem(itemId: string): Promise<ItemSweep> {
    const { scripts, keys, batch, preheatLeadMs } = this.#o;
    const k = keys.item(itemId);
    let expired = 0;
    let paymentReminders = 0;
    let reminded = 0;
    for (let i = 0; i < maxCallsPerItem; i++) {
      const a = decodeAnswer(await scripts.call('expire-holds', [k.item, k.users, k.holds, k.deadlines, k.outbox], [batch]));
      if (a.code === ScriptCode.ITEM_UNAVAILABLE) return { itemId, expired: 0, paymentReminders: 0, reminded: 0, unavailable: true };
      const r = assertOk(a).fields.map(Number);
      expired += r[0]!;
      if (r[3] !== 1) break;
    }
    for (let i = 0; i < maxCallsPerItem; i++) {
      const r = expectOk(await scripts.call('remind-holds', [k.item, k.holds, k.deadlines, k.outbox], [batch])).fields.map(Number);
      paymentReminders += r[0]!;
      if (r[1] !== 1) break;
    }
    for (let i = 0; i < maxCallsPerItem; i++) {
      const r = expectOk(await scripts.call('remind-subscribers', [k.item, k.subs, k.outbox], [batch, preheatLeadMs])).fields.map(Number);
      reminded += r[0]!;
      if (r[0]! < batch || r[1] === 0) break;
    }
    // Nothing due, or the item gone since the expiry pass (the next sweep reports it): no price.
    const p = decodeAnswer(await scripts.call('apply-price', [k.item, k.outbox], []));
    const price: PriceSet | undefined = p.code === ScriptCode.OK ? { itemId, price: Number(p.fields[0]), ver: Number(p.fields[1]), duplicate: false } : undefined;

    const [kind, gstate, end, roomId, retired] = await this.#o.redis.hmget(k.item, 'kind', 'gstate', 'end', 'room', 'retired');
    let settled: Settled | undefined;
    if (kind === 'group' && gstate !== 'settled' && (gstate === 'closed' || (await this.#groups.serverTime()) >= Number(end))) {
      settled = await this.#groups.settle(itemId, 'sweeper');
    }
    // A team buy: the teams whose window ended are settled (formed, or failed and refunded).
    let teams: TeamSettled[] | undefined;
    if (kind === 'flash' && retired === null && (await this.#o.redis.zrange(k.teamEnds, 0, 0)).length > 0) {
      const due = await this.#teams.settleDue(itemId);
      if (due.length) teams = due;
    }
    const base = {
      itemId,
      roomId: roomId ?? undefined,
      expired,
      paymentReminders,
      reminded,
      ...(end !== null ? { endsAt: Number(end) } : {}),
      ...(retired !== null ? { retiredAt: Number(retired) } : {}),
      ...(price ? { price } : {}),
      ...(settled ? { settled } : {}),
      ...(teams ? { teams } : {}),
    };
    if (!expired && !price && !settled && !teams) return base;
    const view = await this.#groups.view(itemId);
    if (!view) return base;
    return { ...base, available: view.available, ver: view.ver, ...(view.group ? { group: { count: view.group.count, tier: view.group.tier, priceNow: view.group.priceNow, nextThreshold: view.group.nextThreshold } } : {}) };
  }
}
