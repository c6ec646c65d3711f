import { createHash } from 'node:crypto';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { defaultRetry, retry, type RetryPolicy } from '../common/platform/retry.ts';
import { auditRecordJson } from './audit.ts';
import type { Principal } from './auth.ts';
import { authorize, type Action, type ResourceOf, type RoomRef } from './policy.ts';
import type { Call } from './router.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Command, CommandName, CommandOf, CommandResult, Delta } from '../common/contracts/protocol.ts';
import { nextDoc } from '../common/contracts/room-view.ts';
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
  /** The command's idempotency key, and the hash of its parameters stored with its first answer. */
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly now: number;
}

/** What an executor produces: the delta to append and optional output for the reply. */
export interface Effect {
  readonly delta: Delta;
  readonly data?: Record<string, unknown>;
  /** What the audit record keeps of the outcome besides the command (its payload's `result`): figures like a reminder's reach. */
  readonly audit?: Record<string, unknown>;
  /** Runs after the delta is appended (activity events). */
  readonly after?: (r: CommandResult) => void;
}

export type Executor<N extends CommandName> = (x: ExecContext, cmd: CommandOf<N>) => Promise<Effect>;

/** Actions whose policy is about a room: the ones a host command may name. */
type RoomAction = { [A in Action]: [ResourceOf<A>] extends [never] ? never : ResourceOf<A> extends RoomRef ? A : never }[Action];

/** One host command: what it does, and who may run it besides what `room.command` allows. */
export interface HostCommand<N extends CommandName> {
  /** A stricter policy for this command than `room.command` (which every command passes first). */
  readonly action?: RoomAction;
  readonly run: Executor<N>;
}

/** Every host command, by name (host-commands.ts); a command without an entry does not compile. */
export type HostCommands = { [N in CommandName]: HostCommand<N> };

export interface CommandDeps {
  config: Pick<Config, 'hostCommandRate' | 'nodeId'>;
  log: Logger;
  store: RoomStore;
  hub: RoomHub;
  metrics: GatewayMetrics;
  commands: HostCommands;
}

/** JSON with object keys sorted, so equal parameters hash alike whatever their order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * What an idempotency key stands for: the command and its parameters (target included), not
 * the envelope. `baseVersion` is left out: it is a precondition, and a retry after a timeout may
 * carry the version the client read since. Stored with the first answer (Stripe's rule).
 */
export function commandFingerprint(cmd: Command): string {
  const { idempotencyKey: _k, baseVersion: _v, ...request } = cmd;
  return createHash('sha256').update(canonical(request)).digest('base64url').slice(0, 22);
}

/** How long a node may hold a room's command lock. */
const lockTtlMs = 10_000;
/** How long a command waits for the room's lock before answering CONFLICT. */
const lockWaitMs = 3000;
/** Polling a busy room lock: starts at a few ms (commands are short), at most 100 ms apart. */
const lockPoll: RetryPolicy = Object.freeze({ ...defaultRetry, initialMs: 5, maxMs: 100 });

/**
 * Host console commands: the authorization of each, the per-host rate limit, one command at a
 * time per room (a Redis lock shared by every node), idempotency keys, the base-version check,
 * the audit record (appended by the script that applies or answers the command, to the room's
 * audit outbox), the count of refusals, and the delta each command appends to the room.
 */
