import { LivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { nextDoc, type Delta } from '../common/contracts/protocol.ts';
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

  constructor(opts: { store: RoomStore; log?: Logger }) {
    this.#store = opts.store;
    this.#log = opts.log;
  }

  async publish(s: ItemSweep): Promise<void> {
    if (!s.roomId) return;
    const deltas: Delta[] = [];
    if (s.price) deltas.push({ t: 'price', item: s.itemId, price: s.price.price });
    if (s.settled && !s.settled.already) {
      deltas.push({ t: 'groupClosed', item: s.itemId, count: s.settled.count, finalPrice: s.settled.finalPrice, outcome: s.settled.outcome });
    }
    if (s.available !== undefined && s.ver !== undefined) {
      deltas.push({ t: 'stock', items: [{ id: s.itemId, available: s.available, ver: s.ver }] });
      // Expired joins lower an open group's count (and maybe its tier).
      if (s.group && s.expired && !s.settled) deltas.push({ t: 'group', item: s.itemId, count: s.group.count, price: s.group.priceNow, next: s.group.nextThreshold, ver: s.ver });
    }
    for (const d of deltas) {
      try {
        await this.#append(s.roomId, d);
      } catch (err) {
        this.#log?.warn({ err: (err as Error).message, roomId: s.roomId, itemId: s.itemId, delta: d.t }, 'room update from the sweeper failed');
      }
    }
  }

  async #append(roomId: string, d: Delta): Promise<void> {
    if (d.t === 'stock' || d.t === 'group') {
      await this.#store.append(roomId, d);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#store.get(roomId);
      if (!stored) return; // the room is gone (or not in this Redis): nothing to tell
      try {
        await this.#store.append(roomId, d, { doc: nextDoc(stored.doc, d), baseVersion: stored.version });
        return;
      } catch (err) {
        if (err instanceof LivesaleError && err.code === 'CONFLICT' && attempt < 5) continue;
        throw err;
      }
    }
  }
}
