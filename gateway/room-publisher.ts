import type { Logger } from '../common/platform/logger.ts';
import type { Delta } from '../common/contracts/protocol.ts';
import { nextDoc } from '../common/contracts/room-view.ts';
import type { RoomStore } from './room-store.ts';
import type { ItemSweep } from '../inventory/sweeper.ts';

/**
 * What the sweeper changed, as room deltas: a new stock level (expiries return stock), a
 * scheduled price that came into effect, a group buy closed at its end time. Deltas that change
 * the room document go in with it (optimistic, like host commands); stock goes in as state.
 */
export class RoomPublisher {
  readonly #store: RoomStore;
  readonly #log: Logger | undefined;
  readonly #signal: AbortSignal | undefined;

  /** `signal`: the process is stopping; publishes being retried give up. */
  constructor(opts: { store: RoomStore; log?: Logger; signal?: AbortSignal }) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.#signal = opts.signal;
  }

  async publish(s: ItemSweep): Promise<void> {
    if (!s.roomId) return;
    const deltas: Delta[] = [];
    if (s.price) deltas.push({ t: 'price', item: s.itemId, price: s.price.price });
    if (s.settled && !s.settled.already) {
      deltas.push({ t: 'groupClosed', item: s.itemId, count: s.settled.count, finalPrice: s.settled.finalPrice, outcome: s.settled.outcome });
    }
    // Teams settled at the end of their window: formed, or failed with their members refunded.
    for (const t of s.teams ?? []) {
      if (t.outcome === 'open' || t.already) continue;
      deltas.push({ t: 'team', item: s.itemId, team: t.teamId, state: t.outcome, seats: t.outcome === 'formed' ? t.paid : 0, paid: t.outcome === 'formed' ? t.paid : 0, size: t.size ?? 0, ver: t.ver ?? 0 });
    }
    if (s.available !== undefined && s.ver !== undefined) {
      deltas.push({ t: 'stock', items: [{ id: s.itemId, available: s.available, ver: s.ver }] });
      // Expired joins lower an open group's count (and maybe its tier).
      if (s.group && s.expired && !s.settled) deltas.push({ t: 'group', item: s.itemId, count: s.group.count, price: s.group.priceNow, next: s.group.nextThreshold, ver: s.ver });
    }
    for (const d of deltas) {
      try {
        await this.#publish(s.roomId, d, s.itemId);
      } catch (err) {
        this.#log?.warn({ err: (err as Error).message, roomId: s.roomId, itemId: s.itemId, delta: d.t }, 'room update from the sweeper given up');
      }
    }
  }

  /**
   * Retried until it is in the room's log (the one retry policy), superseded by a newer version,
   * or the room is gone. A delta that changes the document goes in with it, based on the room
   * as read for each try (a CONFLICT reads it again).
   */
  #publish(roomId: string, d: Delta, itemId: string): Promise<unknown> {
    const opts = {
      ...(this.#signal ? { signal: this.#signal } : {}),
      onRetry: (err: unknown, attempt: number) => this.#log?.warn({ err: (err as Error).message, roomId, itemId, delta: d.t, attempt }, 'room update from the sweeper not published yet; retrying'),
    };
    if (d.t === 'stock' || d.t === 'group' || d.t === 'team') return this.#store.publish(roomId, d, opts);
    return this.#store.publish(
      roomId,
      async () => {
        const stored = await this.#store.get(roomId);
        // The room is gone (or not in this Redis): nothing to tell.
        return stored && { delta: d, change: { doc: nextDoc(stored.doc, d), baseVersion: stored.version } };
      },
      opts,
    );
  }
}