export class Commands {
  readonly #d: CommandDeps;
  /** Per room on this node: commands queue here before they contend for the shared lock. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(deps: CommandDeps) {
    this.#d = deps;
  }

  /**
   * Runs one command for an authenticated caller. An applied or repeated command gets its audit
   * record from the same script call that applies or answers it; a refused one (by the policy,
   * the rate limit, a stale version, a bad argument) is counted per room, actor, command and
   * code, not recorded one by one.
   */
  async run(call: Call<'room.command'>, roomId: string, cmd: Command, via: 'http' | 'ws'): Promise<CommandResult> {
    const p = call.principal;
    const started = performance.now();
    const at = Date.now();
    const { command, idempotencyKey, baseVersion, ...payload } = cmd;
    const { metrics } = this.#d;
    const end = metrics.commandLatency.startTimer({ command: `host.${command}` });
    const auditJson = (result?: Record<string, unknown>) =>
      auditRecordJson({ roomId, actor: p.sub, role: p.role, command, idempotencyKey, baseVersion, payload: result ? { ...payload, result } : payload, via, node: this.#d.config.nodeId, durationMs: performance.now() - started, at });
    let known = false;
    try {
      const room = await this.#d.hub.ensure(roomId);
      if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
      known = true;
      call.authorize(room.view.doc);
      const stricter = this.#d.commands[cmd.command].action;
      if (stricter) authorize(stricter, p, room.view.doc);
      const rate = await this.#d.store.countHostCommand(`${p.role}:${p.sub}`);
      if (rate.count > this.#d.config.hostCommandRate) {
        metrics.rateLimited.inc({ scope: 'host_commands' });
        throw new LivesaleError('RATE_LIMITED', `at most ${this.#d.config.hostCommandRate} commands per second per host`, { retryAfterMs: rate.resetMs });
      }
      const result = await this.#serial(roomId, () => this.#apply(p, roomId, cmd, at, auditJson));
      // Read your writes: the reply goes once this node's copy of the room has the change.
      await this.#d.hub.reached(roomId, result.version);
      metrics.commands.inc({ command, outcome: result.duplicate ? 'duplicate' : 'applied' });
      return result;
    } catch (err) {
      const e = asLivesaleError(err);
      if (e.code === 'INTERNAL') this.#d.log.error({ err, roomId, command }, 'host command failed');
      metrics.commands.inc({ command, outcome: e.code });
      metrics.commandRefusals.inc({ command, code: e.code });
      // Counted in the room only when the room exists: an unknown room id leaves nothing behind.
      if (known) {
        await this.#d.store.countRefusal(roomId, { actor: p.sub, role: p.role, command, errorCode: e.code }).catch((countErr: unknown) => {
          this.#d.log.warn({ err: (countErr as Error).message, roomId, command, code: e.code }, 'refused host command not counted');
        });
      }
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

  async #apply(p: Principal, roomId: string, cmd: Command, now: number, auditJson: (result?: Record<string, unknown>) => string): Promise<CommandResult> {
    const { store } = this.#d;
    const idemField = `${p.role}:${p.sub} ${cmd.idempotencyKey}`;
    const fingerprint = commandFingerprint(cmd);
    const begun = await this.#begin(roomId, idemField, fingerprint, auditJson);
    if (begun.kind === 'duplicate') {
      const first = begun.answer;
      return { command: cmd.command, roomId, version: first.version, offset: first.offset, duplicate: true, ...(first.data ? { data: first.data } : {}) };
    }
    const { room, release } = begun;
    try {
      if (room.version !== cmd.baseVersion) {
        throw new LivesaleError('CONFLICT', `the room is at version ${room.version}; the command was based on ${cmd.baseVersion}`, { version: room.version });
      }
      const exec = this.#d.commands[cmd.command].run as Executor<CommandName>;
      const effect = await exec({ roomId, room, principal: p, opId: idemField, idempotencyKey: cmd.idempotencyKey, fingerprint, now }, cmd as CommandOf<CommandName>);
      const a = await store.command(roomId, {
        idemField,
        fingerprint,
        baseVersion: cmd.baseVersion,
        delta: effect.delta,
        doc: nextDoc(room.doc, effect.delta),
        ...(effect.data ? { data: effect.data } : {}),
        audit: auditJson(effect.audit),
      });
      const result: CommandResult = { command: cmd.command, roomId, version: a.version, offset: a.offset, duplicate: a.duplicate, ...(a.data ? { data: a.data } : {}) };
      if (!a.duplicate) effect.after?.(result);
      return result;
    } finally {
      release();
    }
  }

  /** The room's lock and the room (or the first answer), waiting a while for another command's lock. */
  async #begin(roomId: string, idemField: string, fingerprint: string, auditJson: () => string) {
    const deadline = Date.now() + lockWaitMs;
    return retry(
      async () => {
        const b = await this.#d.store.beginCommand(roomId, idemField, lockTtlMs, fingerprint, auditJson());
        if (b.kind === 'missing') throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
        if (b.kind !== 'busy') return b;
        // The command never ran, so trying again is safe; past the deadline the caller is told to.
        throw new LivesaleError('CONFLICT', 'another command for this room is in progress; retry', undefined, { retriable: Date.now() <= deadline });
      },
      { policy: lockPoll },
    );
  }
}
