import { randomBytes } from 'node:crypto';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { defaultRetry, retry, type RetryPolicy } from '../common/platform/retry.ts';
import type { ActivityPublisher } from './activity.ts';
import type { AuditLog } from './audit.ts';
import type { Principal } from './auth.ts';
import type { GatewayMetrics } from './metrics.ts';
import { nextDoc, type Command, type CommandName, type CommandOf, type CommandResult, type Delta, type RoomDoc } from '../common/contracts/protocol.ts';
import type { RoomHub } from './room-hub.ts';
import type { RoomStore, StoredRoom } from './room-store.ts';

/** What an executor learns about the command it runs. */
export interface ExecContext {
  readonly roomId: string;
  /** The room as stored now (its version is the command's base version). */
  readonly room: StoredRoom;
  readonly principal: Principal;
  /**
   * A stable id of this command (actor and idempotency key): inventory operations take it as
   * their own idempotency key, so a command retried after a crash never applies twice there.
   */
  readonly opId: string;
  readonly now: number;
}

/** What an executor produces: the delta to append and optional output for the reply. */
export interface Effect {
  readonly delta: Delta;
  readonly data?: Record<string, unknown>;
  /** Runs after the delta is appended (activity events). */
  readonly after?: (r: CommandResult) => void;
}

export type Executor<N extends CommandName> = (x: ExecContext, cmd: CommandOf<N>) => Promise<Effect>;
export type Executors = { [N in CommandName]: Executor<N> };

export interface CommandDeps {
  config: Config;
  log: Logger;
  store: RoomStore;
  hub: RoomHub;
  audit: AuditLog;
  activity: ActivityPublisher;
  metrics: GatewayMetrics;
  executors: Executors;
}

/** How long a node may hold a room's command lock. */
const lockTtlMs = 10_000;
/** How long a command waits for the room's lock before answering CONFLICT. */
const lockWaitMs = 3000;
/** Polling a busy room lock: starts at a few ms (commands are short), at most 100 ms apart. */
const lockPoll: RetryPolicy = Object.freeze({ ...defaultRetry, initialMs: 5, maxMs: 100 });

function item(doc: RoomDoc, id: string) {
  const it = doc.items[id];
  if (!it) throw new LivesaleError('ITEM_NOT_FOUND', `room ${doc.id} has no item ${id}`);
  return it;
}

