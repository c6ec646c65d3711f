import type { Kysely } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { roomStats } from './stats.ts';
import { backoffMs, retryPolicy } from '../common/platform/retry.ts';

/** A failed push is tried again a few times (the figures may otherwise wait for the next commit). */
const pushRetry = retryPolicy({ retries: 5 });

export interface StatsPusherOptions {
  db: Kysely<Database>;
  /** Publishes one room's figures to its ops dashboards (RoomStore.publishEphemeral(roomId, 'stats', payload)). */
  publish: (roomId: string, payload: Record<string, unknown>) => Promise<void>;
  log: Logger;
  /** At most one push per room per this many ms (default 250: four a second). */
  minIntervalMs?: number;
}

interface RoomState {
  /** Commit time of the newest batch not pushed yet. */
  pending: number | undefined;
  lastPushAt: number;
  /** Failed pushes in a row, and when the next try may start. */
  failures: number;
  retryAt: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

/**
 * Live figures for ops: after each committed batch, the figures of the rooms it touched are
 * computed from the ledger and published to the room's ops and host sockets through the gateway
 * (`{"type":"stats", roomId, showId, asOf, committedAt, metrics}`): the figures of the room's
 * current show (orders/stats.ts `roomStats`), so a room's second show is pushed from zero. Throttled per room: the first commit
 * after a quiet spell is pushed at once; commits during a push or within `minIntervalMs` of the
 * last one are folded into the next push, which always reflects the newest commit.
 */
export class StatsPusher {
  readonly #o: Required<Omit<StatsPusherOptions, 'log'>> & { log: Logger };
  readonly #rooms = new Map<string, RoomState>();
  #pushed = 0;
  #closed = false;

  constructor(opts: StatsPusherOptions) {
    this.#o = { minIntervalMs: 250, ...opts };
  }

  get pushed(): number {
    return this.#pushed;
  }

  /** A batch touching `rooms` committed at `committedAt` (ms). */
  notify(rooms: Iterable<string>, committedAt: number): void {
    if (this.#closed) return;
    for (const roomId of rooms) {
      let s = this.#rooms.get(roomId);
      if (!s) this.#rooms.set(roomId, (s = { pending: undefined, lastPushAt: 0, failures: 0, retryAt: 0, timer: undefined, running: false }));
      s.pending = Math.max(s.pending ?? 0, committedAt);
      this.#schedule(roomId, s);
    }
  }

  #schedule(roomId: string, s: RoomState): void {
    if (s.running || s.timer || s.pending === undefined) return;
    const wait = Math.max(0, s.lastPushAt + this.#o.minIntervalMs - Date.now(), s.retryAt - Date.now());
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void this.#push(roomId, s);
    }, wait);
  }

  async #push(roomId: string, s: RoomState): Promise<void> {
    if (this.#closed) return;
    const committedAt = s.pending!;
    s.pending = undefined;
    s.running = true;
    try {
      const stats = await roomStats(this.#o.db, roomId);
      await this.#o.publish(roomId, { roomId, showId: stats.showId, asOf: stats.asOf, committedAt, metrics: stats.metrics });
      this.#pushed++;
      s.failures = 0;
      s.retryAt = 0;
    } catch (err) {
      const retrying = s.failures < pushRetry.retries;
      this.#o.log.warn({ err: (err as Error).message, roomId, retrying }, 'live stats push failed');
      if (retrying) {
        s.pending = Math.max(s.pending ?? 0, committedAt);
        s.retryAt = Date.now() + backoffMs(s.failures++, pushRetry);
      } else {
        s.failures = 0;
        s.retryAt = 0;
      }
    } finally {
      s.running = false;
      s.lastPushAt = Date.now();
    }
    if (s.pending !== undefined) this.#schedule(roomId, s);
    else this.#prune();
  }

  /** Forgets rooms that are idle and past their throttle window (a show ends, its room goes quiet). */
  #prune(): void {
    if (this.#rooms.size < 1000) return;
    const now = Date.now();
    for (const [id, r] of this.#rooms) {
      if (r.pending === undefined && !r.timer && !r.running && now - r.lastPushAt > this.#o.minIntervalMs) this.#rooms.delete(id);
    }
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#rooms.values()) clearTimeout(s.timer);
    this.#rooms.clear();
  }
}
