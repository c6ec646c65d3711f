import { Cluster, type Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import type { Kysely } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import { pgDataError, redisReplyCode } from '../common/platform/driver-errors.ts';
import { createBackoff, retryPolicy } from '../common/platform/retry.ts';
import { RoundLoop } from '../common/platform/round-loop.ts';
import { auditGroup, type Keys } from '../common/contracts/keys.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { ensureAuditGroup, type RefusalCount, type RoomStore } from './room-store.ts';

/**
 * What the gateway knows of a host command before its script runs: the script that applies or
 * answers it adds the outcome, the room version and the offset (gateway/lua/includes/audit-record.lua).
 */
export interface AuditRecord {
  roomId: string;
  actor: string;
  role: string;
  command: string;
  idempotencyKey?: string | undefined;
  baseVersion?: number | undefined;
  payload: unknown;
  via: 'http' | 'ws';
  node: string;
  durationMs: number;
  at: number;
}

export interface AuditEntry extends Omit<AuditRecord, 'node'> {
  id: string;
  /** `rejected` only on rows written before refusals were counted instead (see `refusals`). */
  outcome: 'applied' | 'duplicate' | 'rejected';
  version?: number | undefined;
  offset?: number | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
}

/**
 * Text Postgres takes: NUL characters (refused in text and jsonb) and unpaired surrogates
 * (refused in jsonb) become U+FFFD. Applied to every string of a record, keys included.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point: it is replaced.
const refusedChars = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function sanitize(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(refusedChars, '\uFFFD');
  if (Array.isArray(v)) return v.map(sanitize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [sanitize(k), sanitize(x)]));
  return v;
}

/** A record as the scripts append it to the audit outbox. */
export function auditRecordJson(rec: AuditRecord): string {
  return JSON.stringify(sanitize(rec));
}

type AuditDb = Kysely<Database>;

/** The audit log as ops read it: the rows of applied and repeated commands, and the counts of refused ones. */
export class AuditLog {
  readonly #db: AuditDb;
  readonly #store: RoomStore;

  constructor(deps: { db: Kysely<Database>; store: RoomStore }) {
    this.#db = deps.db;
    this.#store = deps.store;
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
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
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

  /** A room's refused commands, counted per actor, role, command and error code. */
  refusals(roomId: string): Promise<RefusalCount[]> {
    return this.#store.refusals(roomId);
  }
}

type StreamEntry = [id: string, fields: string[] | null];

export interface AuditDrainerOptions {
  redis: Redis | Cluster;
  keys: Keys;
  db: Kysely<Database>;
  log: Logger;
  /** This drainer's name in the consumer group (the node id): a restart under it reads its own pending entries first. */
  consumer: string;
  /** Pause between rounds that found nothing (ms). */
  idleMs?: number;
  /** Entries per stream and round. */
  batchSize?: number;
  /** Entries pending this long on another consumer (it died) are taken over (ms). */
  claimIdleMs?: number;
  /** Counts records by result (written, dead_lettered). */
  counter?: Counter<'result'>;
}

/** Most entries the dead-letter stream keeps (approximately). */
const deadLetterMax = 10_000;
/** Rooms registered (a command) within this long are read every round. */
const activeWindowMs = 24 * 3600_000;
/** How often every registered room is read, dormant ones included. */
const dormantScanMs = 5 * 60_000;
/** Rows per INSERT (18 parameters each, well below the 65,535 of one statement). */
const insertChunk = 1000;
/** Streams per XREADGROUP call. */
const maxStreamsPerCall = 500;

type Row = Database['host_commands'] extends infer T ? { [K in keyof T as K extends 'id' ? never : K]: T[K] } : never;

/**
 * Moves the rooms' audit outboxes into Postgres `host_commands`: reads every registered room's
 * stream as a member of one consumer group (every gateway node runs one; they share the work),
 * inserts the records with `ON CONFLICT (record_key) DO NOTHING` (the key is the room and the
 * stream entry id), and only then acknowledges and deletes the entries. A crash between the
 * insert and the acknowledgement makes the next reader insert again, which changes nothing.
 *
 * A batch Postgres refuses as data is written row by row; a row it refuses goes to the
 * dead-letter stream with its error and is acknowledged, so it never holds up or takes down the
 * others. Any other failure (Postgres unreachable) acknowledges nothing: the entries stay
 * pending and are read again in the next round, by this drainer or, once idle for
 * `claimIdleMs`, by another.
 */
export class AuditDrainer {
  readonly #o: Required<Omit<AuditDrainerOptions, 'counter'>> & Pick<AuditDrainerOptions, 'counter'>;
  readonly #loop: RoundLoop;
  #ownPending = true;
  #claimAt = 0;
  #allAt = 0;
  #written = 0;
  #deadLettered = 0;

  constructor(opts: AuditDrainerOptions) {
    this.#o = { idleMs: 100, batchSize: 200, claimIdleMs: 10_000, ...opts };
    // A round that moved records runs the next at once; a failed one backs off (jittered, capped).
    this.#loop = new RoundLoop(
      async () => ((await this.drainOnce()) > 0 ? 0 : this.#o.idleMs),
      this.#o.idleMs,
      (err, retryInMs) => {
        this.#ownPending = true;
        this.#o.log.warn({ err: err.message, retryInMs: Math.round(retryInMs) }, 'audit drain round failed; retrying');
      },
      createBackoff(retryPolicy({ initialMs: 100, maxMs: 5000 })),
    );
  }

  /** Records inserted (or found already there) and acknowledged so far. */
  get written(): number {
    return this.#written;
  }

  /** Records Postgres refused, moved to the dead-letter stream so far. */
  get deadLettered(): number {
    return this.#deadLettered;
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops after the round in progress; what is left stays in the streams for the next drainer. */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** The rooms to read this round: those registered recently, and once in a while every one. */
  async #rooms(now: number): Promise<string[]> {
    const { redis, keys } = this.#o;
    if (now - this.#allAt >= dormantScanMs) {
      this.#allAt = now;
      return redis.zrange(keys.auditRegistry, 0, -1);
    }
    return redis.zrangebyscore(keys.auditRegistry, now - activeWindowMs, '+inf');
  }

  /**
   * One round over the registered rooms' audit streams; returns how many records were settled.
   * Rooms with a command in the last day are read every round, the others (whose streams are
   * empty but for a long Postgres outage) every few minutes.
   */
  async drainOnce(): Promise<number> {
    const { redis, keys } = this.#o;
    const now = Date.now();
    const rooms = await this.#rooms(now);
    if (rooms.length === 0) return 0;
    const claim = now - this.#claimAt > this.#o.claimIdleMs / 3;
    if (claim) this.#claimAt = now;
    const own = this.#ownPending;
    let more = false;
    const streams = rooms.map((roomId) => ({ roomId, stream: keys.room(roomId).audit }));
    // Pending entries stream by stream (own after a failure or restart, a dead drainer's once in a
    // while); new entries of many streams in one call where the streams share a server.
    const reads = await Promise.all(
      streams.map(async ({ roomId, stream }) => {
        const r = claim || own ? await this.#read(stream, own, claim, false) : { entries: [], full: false };
        if (r.full) more = true;
        return { roomId, stream, entries: r.entries };
      }),
    );
    const fresh = await this.#readFresh(streams.map((x) => x.stream));
    for (const r of reads) {
      const got = fresh ? (fresh.get(r.stream) ?? []) : (await this.#read(r.stream, false, false, true)).entries;
      if (got.length >= this.#o.batchSize) more = true;
      if (got.length) r.entries = dedupe([...r.entries, ...got]);
    }
    const pending = reads.filter((r) => r.entries.length > 0);
    if (pending.length === 0) {
      this.#ownPending = false;
      return 0;
    }
    const rows: { row: Row | undefined; raw: string[]; stream: string; id: string; problem?: string }[] = [];
    for (const { roomId, stream, entries } of pending) {
      for (const [id, fields] of entries) {
        try {
          rows.push({ row: rowOf(roomId, id, fields!), raw: fields!, stream, id });
        } catch (err) {
          rows.push({ row: undefined, raw: fields!, stream, id, problem: `unreadable record: ${(err as Error).message}` });
        }
      }
    }
    const dead = rows.filter((r) => r.problem);
    const good = rows.filter((r) => r.row);
    if (good.length) {
      try {
        await this.#insert(good.map((r) => r.row!));
      } catch (err) {
        // Postgres refused something in the batch as data: find which, one row at a time.
        if (!pgDataError(err)) throw err;
        for (const r of good) {
          try {
            await this.#insert([r.row!]);
          } catch (e) {
            if (!pgDataError(e)) throw e;
            r.problem = `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`.trim();
            dead.push(r);
          }
        }
      }
    }
    for (const d of dead) {
      this.#o.log.error({ stream: d.stream, entry: d.id, err: d.problem, record: d.raw }, 'host command audit record refused; moved to the dead-letter stream');
      await redis.xadd(keys.auditDeadLetter, 'MAXLEN', '~', deadLetterMax, '*', 'stream', d.stream, 'entry', d.id, 'error', d.problem!, ...d.raw);
    }
    // Acknowledged only now: every entry is in Postgres or in the dead-letter stream.
    await Promise.all(
      pending.map(async ({ stream, entries }) => {
        const ids = entries.map((e) => e[0]);
        // One transaction: a drainer killed between a separate XACK and XDEL would leave entries
        // acknowledged (never read again) yet in the stream.
        const r = await redis.multi().xack(stream, auditGroup, ...ids).xdel(stream, ...ids).exec();
        const failed = r?.find(([err]) => err);
        if (!r || failed) throw failed?.[0] ?? new Error('audit outbox acknowledgement was not applied');
      }),
    );
    const deadCount = dead.length;
    this.#written += rows.length - deadCount;
    this.#deadLettered += deadCount;
    this.#o.counter?.inc({ result: 'written' }, rows.length - deadCount);
    if (deadCount) this.#o.counter?.inc({ result: 'dead_lettered' }, deadCount);
    this.#ownPending = more;
    return rows.length;
  }

  /** Inserts in statements of at most `insertChunk` rows (a statement's parameters are bounded); a record already there is left as it is. */
  async #insert(rows: Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += insertChunk) {
      await this.#o.db
        .insertInto('host_commands')
        .values(rows.slice(i, i + insertChunk))
        .onConflict((oc) => oc.column('record_key').doNothing())
        .execute();
    }
  }

  /** Own pending entries (after a failure or restart), entries idle on a dead consumer, and (with `fresh`) new ones. */
  async #read(stream: string, own: boolean, claim: boolean, fresh: boolean, retried = false): Promise<{ entries: StreamEntry[]; full: boolean }> {
    const { redis, batchSize, consumer } = this.#o;
    const entries: StreamEntry[] = [];
    let full = false;
    try {
      if (own) {
        const r = (await redis.xreadgroup('GROUP', auditGroup, consumer, 'COUNT', batchSize, 'STREAMS', stream, '0')) as [string, StreamEntry[]][] | null;
        const got = r?.[0]?.[1] ?? [];
        entries.push(...got);
        if (got.length >= batchSize) full = true;
      }
      if (claim) {
        const r = (await redis.xautoclaim(stream, auditGroup, consumer, this.#o.claimIdleMs, '0-0', 'COUNT', batchSize)) as [string, StreamEntry[]];
        const taken = r[1].filter((e) => e[1] !== null);
        if (taken.length) this.#o.log.info({ stream, count: taken.length }, 'took over audit records pending too long (a drainer died or a round failed)');
        entries.push(...taken);
      }
      if (fresh) {
        const r = (await redis.xreadgroup('GROUP', auditGroup, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>')) as [string, StreamEntry[]][] | null;
        const got = r?.[0]?.[1] ?? [];
        entries.push(...got);
        if (got.length >= batchSize) full = true;
      }
    } catch (err) {
      if (retried || redisReplyCode(err) !== 'NOGROUP') throw err;
      // A stream without its group (Redis lost it): the group starts at 0, so no record appended before it is skipped.
      await ensureAuditGroup(redis, stream);
      return this.#read(stream, own, claim, fresh, true);
    }
    return { entries: dedupe(entries), full };
  }

  /**
   * New entries of every stream, in one XREADGROUP per `maxStreamsPerCall` streams; undefined
   * where one call cannot serve (Redis Cluster: streams in many slots) or a stream lost its
   * group: the caller reads each stream then.
   */
  async #readFresh(streams: string[]): Promise<Map<string, StreamEntry[]> | undefined> {
    const { redis, batchSize, consumer } = this.#o;
    if (redis instanceof Cluster) return undefined;
    const out = new Map<string, StreamEntry[]>();
    for (let i = 0; i < streams.length; i += maxStreamsPerCall) {
      const chunk = streams.slice(i, i + maxStreamsPerCall);
      let r: [string, StreamEntry[]][] | null;
      try {
        r = (await redis.call('XREADGROUP', 'GROUP', auditGroup, consumer, 'COUNT', batchSize, 'STREAMS', ...chunk, ...chunk.map(() => '>'))) as [string, StreamEntry[]][] | null;
      } catch (err) {
        if (redisReplyCode(err) === 'NOGROUP') return undefined;
        throw err;
      }
      for (const [stream, entries] of r ?? []) out.set(stream, dedupe(entries));
    }
    return out;
  }
}

/** Entries without deleted ones and duplicates. */
function dedupe(entries: StreamEntry[]): StreamEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => e[1] !== null && !seen.has(e[0]) && seen.add(e[0]));
}


function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The host_commands row of one audit outbox entry (strings sanitized once more: the stream may hold older or foreign records). */
function rowOf(roomId: string, id: string, fields: string[]): Row {
  const rec = sanitize(JSON.parse(field(fields, 'r') ?? '')) as AuditRecord;
  const outcome = field(fields, 'o');
  if (outcome !== 'applied' && outcome !== 'duplicate') throw new Error(`outcome ${JSON.stringify(outcome)}`);
  if (typeof rec?.actor !== 'string' || typeof rec.command !== 'string') throw new Error('actor and command are required');
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  return {
    record_key: `${roomId}/${id}`,
    room_id: roomId,
    actor: rec.actor,
    role: String(rec.role),
    command: rec.command,
    idempotency_key: rec.idempotencyKey ?? null,
    base_version: rec.baseVersion ?? null,
    payload: JSON.stringify(rec.payload ?? null),
    outcome,
    version: num(field(fields, 'v')),
    room_offset: num(field(fields, 'f')),
    error_code: null,
    error_message: null,
    via: String(rec.via),
    node: String(rec.node),
    duration_ms: Number(rec.durationMs) || 0,
    at: new Date(Number(rec.at)),
  };
}
