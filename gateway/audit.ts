import type { Kysely } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import { pgDataError } from '../common/platform/driver-errors.ts';
import { defaultRetry, retry, type RetryPolicy } from '../common/platform/retry.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';

export interface AuditRecord {
  roomId: string;
  actor: string;
  role: string;
  command: string;
  idempotencyKey?: string | undefined;
  baseVersion?: number | undefined;
  payload: unknown;
  outcome: 'applied' | 'duplicate' | 'rejected';
  version?: number | undefined;
  offset?: number | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  via: 'http' | 'ws';
  durationMs: number;
  at: number;
}

export interface AuditEntry extends AuditRecord {
  id: string;
}

type AuditDb = Kysely<Database>;

/** An audit batch is tried three times, then logged instead: the commands themselves are done. */
const auditRetry: RetryPolicy = Object.freeze({ ...defaultRetry, retries: 2 });

/**
 * The audit log of host commands, in Postgres. Records are written in batches (one INSERT per
 * batch); `record` resolves once its row is committed, so a command's reply follows its audit
 * row. A batch that fails is retried a few times, then logged in full (the log is the audit
 * trail of last resort) and the waiters are released.
 */
export class AuditLog {
  readonly #db: AuditDb;
  readonly #log: Logger;
  readonly #node: string;
  #batch: { rec: AuditRecord; done: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(deps: { db: Kysely<Database>; log: Logger; node: string }) {
    this.#db = deps.db;
    this.#log = deps.log;
    this.#node = deps.node;
  }

  record(rec: AuditRecord): Promise<void> {
    return new Promise((resolve) => {
      this.#batch.push({ rec, done: resolve });
      if (this.#batch.length >= 200) this.#flushSoon(0);
      else this.#flushSoon(5);
    });
  }

  #flushSoon(ms: number): void {
    if (this.#timer && ms > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#writing.then(() => this.#write());
    }, ms);
  }

  async #write(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    if (!batch.length) return;
    const rows = batch.map(({ rec }) => ({
      room_id: rec.roomId,
      actor: rec.actor,
      role: rec.role,
      command: rec.command,
      idempotency_key: rec.idempotencyKey ?? null,
      base_version: rec.baseVersion ?? null,
      payload: JSON.stringify(rec.payload ?? null),
      outcome: rec.outcome,
      version: rec.version ?? null,
      room_offset: rec.offset ?? null,
      error_code: rec.errorCode ?? null,
      error_message: rec.errorMessage?.slice(0, 1000) ?? null,
      via: rec.via,
      node: this.#node,
      duration_ms: rec.durationMs,
      at: new Date(rec.at),
    }));
    try {
      // Rows Postgres refuses as data fail again; anything else (a dropped connection) may not.
      await retry(() => this.#db.insertInto('host_commands').values(rows).execute(), { policy: auditRetry, classify: (e) => (pgDataError(e) ? false : undefined), retryUnknown: true });
    } catch (err) {
      for (const { rec } of batch) this.#log.error({ err: (err as Error).message, audit: rec }, 'host command audit row not written');
    }
    for (const b of batch) b.done();
  }

  /**
   * Entries of a room, newest first; with `window`, only those recorded from `from` (inclusive)
   * to `to` (exclusive; open when null): a show's entries are those of its live window.
   */
  async entries(roomId: string, limit = 100, window?: { from: number; to: number | null }): Promise<AuditEntry[]> {
    let q = this.#db.selectFrom('host_commands').selectAll().where('room_id', '=', roomId);
    if (window) {
      q = q.where('at', '>=', new Date(window.from));
      if (window.to !== null) q = q.where('at', '<', new Date(window.to));
    }
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({
      id: String(r.id),
      roomId: r.room_id,
      actor: r.actor,
      role: r.role,
      command: r.command,
      idempotencyKey: r.idempotency_key ?? undefined,
      baseVersion: r.base_version ?? undefined,
      payload: r.payload,
      outcome: r.outcome,
      version: r.version ?? undefined,
      offset: r.room_offset === null ? undefined : Number(r.room_offset),
      errorCode: r.error_code ?? undefined,
      errorMessage: r.error_message ?? undefined,
      via: r.via as 'http' | 'ws',
      durationMs: r.duration_ms,
      at: new Date(r.at).getTime(),
    }));
  }

  /** Writes what is pending. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#writing = this.#writing.then(() => this.#write());
    await this.#writing;
  }
}
