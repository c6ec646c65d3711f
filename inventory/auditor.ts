import type { Kysely } from 'kysely';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../common/platform/logger.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { parseInventoryEvents, type InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { InventoryDeps } from './item-ops.ts';
import type { LedgerFence } from './ledger-fence.ts';
import { itemSettings } from './item-settings.ts';
import { foldLedger } from './ledger-fold.ts';

/**
 * The auditor: compares each item's Redis counters with the Postgres ledger and reports any
 * drift (a log line and the metrics livesale_inventory_drift / livesale_inventory_audits_total).
 *
 * The comparison is exact under load. For each item it reads, in one MULTI, the counters, the
 * version V and the outbox; then it waits until the ledger writer has passed the Kafka high
 * watermarks taken after those reads (LedgerFence). Every event up to V was then either still
 * in the outbox or already in Kafka, hence now in the ledger: the fold of the ledger's and the
 * outbox's events up to V must equal the counters read at V. It also checks Redis's own
 * invariants (available + held + sold = total, available >= 0, per-user quantities add up to
 * held + sold), and flags an item whose Redis version is behind the ledger (Redis lost changes).
 */

export interface Drift {
  readonly field: string;
  readonly redis: number;
  readonly ledger: number;
}

export interface AuditReport {
  readonly itemId: string;
  readonly ok: boolean;
  readonly drift: readonly Drift[];
  /** Redis's version at the snapshot and the highest version in the ledger. */
  readonly redisVer?: number;
  readonly ledgerVer?: number;
  /** Redis is behind the ledger: it lost changes (the item should be rebuilt). */
  readonly behind?: boolean;
  /** Why the item was not compared (no inventory in Redis, no settings). */
  readonly skipped?: string;
}

export interface AuditorOptions extends InventoryDeps {
  db: Kysely<Database>;
  fence: LedgerFence;
  log?: Logger;
  registry?: Registry;
  fenceTimeoutMs?: number;
}

interface Snapshot {
  itemId: string;
  item: Record<string, string>;
  outbox: InventoryEvent[];
  users: Record<string, string>;
}

export class Auditor {
  readonly #o: AuditorOptions;
  readonly #drift: Gauge<'item' | 'field'>;
  readonly #audits: Counter<'result'>;

  constructor(opts: AuditorOptions) {
    this.#o = opts;
    const registers = opts.registry ? [opts.registry] : [];
    this.#drift = new Gauge({ name: 'livesale_inventory_drift', help: 'Redis minus ledger, per item and counter (0 when they agree)', labelNames: ['item', 'field'], registers });
    this.#audits = new Counter({ name: 'livesale_inventory_audits_total', help: 'Item audits by result (ok, drift, skipped)', labelNames: ['result'], registers });
  }

  /** The current drift gauge value for an item's field (tests, dashboards). */
  async driftValue(itemId: string, field: string): Promise<number | undefined> {
    const m = await this.#drift.get();
    return m.values.find((v) => v.labels.item === itemId && v.labels.field === field)?.value;
  }

  /** Audits the given items (default: every item in the outbox registry). */
  async audit(itemIds?: readonly string[]): Promise<AuditReport[]> {
    const { redis, keys } = this.#o;
    const ids = itemIds ?? (await redis.smembers(keys.outboxRegistry));
    const snaps = await Promise.all(ids.map((id) => this.#snapshot(id)));
    await this.#o.fence.wait(this.#o.fenceTimeoutMs ?? 60_000);
    const reports: AuditReport[] = [];
    for (const s of snaps) reports.push(await this.#compare(s));
    for (const r of reports) this.#report(r);
    return reports;
  }

  async #snapshot(itemId: string): Promise<Snapshot> {
    const k = this.#o.keys.item(itemId);
    const res = await this.#o.redis.multi().hgetall(k.item).xrange(k.outbox, '-', '+').hgetall(k.users).exec();
    const [item, entries, users] = (res ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    }) as [Record<string, string>, [string, string[]][], Record<string, string>];
    return { itemId, item, users, outbox: parseInventoryEvents(entries.map(([, f]) => f[f.indexOf('e') + 1])) };
  }

  async #compare(s: Snapshot): Promise<AuditReport> {
    const { itemId, item } = s;
    if (!item.kind) return { itemId, ok: false, drift: [], skipped: 'no inventory in Redis (lost, or never created)' };
    const V = Number(item.ver);
    const ledger = /^\d{1,18}$/.test(itemId)
      ? parseInventoryEvents((await this.#o.db.selectFrom('order_events').select('payload').where('item_id', '=', itemId).execute()).map((r) => r.payload))
      : [];
    const ledgerVer = ledger.reduce((m, e) => Math.max(m, e.ver), 0);
    const all = [...ledger, ...s.outbox];
    const settings = await itemSettings(this.#o.db, itemId, all);
    if (!settings) return { itemId, ok: false, drift: [], redisVer: V, ledgerVer, skipped: 'no item.created event in the ledger or the outbox, and no catalog row' };
    const f = foldLedger(settings, all.filter((e) => e.ver <= V));
    const n = (field: string) => Number(item[field] ?? 0);
    const drift: Drift[] = [];
    const cmp = (field: string, redis: number, ledgerValue: number) => {
      if (redis !== ledgerValue) drift.push({ field, redis, ledger: ledgerValue });
    };
    cmp('total', n('total'), f.total);
    cmp('available', n('avail'), f.avail);
    cmp('held', n('held'), f.held);
    cmp('sold', n('sold'), f.sold);
    if (f.group) cmp('count', n('count'), f.group.count);
    // Redis's own invariants.
    cmp('available+held+sold', n('avail') + n('held') + n('sold'), n('total'));
    if (n('avail') < 0) drift.push({ field: 'available>=0', redis: n('avail'), ledger: 0 });
    let perUser = 0;
    for (const [field, v] of Object.entries(s.users)) if (!field.includes(' ')) perUser += Number(v);
    cmp('per-user sum', perUser, n('held') + n('sold'));
    const nowVer = Number(await this.#o.redis.hget(this.#o.keys.item(itemId).item, 'ver'));
    const behind = ledgerVer > nowVer;
    if (behind) drift.push({ field: 'ver', redis: nowVer, ledger: ledgerVer });
    return { itemId, ok: drift.length === 0, drift, redisVer: V, ledgerVer, ...(behind ? { behind } : {}) };
  }

  #report(r: AuditReport): void {
    const known = ['total', 'available', 'held', 'sold', 'count', 'available+held+sold', 'per-user sum', 'ver'];
    if (r.skipped) {
      this.#audits.inc({ result: 'skipped' });
      this.#o.log?.info({ itemId: r.itemId, why: r.skipped }, 'audit skipped');
      return;
    }
    this.#audits.inc({ result: r.ok ? 'ok' : 'drift' });
    for (const field of known) {
      const d = r.drift.find((x) => x.field === field);
      this.#drift.set({ item: r.itemId, field }, d ? d.redis - d.ledger : 0);
    }
    if (!r.ok) this.#o.log?.warn({ itemId: r.itemId, drift: r.drift, redisVer: r.redisVer, ledgerVer: r.ledgerVer, behind: r.behind ?? false }, 'inventory drift: Redis and the ledger disagree');
  }
}
