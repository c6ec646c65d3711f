import type { Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { Logger } from '../common/platform/logger.ts';
import { liveShows, runOfShow, type LiveShow } from '../orders/run-of-show.ts';
import type { Fanout } from './fanout.ts';
import type { RoomStore } from './room-store.ts';

export interface RunOfShowPushDeps {
  db: Kysely<Database>;
  store: RoomStore;
  fanout: Fanout;
  log: Logger;
  /** The periodic push interval while a show is live (RUN_OF_SHOW_PUSH_MS). */
  pushMs: number;
}

/**
 * The host's live run of show (`run_of_show` frames, ops and the room host only): published to
 * every node after each slot change, and pushed by each node to its own sockets every
 * `pushMs` while the room's show is live, so the time left and the drift keep counting.
 */
export class RunOfShowPush {
  readonly #d: RunOfShowPushDeps;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(deps: RunOfShowPushDeps) {
    this.#d = deps;
  }

  /** After a slot change: the view to the room's host and ops sockets on every node. */
  async changed(show: LiveShow): Promise<void> {
    try {
      const view = await runOfShow(this.#d.db, show);
      await this.#d.store.publishEphemeral(show.roomId, 'run_of_show', view);
    } catch (err) {
      // Ephemeral: the next periodic push carries the same view.
      this.#d.log.warn({ err, roomId: show.roomId }, 'run of show push failed');
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#tick(), this.#d.pushMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const { fanout } = this.#d;
      const shows = (await liveShows(this.#d.db)).filter((s) => fanout.socketCount(s.roomId) > 0);
      for (const show of shows) {
        const view = await runOfShow(this.#d.db, show);
        fanout.ephemeral(show.roomId, JSON.stringify({ type: 'run_of_show', ...view }), true);
      }
    } catch (err) {
      this.#d.log.warn({ err }, 'periodic run of show push failed');
    } finally {
      this.#running = false;
    }
  }
}
