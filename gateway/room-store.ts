import { randomBytes } from 'node:crypto';
import { redisReplyCode } from '../common/platform/driver-errors.ts';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import { LivesaleError } from '../common/platform/errors.ts';
import { auditGroup, type Keys } from '../common/contracts/keys.ts';
import { ScriptCode, assertOk, decodeAnswer, expectOk, type ScriptAnswer } from '../common/contracts/script-codes.ts';
import { Scripts, loadScripts } from '../common/platform/lua-loader.ts';
import { defaultRetry, retry } from '../common/platform/retry.ts';
import type { Delta, RoomDoc } from '../common/contracts/protocol.ts';

const roomScripts = loadScripts(fileURLToPath(new URL('./lua', import.meta.url)));

export interface StoredRoom {
  doc: RoomDoc;
  version: number;
  offset: number;
  epoch: string;
}

export interface Appended {
  offset: number;
  version: number;
  epoch: string;
}

/** A host command's answer: applied now, or the first answer of a repeated idempotency key. */
export interface CommandAnswer {
  offset: number;
  version: number;
  data: Record<string, unknown> | null;
  duplicate: boolean;
}

/** An append's refusals as typed errors: the room is gone, or moved past the base version. */
function checkAppend(a: ScriptAnswer, roomId: string, baseVersion: number | undefined): void {
  if (a.code === ScriptCode.ROOM_NOT_FOUND) throw new LivesaleError('ROOM_NOT_FOUND', `room ${roomId} has no document in Redis`);
  if (a.code === ScriptCode.VERSION_CONFLICT) {
    throw new LivesaleError('CONFLICT', `the room is at version ${a.fields[0]}, the command was based on ${baseVersion}`, { version: Number(a.fields[0]) });
  }
  assertOk(a);
}

/** A repeated command's first answer: { offset, version, output (JSON) }. */
function commandAnswerOf(a: ScriptAnswer): CommandAnswer {
  return { offset: Number(a.fields[0]), version: Number(a.fields[1]), data: JSON.parse(String(a.fields[2])) as Record<string, unknown> | null, duplicate: true };
}

/**
 * The versioned state parts of a delta, flattened for room-append-3.lua: (state key, version,
 * item JSON) per stock item, (key, version, '') for group progress and (key, entrant count, '') for
 * a lottery's entrants (a count only grows); none for other deltas (their
 * order is the document's version, checked by the script).
 */
function versionedParts(d: Delta): (string | number)[] {
  if (d.t === 'stock') return d.items.flatMap((s) => [`stock:${s.id}`, s.ver, JSON.stringify({ id: s.id, available: s.available, ver: s.ver })]);
  if (d.t === 'group') return [`group:${d.item}`, d.ver, ''];
  if (d.t === 'lotteryEntries') return [`lottery:${d.lottery}`, d.entrants, ''];
  if (d.t === 'team') return [`team:${d.team}`, d.ver, ''];
  return [];
}

/**
 * Which failures of an append are worth another try: the typed ones by their own flag (a room
 * gone is final; a CONFLICT is retried, since the next try reads the room again); any other,
 * even a reply Redis would give again (out of memory, a command refused), yes: the delta must
 * get in once Redis takes it, and each try is logged meanwhile.
 */
function publishRetriable(err: unknown): boolean | undefined {
  if (err instanceof LivesaleError) return err.code === 'CONFLICT' || err.retriable;
  return true;
}

/** How long command answers are kept for repeats (ms). */
const answersTtlMs = 7 * 24 * 3600_000;

/** How often a room's place in the audit registry is refreshed by a store that runs its commands (ms). */
const auditRefreshMs = 10 * 60_000;

/** How long a room's refusal counts are kept after its last refusal (ms). */
const refusalsTtlMs = 7 * 24 * 3600_000;
/** Most distinct (actor, role, command, code) fields a room's refusal counts keep; the rest go to overflow fields. */
export const refusalFieldCap = 1000;

