import { randomUUID } from 'node:crypto';
import { couponFields } from '../common/contracts/keys.ts';
import type { Kysely } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { parseInventoryEvents, type InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { InventoryDeps } from './item-ops.ts';
import { relayGroup } from '../common/contracts/keys.ts';
import { ScriptCode, expectOk } from '../common/contracts/script-codes.ts';
import type { LedgerFence } from './ledger-fence.ts';
import { createdEvent, itemSettings, offerSettings } from './item-settings.ts';
import { foldLedger, type FoldedItem } from './ledger-fold.ts';
import { encodeTiers } from './tiers.ts';
import { isRetired } from './retirement.ts';

/**
 * Rebuilds an item after Redis lost its data, from the Postgres ledger plus whatever of its
 * outbox survived, and reopens it.
 *
 * While the item hash is absent every script answers ITEM_UNAVAILABLE: the item fails closed.
 * An item the ledger records as retired (inventory/retirement.ts) is never rebuilt: its keys
 * expired on purpose after its sale, and it stays closed.
 * The rebuild
 *   1. takes the item's rebuild lock (one rebuilder per item; every write below is fenced by it),
 *   2. waits a grace period, so payments and relay batches that read Redis before the loss have
 *      reached Kafka or given up (their producers time out within it),
 *   3. waits for the ledger writer to commit past the Kafka high watermarks taken then, so no
 *      event still in flight is missed (LedgerFence),
 *   4. reads the item's events from order_events and its surviving outbox, de-duplicated by id,
 *      and folds them (ledger-fold.ts): counters, holds and their versions, per-user quantities,
 *      the idempotency records of restored orders (events carry `idem`), paid events, pre-heat
 *      subscribers, group count and state, a scheduled price, the coupon ledger; the team buy and
 *      bargain settings come from the catalog row's offers (they have no event),
 *   5. writes users, holds, deadlines and subscribers while the item is still absent, then the
 *      item hash last (restore-item): from that moment it sells again.
 * The version jumps far past the ledger's, beyond any version a lost, never-relayed change could
 * have shown viewers, so "a higher version is newer" keeps holding after the rebuild.
 */

export interface RebuildOptions extends InventoryDeps {
  db: Kysely<Database>;
  fence: LedgerFence;
  log?: Logger;
  /** Wait before reading the ledger (payments and relay sends in flight at the loss finish). */
  graceMs?: number;
  /** How long the ledger writer may take to catch up. */
  fenceTimeoutMs?: number;
}

export interface RebuildReport {
  readonly itemId: string;
  /**
   * rebuilt; present (the item is in Redis: nothing to do); busy (another rebuilder holds the
   * lock); no_settings; retired (the ledger says it retired: its keys are gone on purpose, it
   * stays closed and leaves the registry).
   */
  readonly outcome: 'rebuilt' | 'present' | 'busy' | 'no_settings' | 'retired';
  readonly events?: number;
  readonly fromOutbox?: number;
  readonly orders?: number;
  readonly available?: number;
  readonly held?: number;
  readonly sold?: number;
  readonly ver?: number;
  readonly anomalies?: readonly string[];
}

/** How far the version jumps at a rebuild. */
export const rebuildVersionJump = 1_000_000;
const writeBatch = 500;

export class Rebuilder {
  readonly #o: RebuildOptions & { graceMs: number; fenceTimeoutMs: number };

  constructor(opts: RebuildOptions) {
    this.#o = { graceMs: 6000, fenceTimeoutMs: 60_000, ...opts };
  }

  /** Marks an item lost (its Redis state is known to be behind the ledger): it fails closed until rebuilt. */
  async markLost(itemId: string): Promise<void> {
    await this.#o.redis.del(this.#o.keys.item(itemId).item);
  }

  async rebuild(itemId: string): Promise<RebuildReport> {
    const { redis, keys, scripts, log } = this.#o;
    const k = keys.item(itemId);
    if ((await redis.exists(k.item)) === 1) return { itemId, outcome: 'present' };
    if (await isRetired(this.#o.db, itemId)) {
      await redis.srem(keys.outboxRegistry, itemId);
      return { itemId, outcome: 'retired' };
    }
    const token = randomUUID();
    const lockMs = this.#o.graceMs + this.#o.fenceTimeoutMs + 60_000;
    if ((await redis.set(k.lock, token, 'PX', lockMs, 'NX')) !== 'OK') return { itemId, outcome: 'busy' };
    try {
      if (this.#o.graceMs > 0) await new Promise((r) => setTimeout(r, this.#o.graceMs));
      await this.#o.fence.wait(this.#o.fenceTimeoutMs);
      const ledger = await this.#ledgerEvents(itemId);
      const survived = await this.#outboxEvents(itemId);
      const all = [...ledger, ...survived];
      const settings = await itemSettings(this.#o.db, itemId, all);
      if (!settings) {
        log?.error({ itemId }, 'cannot rebuild: no item.created event and no catalog row');
        return { itemId, outcome: 'no_settings' };
      }
      const folded = foldLedger(settings, all);
      const ver = folded.ver + rebuildVersionJump;
      const part = async (what: string, data: (string | number)[]) => {
        expectOk(await scripts.call('restore-part', [k.lock, k.item, k.users, k.holds, k.deadlines, k.subs], [token, what, ...data]));
      };
      await part('clear', []);
      for (const [what, data] of restoreParts(folded)) {
        for (let i = 0; i < data.length; i += writeBatch * 2) await part(what, data.slice(i, i + writeBatch * 2));
      }
      // The team buy and bargain offers have no ledger event: their settings come from the
      // catalog row, written while the item is still absent (every script fails closed till then).
      const offers = await offerSettings(this.#o.db, itemId);
      if (offers.team) await redis.hset(k.teams, 'cfg', offers.team);
      if (offers.bargain) await redis.hset(k.bargains, 'cfg', offers.bargain);
      // An item.created lost with Redis is written again, so the ledger has the settings.
      const created = all.some((e) => e.type === 'item.created') ? '' : JSON.stringify(createdEvent(settings, Date.now()));
      const r = expectOk(await scripts.call('restore-item', [k.lock, k.item, k.outbox], [token, relayGroup, created, ...itemFields(folded, ver)]));
      if (r.code === ScriptCode.ALREADY) return { itemId, outcome: 'present' };
      await redis.sadd(keys.outboxRegistry, itemId);
      const report: RebuildReport = {
        itemId,
        outcome: 'rebuilt',
        events: folded.events,
        fromOutbox: survived.length,
        orders: folded.orders.size,
        available: folded.avail,
        held: folded.held,
        sold: folded.sold,
        ver,
        anomalies: folded.anomalies,
      };
      log?.warn(report, 'item rebuilt from the ledger after Redis lost its data');
      return report;
    } finally {
      // Released by restore-item on success; released here otherwise (only if still ours).
      // Its answer is LOCK_LOST when restore-item released it already: nothing to do either way.
      await scripts.call('release-lock', [k.lock], [token]).catch(() => {});
    }
  }

  async #ledgerEvents(itemId: string): Promise<InventoryEvent[]> {
    if (!/^\d{1,18}$/.test(itemId)) return []; // the ledger keys items by number
    const rows = await this.#o.db.selectFrom('order_events').select('payload').where('item_id', '=', itemId).execute();
    return parseInventoryEvents(rows.map((r) => r.payload));
  }

  async #outboxEvents(itemId: string): Promise<InventoryEvent[]> {
    const entries = (await this.#o.redis.xrange(this.#o.keys.item(itemId).outbox, '-', '+')) as [string, string[]][];
    return parseInventoryEvents(entries.map(([, f]) => f[f.indexOf('e') + 1]));
  }
}

/** The data of users, holds, deadlines and subscribers, as restore-part takes it. */
export function restoreParts(f: FoldedItem): [string, (string | number)[]][] {
  const users: (string | number)[] = [];
  for (const [u, q] of f.users) if (q > 0) users.push(u, q);
  const holds: (string | number)[] = [];
  const deadlines: (string | number)[] = [];
  // The coupon ledger (includes/coupon.lua): each hold's coupon by its state, each campaign's
  // counters from the holds that reserved or spent one.
  const camp = new Map<string, { active: number; issued: number; spent: number; users: Map<string, number> }>();
  for (const o of f.orders.values()) {
    holds.push(o.orderId, `${o.state},${o.v},${o.qty},${o.price},${o.deadline},${o.userId}`);
    if (o.coupon) {
      const st = o.state === 'h' ? 'r' : o.state === 'p' ? 's' : 'f';
      const c = o.coupon;
      holds.push(`${o.orderId} c`, `${st},${c.campaign},${c.couponOff},${c.memberOff},${c.tier}`);
      if (c.campaign !== '~') {
        const k = camp.get(c.campaign) ?? { active: 0, issued: 0, spent: 0, users: new Map<string, number>() };
        camp.set(c.campaign, k);
        k.issued++;
        if (st === 's') k.spent++;
        if (st !== 'f') {
          k.active++;
          k.users.set(o.userId, (k.users.get(o.userId) ?? 0) + 1);
        }
      }
    }
    if (o.paidEvent && (o.state === 'p' || o.state === 'r')) holds.push(`${o.orderId} p`, o.paidEvent);
    if (o.state === 'h') deadlines.push(o.deadline, o.orderId);
    if (o.idem) users.push(o.idem.field, o.idem.answer);
  }
  if (f.promotions.memberDay) holds.push(couponFields.memberDay, f.promotions.memberDay);
  for (const [id, cfg] of f.promotions.campaigns) {
    const k = camp.get(id) ?? { active: 0, issued: 0, spent: 0, users: new Map<string, number>() };
    const budget = Number(cfg.split(',')[7]);
    holds.push(couponFields.campaign(id), cfg, couponFields.left(id), budget - k.active, couponFields.issued(id), k.issued, couponFields.spent(id), k.spent);
    for (const [u, n] of k.users) holds.push(couponFields.userCount(id, u), n);
  }
  return [
    ['users', users],
    ['holds', holds],
    ['deadlines', deadlines],
    ['subs', [...f.subs]],
  ];
}

/** The item hash of a folded item, as field/value pairs. */
export function itemFields(f: FoldedItem, ver: number): (string | number)[] {
  const s = f.settings;
  // Reminders: from the first unpaid hold not yet reminded (or past every reminded one).
  let cursor = 0;
  const unreminded = [...f.orders.values()].filter((o) => o.state === 'h' && !o.reminded).map((o) => o.deadline);
  const reminded = [...f.orders.values()].filter((o) => o.state === 'h' && o.reminded).map((o) => o.deadline);
  if (unreminded.length) cursor = Math.min(...unreminded) - 1;
  else if (reminded.length) cursor = Math.max(...reminded);
  const out: (string | number)[] = [
    'id', s.itemId, 'room', s.roomId, 'kind', s.kind, 'ej', `"item":${JSON.stringify(s.itemId)},"room":${JSON.stringify(s.roomId)}`,
    'total', f.total, 'avail', f.avail, 'held', f.held, 'sold', f.sold, 'ver', ver,
    'price', f.price, 'limit', s.limit, 'start', f.start, 'end', f.end, 'hold_ms', s.holdMs, 'rem_ms', s.remindMs, 'rem', Math.max(0, cursor),
  ];
  if (f.scheduled) out.push('np', f.scheduled.price, 'nat', f.scheduled.at, 'nby', f.scheduled.by);
  if (s.kind === 'group' && f.group) {
    out.push('tiers', encodeTiers(s.tiers ?? []), 'mode', s.countBy === 'units' ? 'u' : 'p', 'below', s.belowFirstTier ?? 'fail');
    out.push('count', f.group.count, 'tier', f.group.tier, 'gstate', f.group.state);
    if (f.group.state === 'closed') out.push('fprice', f.group.finalPrice ?? s.price, 'outcome', f.group.outcome ?? 'failed');
  }
  return out;
}