/** The executors that only change the room document (no inventory). */
export const documentExecutors = (activity: ActivityPublisher) => ({
  onAir: async (x, c) => {
    if (c.itemId !== null) item(x.room.doc, c.itemId);
    return { delta: { t: 'onAir', item: c.itemId }, after: onAirActivity(activity, x.roomId, x.principal.sub, c.itemId) };
  },
  list: async (x, c) => {
    item(x.room.doc, c.itemId);
    const listing = [...x.room.doc.listing];
    if (listing.includes(c.itemId)) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is already listed`);
    listing.splice(Math.min(c.position ?? listing.length, listing.length), 0, c.itemId);
    return { delta: { t: 'listing', listing } };
  },
  delist: async (x, c) => {
    item(x.room.doc, c.itemId);
    if (!x.room.doc.listing.includes(c.itemId)) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is not listed`);
    if (x.room.doc.onAir === c.itemId) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is on air; put another item (or none) on air first`);
    return { delta: { t: 'listing', listing: x.room.doc.listing.filter((i) => i !== c.itemId) } };
  },
  reorder: async (x, c) => {
    const cur = x.room.doc.listing;
    const same = c.listing.length === cur.length && new Set(c.listing).size === c.listing.length && c.listing.every((i) => cur.includes(i));
    if (!same) throw new LivesaleError('INVALID_ARGUMENT', 'a reorder must list exactly the listed items, each once');
    return { delta: { t: 'listing', listing: [...c.listing] } };
  },
  announce: async (x, c) => ({
    delta: { t: 'announce', announcement: { id: `${x.now.toString(36)}-${randomBytes(3).toString('hex')}`, text: c.text, at: x.now } },
  }),
}) satisfies Partial<{ [N in CommandName]: Executor<N> }>;

/**
 * Host console commands: who may run them, the per-host rate limit, one command at a time per
 * room (a Redis lock shared by every node), idempotency keys, the base-version check, the
 * audit log, and the delta each command appends to the room.
 */
export class Commands {
  readonly #d: CommandDeps;
  /** Per room on this node: commands queue here before they contend for the shared lock. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(deps: CommandDeps) {
    this.#d = deps;
  }

  /** May `p` run host commands in this room? FORBIDDEN otherwise. */
  static authorize(p: Principal, doc: Pick<RoomDoc, 'id' | 'hostId'>): void {
    if (p.role === 'ops') return;
    if (p.role !== 'host') throw new LivesaleError('FORBIDDEN', 'host commands need a host or ops token');
    if (doc.hostId !== p.sub) throw new LivesaleError('FORBIDDEN', `this host token is not for room ${doc.id}`);
  }

  /** Runs one command; every attempt past authentication lands in the audit log. */
  async run(p: Principal, roomId: string, cmd: Command, via: 'http' | 'ws'): Promise<CommandResult> {
    const started = performance.now();
    const at = Date.now();
    const { command, idempotencyKey, baseVersion, ...payload } = cmd;
    const { metrics } = this.#d;
    const end = metrics.commandLatency.startTimer({ command: `host.${command}` });
    const audit = (outcome: 'applied' | 'duplicate' | 'rejected', extra: { version?: number; offset?: number; errorCode?: string; errorMessage?: string }) =>
      this.#d.audit.record({
        roomId,
        actor: p.sub,
        role: p.role,
        command,
        idempotencyKey,
        baseVersion,
        payload,
        outcome,
        via,
        durationMs: performance.now() - started,
        at,
        ...extra,
      });
    try {
      const room = await this.#d.hub.ensure(roomId);
      if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
      Commands.authorize(p, room.view.doc);
      const rate = await this.#d.store.countHostCommand(`${p.role}:${p.sub}`);
      if (rate.count > this.#d.config.hostCommandRate) {
        metrics.rateLimited.inc({ scope: 'host_commands' });
        throw new LivesaleError('RATE_LIMITED', `at most ${this.#d.config.hostCommandRate} commands per second per host`, { retryAfterMs: rate.resetMs });
      }
      const result = await this.#serial(roomId, () => this.#apply(p, roomId, cmd, at));
      metrics.commands.inc({ command, outcome: result.duplicate ? 'duplicate' : 'applied' });
      await audit(result.duplicate ? 'duplicate' : 'applied', { version: result.version, offset: result.offset });
      return result;
    } catch (err) {
      const e = asLivesaleError(err);
      if (e.code === 'INTERNAL') this.#d.log.error({ err, roomId, command }, 'host command failed');
      metrics.commands.inc({ command, outcome: e.code });
      await audit('rejected', { errorCode: e.code, errorMessage: e.message });
      throw e;
    } finally {
      end();
    }
  }

  async #serial<T>(roomId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#chains.get(roomId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.#chains.set(roomId, tail);
    void tail.then(() => {
      if (this.#chains.get(roomId) === tail) this.#chains.delete(roomId);
    });
    return run;
  }

  async #apply(p: Principal, roomId: string, cmd: Command, now: number): Promise<CommandResult> {
    const { store } = this.#d;
    const idemField = `${p.role}:${p.sub} ${cmd.idempotencyKey}`;
    const begun = await this.#begin(roomId, idemField);
    if (begun.kind === 'duplicate') {
      const first = begun.answer;
      return { command: cmd.command, roomId, version: first.version, offset: first.offset, duplicate: true, ...(first.data ? { data: first.data } : {}) };
    }
    const { room, release } = begun;
    try {
      if (room.version !== cmd.baseVersion) {
        throw new LivesaleError('CONFLICT', `the room is at version ${room.version}; the command was based on ${cmd.baseVersion}`, { version: room.version });
      }
      const exec = this.#d.executors[cmd.command] as Executor<CommandName>;
      const effect = await exec({ roomId, room, principal: p, opId: idemField, now }, cmd as CommandOf<CommandName>);
      const a = await store.command(roomId, {
        idemField,
        baseVersion: cmd.baseVersion,
        delta: effect.delta,
        doc: nextDoc(room.doc, effect.delta),
        ...(effect.data ? { data: effect.data } : {}),
      });
      const result: CommandResult = { command: cmd.command, roomId, version: a.version, offset: a.offset, duplicate: a.duplicate, ...(a.data ? { data: a.data } : {}) };
      if (!a.duplicate) effect.after?.(result);
      return result;
    } finally {
      release();
    }
  }

  /** The room's lock and the room (or the first answer), waiting a while for another command's lock. */
  async #begin(roomId: string, idemField: string) {
    const deadline = Date.now() + lockWaitMs;
    return retry(
      async () => {
        const b = await this.#d.store.beginCommand(roomId, idemField, lockTtlMs);
        if (b.kind === 'missing') throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
        if (b.kind !== 'busy') return b;
        // The command never ran, so trying again is safe; past the deadline the caller is told to.
        throw new LivesaleError('CONFLICT', 'another command for this room is in progress; retry', undefined, { retriable: Date.now() <= deadline });
      },
      { policy: lockPoll },
    );
  }
}

/** The on-air activity event of an applied onAir command. */
export function onAirActivity(activity: ActivityPublisher, roomId: string, by: string, itemId: string | null): (r: CommandResult) => void {
  return (r) => activity.publish({ type: 'item.on_air', id: `onair:${roomId}:${r.version}`, room: roomId, at: Date.now(), item: itemId, by });
}