/** One row of a room's refusal counts: who was refused what, how often. */
export interface RefusalCount {
  /** The actor, or `*` for the overflow row of a command and code (past the field cap). */
  actor: string;
  role: string;
  command: string;
  errorCode: string;
  count: number;
}

/** Creates the audit group of a room's stream (and the stream), reading from its first entry; a group that exists is kept. */
export async function ensureAuditGroup(redis: Redis | Cluster, stream: string): Promise<void> {
  await redis.xgroup('CREATE', stream, auditGroup, '0', 'MKSTREAM').catch((e: Error) => {
    if (redisReplyCode(e) !== 'BUSYGROUP') throw e;
  });
}

/** The room documents and delta logs in Redis. */
export class RoomStore {
  readonly #redis: Redis | Cluster;
  readonly #keys: Keys;
  readonly #scripts: Scripts;
  readonly #retain: number;
  /** When this store last put a room in the audit registry (bounded; a repeat is harmless). */
  readonly #auditRegistered = new Map<string, number>();

  constructor(deps: { redis: Redis | Cluster; keys: Keys; retain?: number }) {
    this.#redis = deps.redis;
    this.#keys = deps.keys;
    this.#scripts = new Scripts(deps.redis, roomScripts);
    this.#retain = deps.retain ?? 1000;
  }

