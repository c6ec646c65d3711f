import { sql, type Kysely } from 'kysely';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../common/platform/logger.ts';
import { RoundLoop } from '../common/platform/round-loop.ts';
import { createBackoff, type Backoff } from '../common/platform/retry.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { Keys } from '../common/contracts/keys.ts';
import type { RebuildReport, Rebuilder } from './rebuild.ts';

/**
 * Detects, per item, that Redis lost its data, and has it rebuilt. The catalog (Postgres) says
 * which items should have inventory; an item whose hash Redis no longer has (a restart without
 * persistence, a failover, a flush) fails closed (ITEM_UNAVAILABLE) and is rebuilt from the
 * ledger. Items only just created are left alone for `settleMs` (the catalog row is written
 * before the inventory). Retired items (their sale is over and their keys expire on purpose) are
 * not watched.
 */
export interface KeeperOptions {
  redis: Redis | Cluster;
  keys: Keys;
  db: Kysely<Database>;
  rebuilder: Rebuilder;
  log?: Logger;
  intervalMs?: number;
  /** Items whose sale ended longer ago than this are not watched. */
  lookbackMs?: number;
  settleMs?: number;
  onRebuilt?: (r: RebuildReport) => void | Promise<void>;
}

export class Keeper {
  readonly #o: KeeperOptions & { intervalMs: number; lookbackMs: number; settleMs: number };
  readonly #inFlight = new Map<string, Promise<RebuildReport>>();
  readonly #rounds: RoundLoop;
  /** Items whose last rebuild failed: not rebuilt on notice again before `notBefore`. */
  readonly #failing = new Map<string, { backoff: Backoff; notBefore: number }>();

  constructor(opts: KeeperOptions) {
    this.#o = { intervalMs: 1000, lookbackMs: 24 * 3600_000, settleMs: 30_000, ...opts };
    this.#rounds = RoundLoop.logged(() => this.checkOnce(), this.#o.intervalMs, this.#o.log, 'keeper round');
  }

  start(): void {
    this.#rounds.start();
  }

  async stop(): Promise<void> {
    await this.#rounds.stop();
    await Promise.allSettled(this.#inFlight.values());
  }

  /** Someone saw ITEM_UNAVAILABLE for this item: check now rather than at the next round. */
  notify(itemId: string): void {
    // Every refused buyer notifies: while rebuilds of this item fail (Postgres away), back off
    // rather than start one per buyer. The rounds still try at their own pace.
    const f = this.#failing.get(itemId);
    if (f && Date.now() < f.notBefore) return;
    void this.#rebuild(itemId);
  }

  /** Items that should have inventory now. */
  async watched(): Promise<string[]> {
    const rows = await this.#o.db
      .selectFrom('campaign_items')
      .select('id')
      .where('ends_at', '>', sql<Date>`now() - ${`${Math.round(this.#o.lookbackMs / 1000)} seconds`}::interval`)
      .where('created_at', '<', sql<Date>`now() - ${`${Math.round(this.#o.settleMs / 1000)} seconds`}::interval`)
      // A retired item's keys expire on purpose: it is not lost, never rebuilt (inventory/retirement.ts).
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('item_retirements').select('item_id').whereRef('item_retirements.item_id', '=', 'campaign_items.id'))))
      .execute();
    return rows.map((r) => r.id);
  }

  /** One round: finds items Redis lost and rebuilds them (in parallel); returns the reports. */
  async checkOnce(): Promise<RebuildReport[]> {
    const ids = await this.watched();
    const missing: string[] = [];
    const present: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        if ((await this.#o.redis.exists(this.#o.keys.item(id).item)) === 0) missing.push(id);
        else present.push(id);
      }),
    );
    // An item created just before a crash may have missed its place in the registry, which the
    // relay and the sweeper go by: put it back (harmless when it is there).
    if (present.length) await this.#o.redis.sadd(this.#o.keys.outboxRegistry, ...present);
    if (missing.length) this.#o.log?.warn({ items: missing }, 'Redis has lost these items; they fail closed until rebuilt');
    return Promise.all(missing.map((id) => this.#rebuild(id)));
  }

  #rebuild(itemId: string): Promise<RebuildReport> {
    let p = this.#inFlight.get(itemId);
    if (!p) {
      p = this.#o.rebuilder
        .rebuild(itemId)
        .then(async (r) => {
          this.#failing.delete(itemId);
          if (r.outcome === 'rebuilt') await this.#o.onRebuilt?.(r);
          return r;
        })
        .finally(() => this.#inFlight.delete(itemId));
      p.catch((err: unknown) => {
        let f = this.#failing.get(itemId);
        if (!f) this.#failing.set(itemId, (f = { backoff: createBackoff(), notBefore: 0 }));
        f.notBefore = Date.now() + f.backoff.next();
        this.#o.log?.error({ err: (err as Error).message, itemId, attempts: f.backoff.attempts }, 'rebuild failed; the item stays unavailable and is retried');
      });
      this.#inFlight.set(itemId, p);
    }
    return p;
  }
}