  async init(doc: RoomDoc): Promise<boolean> {
    const k = this.#keys.room(doc.id);
    const a = expectOk(await this.#scripts.call('room-init', [k.room, k.log], [JSON.stringify(doc), randomBytes(9).toString('base64url')]));
    return a.code === ScriptCode.OK;
  }

  async get(roomId: string): Promise<StoredRoom | undefined> {
    const k = this.#keys.room(roomId);
    const [doc, version, offset, epoch] = await this.#redis.hmget(k.room, 'doc', 'version', 'offset', 'epoch');
    if (!doc || !epoch) return undefined;
    return { doc: JSON.parse(doc) as RoomDoc, version: Number(version), offset: Number(offset), epoch };
  }

  /**
   * Appends a delta. With `doc`, the document is replaced too, but only if it is still at
   * `baseVersion` (otherwise CONFLICT: the command was based on a stale room). Stock levels and
   * group progress are appended only where their version is above the highest one appended for
   * the same key (room-append-3.lua): undefined when nothing of the delta was newer.
   */
  async append(roomId: string, delta: Delta, change?: { doc: RoomDoc; baseVersion: number }): Promise<Appended | undefined> {
    const k = this.#keys.room(roomId);
    const parts = versionedParts(delta);
    const a = decodeAnswer(
      await this.#scripts.call('room-append', [k.room, k.log, k.channel], [
        change ? change.baseVersion : '',
        delta.t === 'stock' ? '' : JSON.stringify(delta),
        change ? JSON.stringify(change.doc) : '',
        this.#retain,
        parts.length / 3,
        ...parts,
      ]),
    );
    if (a.code === ScriptCode.SUPERSEDED) return undefined;
    checkAppend(a, roomId, change?.baseVersion);
    return { offset: Number(a.fields[0]), version: Number(a.fields[1]), epoch: String(a.fields[2]) };
  }

  /**
   * Appends a delta, retrying (the one retry policy) until it is in the log, superseded by a
   * newer version of the same state, refused for good (no such room), or `signal` aborts: for
   * what viewers must not miss (sold out, tier crossings, sale open and close), a failure is
   * not the end of it. `onRetry` hears each failed try.
   */
  async publish(
    roomId: string,
    delta: Delta | (() => Promise<{ delta: Delta; change?: { doc: RoomDoc; baseVersion: number } } | undefined>),
    opts: { signal?: AbortSignal; onRetry?: (err: unknown, attempt: number) => void } = {},
  ): Promise<Appended | undefined> {
    return retry(
      async () => {
        if (typeof delta !== 'function') return this.append(roomId, delta);
        const next = await delta();
        return next ? this.append(roomId, next.delta, next.change) : undefined;
      },
      {
        policy: defaultRetry,
        classify: publishRetriable,
        retryUnknown: true,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onRetry: (err, attempt) => opts.onRetry?.(err, attempt),
      },
    );
  }

  /**
   * Applies a host command's change: returns the first answer again for a repeated idempotency
   * field; otherwise CONFLICT unless the room is still at `baseVersion`, else appends the delta
   * (and the new document) and records the answer, atomically.
   */
  async command(
    roomId: string,
    c: { idemField: string; fingerprint: string; baseVersion: number; delta: Delta; doc?: RoomDoc; data?: Record<string, unknown>; audit: string },
  ): Promise<CommandAnswer> {
    const k = this.#keys.room(roomId);
    await this.#registerAudit(roomId);
    const a = decodeAnswer(
      await this.#scripts.call('room-command', [k.room, k.log, k.channel, k.commands, k.audit], [
        c.baseVersion,
        JSON.stringify(c.delta),
        c.doc ? JSON.stringify(c.doc) : '',
        this.#retain,
        c.idemField,
        c.data ? JSON.stringify(c.data) : '',
        answersTtlMs,
        c.fingerprint,
        c.audit,
      ]),
    );
    if (a.duplicate) return commandAnswerOf(a);
    checkAppend(a, roomId, c.baseVersion);
    return { offset: Number(a.fields[0]), version: Number(a.fields[1]), data: c.data ?? null, duplicate: false };
  }

  /** The recorded answer of an idempotency field, if the command was applied before. */
  async answer(roomId: string, idemField: string): Promise<CommandAnswer | undefined> {
    const raw = await this.#redis.hget(this.#keys.room(roomId).commands, idemField);
    if (!raw) return undefined;
    const { fp: _fp, ...first } = JSON.parse(raw) as Omit<CommandAnswer, 'duplicate'> & { fp?: string };
    return { ...first, duplicate: true };
  }

  /** Reports this node's viewer count; returns the room's online total (fresh counts of every node) and peak. */
  async reportOnline(roomId: string, nodeId: string, count: number, staleMs: number): Promise<{ online: number; peak: number }> {
    const k = this.#keys.room(roomId);
    const a = expectOk(await this.#scripts.call('room-online', [k.online, k.peak], [nodeId, count, Date.now(), staleMs, 60_000, answersTtlMs]));
    return { online: Number(a.fields[0]), peak: Number(a.fields[1]) };
  }

  /**
   * Starts a host command: takes the room's command lock for `ttlMs` and reads the room, or
   * answers with the first answer of a repeated idempotency field, in one round trip. `busy`
   * when another command holds the lock; IDEMPOTENCY_KEY_REUSED when the field's first command
   * had another `fingerprint` (another command, target or parameters). The release is sent, not awaited: commands that follow
   * on this connection come after it.
   */
  async beginCommand(
    roomId: string,
    idemField: string,
    ttlMs: number,
    fingerprint: string,
    audit = '',
  ): Promise<{ kind: 'locked'; room: StoredRoom; release: () => void } | { kind: 'duplicate'; answer: CommandAnswer } | { kind: 'busy' } | { kind: 'missing' }> {
    const k = this.#keys.room(roomId);
    const token = randomBytes(12).toString('base64url');
    if (audit) await this.#registerAudit(roomId);
    const a = decodeAnswer(await this.#scripts.call('room-command-begin', [k.commandLock, k.commands, k.room, k.audit], [token, ttlMs, idemField, fingerprint, audit]));
    if (a.duplicate) return { kind: 'duplicate', answer: commandAnswerOf(a) };
    if (a.code === ScriptCode.LOCK_BUSY) return { kind: 'busy' };
    if (a.code === ScriptCode.ROOM_NOT_FOUND) return { kind: 'missing' };
    const f = assertOk(a).fields;
    return {
      kind: 'locked',
      room: { doc: JSON.parse(String(f[0])) as RoomDoc, version: Number(f[1]), offset: Number(f[2]), epoch: String(f[3]) },
      release: () => void this.#scripts.call('unlock', [k.commandLock], [token]).catch(() => {}),
    };
  }

  /**
   * Puts the room in the audit registry, scored by now (the drainer reads the audit streams of
   * the rooms in it, those scored within the last day every round), with its consumer group,
   * before an audited command through this store, at least every `auditRefreshMs`: the
   * registry holds the room before its stream can hold a record.
   */
  async #registerAudit(roomId: string): Promise<void> {
    const now = Date.now();
    const last = this.#auditRegistered.get(roomId);
    if (last !== undefined && now - last < auditRefreshMs) return;
    const k = this.#keys.room(roomId);
    await ensureAuditGroup(this.#redis, k.audit);
    await this.#redis.zadd(this.#keys.auditRegistry, now, roomId);
    if (this.#auditRegistered.size >= 10_000) this.#auditRegistered.clear();
    this.#auditRegistered.set(roomId, now);
  }

  /**
   * Counts a refused host command of a room (one field per actor, role, command and code, at
   * most `refusalFieldCap` of them; an expiring hash): refusals are counted, not recorded one by one.
   */
  async countRefusal(roomId: string, r: { actor: string; role: string; command: string; errorCode: string }): Promise<number> {
    const field = JSON.stringify([r.actor, r.role, r.command, r.errorCode]);
    const overflow = JSON.stringify(['*', '*', r.command, r.errorCode]);
    const a = expectOk(await this.#scripts.call('room-refusal', [this.#keys.room(roomId).refusals], [field, overflow, refusalFieldCap, refusalsTtlMs]));
    return Number(a.fields[0]);
  }

  /** A room's refusal counts, most frequent first. */
  async refusals(roomId: string): Promise<RefusalCount[]> {
    const h = await this.#redis.hgetall(this.#keys.room(roomId).refusals);
    const out: RefusalCount[] = [];
    for (const [field, n] of Object.entries(h)) {
      const [actor, role, command, errorCode] = JSON.parse(field) as string[];
      out.push({ actor: actor!, role: role!, command: command!, errorCode: errorCode!, count: Number(n) });
    }
    return out.sort((a, b) => b.count - a.count || (a.actor < b.actor ? -1 : 1));
  }

  /** Takes the room's command lock for `ttlMs`; resolves with a release function, or undefined if held by another. */
  async lock(roomId: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const k = this.#keys.room(roomId);
    const token = randomBytes(12).toString('base64url');
    const ok = await this.#redis.set(k.commandLock, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    return async () => {
      await this.#scripts.call('unlock', [k.commandLock], [token]);
    };
  }

  /** Counts one command of a host in the current one-second window; returns the count and the ms left. */
  async countHostCommand(hostId: string): Promise<{ count: number; resetMs: number }> {
    const a = expectOk(await this.#scripts.call('rate-window', [this.#keys.hostRate(hostId)], [1000]));
    return { count: Number(a.fields[0]), resetMs: Math.max(0, Number(a.fields[1])) };
  }

  /** Raw delta messages with offsets in (after, upTo], oldest first; [] when not all are retained. */
  async deltasAfter(roomId: string, after: number, upTo: number): Promise<string[] | undefined> {
    if (upTo <= after) return [];
    const k = this.#keys.room(roomId);
    const entries = (await this.#redis.xrange(k.log, `${after + 1}-0`, `${upTo}-0`)) as [string, string[]][];
    if (entries.length !== upTo - after) return undefined;
    return entries.map(([, f]) => f[1]!);
  }

  /**
   * Publishes an ephemeral (unsequenced, droppable) message to every gateway node serving the
   * room: `{"x":"<kind>", ...payload}`. Not logged, not offset-numbered: for live figures that a
   * newer message replaces (ops stats, viewer counts).
   */
  async publishEphemeral(roomId: string, kind: string, payload: Record<string, unknown>): Promise<void> {
    await this.#redis.spublish(this.#keys.room(roomId).channel, JSON.stringify({ x: kind, ...payload }));
  }

  channel(roomId: string): string {
    return this.#keys.room(roomId).channel;
  }
}
