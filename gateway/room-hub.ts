import type { Cluster, Redis } from 'ioredis';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { itemViewOf } from '../inventory/item-ops.ts';
import type { Keys } from '../common/contracts/keys.ts';
import type { Delta, Envelope, GroupProgress, RoomView, SnapshotFrame, StockLevel } from '../common/contracts/protocol.ts';
import { applyDelta } from '../common/contracts/room-view.ts';
import type { RoomStore } from './room-store.ts';

export interface LocalRoom {
  readonly id: string;
  readonly view: RoomView;
  /** Recent raw messages (oldest first) for subscribers resuming on this node. */
  readonly ring: { o: number; raw: string }[];
}

export interface RoomHubOptions {
  redis: Redis | Cluster;
  keys: Keys;
  store: RoomStore;
  log: Logger;
  nodeId: string;
  stockTickMs: number;
  /** A room was loaded (subscribed) on this node, at its view's position. */
  onLoaded?: (room: LocalRoom) => void;
  /** A room was unloaded (no local sockets for a while). */
  onUnloaded?: (roomId: string) => void;
  /** A logged delta, in order, after it was applied to the room's view. */
  onDelta?: (roomId: string, m: Envelope, raw: string) => void;
  /** The room's view was reloaded from Redis (epoch changed, or deltas missed and no longer retained). */
  onResync?: (room: LocalRoom, reason: string) => void;
  /** An ephemeral message (`{"x":kind,...}`) published for a room. */
  ephemeral?: (roomId: string, kind: string, raw: string) => void;
  /** The room's viewer figures changed (every node's counts summed). */
  onViewers?: (roomId: string, online: number, peak: number) => void;
  /** Whether a room still has local users (sockets); idle rooms are unloaded. */
  inUse?: (roomId: string) => boolean;
  ringSize?: number;
  /** How fresh a node's viewer count must be to be counted. */
  onlineStaleMs?: number;
  /** A loaded room with no local users for this long is unloaded. */
  idleUnloadMs?: number;
  /** How often viewer counts are reported and summed. */
  viewersEveryMs?: number;
}

type StockItemLevel = { id: string } & StockLevel;

/**
 * The rooms this gateway node serves: one backplane subscription (sharded pub/sub) per room per
 * node, an in-memory copy of each room kept current from its deltas, and the per-node parts of
 * room-wide figures (stock changes to publish, viewers connected here).
 */
export class RoomHub {
  readonly #o: Required<RoomHubOptions>;
  readonly #sub: Redis | Cluster;
  readonly #rooms = new Map<string, Promise<LocalRoom | undefined>>();
  readonly #loaded = new Map<string, LocalRoom>();
  readonly #byChannel = new Map<string, string>();
  readonly #idleSince = new Map<string, number>();
  /** Per room, messages waiting while the room loads or while a gap is filled. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #pendingStock = new Map<string, Map<string, StockItemLevel>>();
  readonly #published = new Map<string, number>();
  /** Per room, the stock publish being appended (or retried). */
  readonly #stockInFlight = new Map<string, Promise<void>>();
  /** Aborted on close: publishes being retried stop. */
  readonly #stop = new AbortController();
  readonly #viewers = new Map<string, number>();
  readonly #figures = new Map<string, { online: number; peak: number }>();
  readonly #timers: NodeJS.Timeout[] = [];
  /** Per room, replies waiting for this node's view to reach a version (see `reached`). */
  readonly #versionWaiters = new Map<string, { version: number; done: () => void }[]>();
  #closed = false;

  constructor(opts: RoomHubOptions) {
    const noop = () => {};
    this.#o = {
      ringSize: 1024,
      onlineStaleMs: 5000,
      idleUnloadMs: 60_000,
      viewersEveryMs: 1000,
      onLoaded: noop,
      onUnloaded: noop,
      onDelta: noop,
      onResync: noop,
      ephemeral: noop,
      onViewers: noop,
      inUse: () => false,
      ...opts,
    };
    this.#sub = opts.redis.duplicate();
    this.#sub.on('smessage', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#sub.on('error', (err: Error) => this.#o.log.warn({ err: err.message }, 'backplane connection error'));
    // Timer work never throws into the event loop: failures are logged.
    const safe = (what: string, p: () => Promise<void>) => () => void p().catch((err: unknown) => this.#o.log.error({ err, what }, 'room hub task failed'));
    this.#timers.push(setInterval(safe('stock', () => this.flushStock()), opts.stockTickMs));
    this.#timers.push(setInterval(safe('viewers', () => this.#reportViewers()), this.#o.viewersEveryMs));
    this.#timers.push(setInterval(safe('unload', () => this.#unloadIdle()), Math.max(1000, Math.floor(this.#o.idleUnloadMs / 4))));
  }

  /** The room, loaded and subscribed on first use; undefined when Redis has no such room. */
  ensure(roomId: string): Promise<LocalRoom | undefined> {
    this.#idleSince.delete(roomId);
    let p = this.#rooms.get(roomId);
    if (!p) {
      p = this.#load(roomId);
      this.#rooms.set(roomId, p);
      p.then(
        (r) => {
          if (!r) this.#rooms.delete(roomId);
        },
        () => this.#rooms.delete(roomId),
      );
    }
    return p;
  }

  /** The room, loaded on first use; ROOM_NOT_FOUND when there is no such room (or the id cannot be one). */
  async require(roomId: string): Promise<LocalRoom> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(roomId)) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 80))}`);
    const room = await this.ensure(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
    return room;
  }

  loaded(roomId: string): LocalRoom | undefined {
    return this.#loaded.get(roomId);
  }

  /**
   * Resolves once this node's copy of the room is at `version` or later (true), or after
   * `timeoutMs` (false). A host command's reply waits for it, so a read on the same node right
   * after the reply sees the change (the change reaches the copy over the backplane, usually in
   * well under a millisecond).
   */
  reached(roomId: string, version: number, timeoutMs = 1000): Promise<boolean> {
    const room = this.#loaded.get(roomId);
    if (!room || room.view.version >= version || this.#closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiters = this.#versionWaiters.get(roomId) ?? [];
      const w = {
        version,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const list = this.#versionWaiters.get(roomId);
        const i = list?.indexOf(w) ?? -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list?.length === 0) this.#versionWaiters.delete(roomId);
        resolve(false);
      }, timeoutMs);
      waiters.push(w);
      this.#versionWaiters.set(roomId, waiters);
    });
  }

  #wakeWaiters(room: LocalRoom): void {
    const list = this.#versionWaiters.get(room.id);
    if (!list) return;
    const left = list.filter((w) => {
      if (room.view.version < w.version) return true;
      w.done();
      return false;
    });
    if (left.length) this.#versionWaiters.set(room.id, left);
    else this.#versionWaiters.delete(room.id);
  }

  get roomCount(): number {
    return this.#loaded.size;
  }

  async #load(roomId: string): Promise<LocalRoom | undefined> {
    const channel = this.#o.store.channel(roomId);
    this.#byChannel.set(channel, roomId);
    // Subscribe first and hold messages until the snapshot is read: nothing published in
    // between is lost, and anything already in the snapshot is skipped by its offset.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    this.#queues.set(roomId, held);
    try {
      await this.#sub.ssubscribe(channel);
      const stored = await this.#o.store.get(roomId);
      if (!stored) {
        await this.#sub.sunsubscribe(channel);
        this.#byChannel.delete(channel);
        return undefined;
      }
      const { stock, groups } = await this.#readItems(Object.keys(stored.doc.items));
      const room: LocalRoom = {
        id: roomId,
        view: { doc: stored.doc, stock, groups, epoch: stored.epoch, offset: stored.offset, version: stored.version },
        ring: [],
      };
      this.#loaded.set(roomId, room);
      this.#o.onLoaded(room);
      return room;
    } catch (err) {
      this.#byChannel.delete(channel);
      await this.#sub.sunsubscribe(channel).catch(() => {});
      throw err;
    } finally {
      release();
      // A room that did not load keeps nothing here: a lookup of an unknown id must not leave an
      // entry per id behind (anyone can send those, anonymously and without end).
      if (!this.#loaded.has(roomId) && this.#queues.get(roomId) === held) this.#queues.delete(roomId);
    }
  }

  /** Stock levels and group progress of a room's items, as the inventory holds them now. */
  async #readItems(itemIds: string[]): Promise<{ stock: Record<string, StockLevel>; groups: Record<string, GroupProgress> }> {
    const stock: Record<string, StockLevel> = {};
    const groups: Record<string, GroupProgress> = {};
    const now = Date.now();
    await Promise.all(
      itemIds.map(async (id) => {
        const h = await this.#o.redis.hgetall(this.#o.keys.item(id).item);
        if (h.avail === undefined) return;
        const v = itemViewOf(id, h, now);
        stock[id] = { available: v.available, ver: v.ver };
        if (v.group) groups[id] = { count: v.group.count, price: v.group.priceNow, next: v.group.nextThreshold, ver: v.ver };
      }),
    );
    return { stock, groups };
  }

  #onMessage(channel: string, raw: string): void {
    const roomId = this.#byChannel.get(channel);
    if (!roomId) return;
    if (raw.startsWith('{"x":')) {
      // Ephemeral: not part of the ordered log; delivered as it comes.
      const kind = /^\{"x":"([a-z_.]{1,32})"/.exec(raw)?.[1];
      if (kind) this.#o.ephemeral(roomId, kind, raw);
      return;
    }
    // Messages of one room are handled strictly in order, after any load or gap fill before them.
    const prev = this.#queues.get(roomId) ?? Promise.resolve();
    const next = prev.then(() => this.#handle(roomId, raw)).catch((err) => this.#o.log.error({ err, roomId }, 'room delta handling failed'));
    this.#queues.set(roomId, next);
  }

  async #handle(roomId: string, raw: string): Promise<void> {
    const room = this.#loaded.get(roomId);
    if (!room) return;
    const m = JSON.parse(raw) as Envelope;
    const v = room.view;
    if (m.e !== v.epoch) {
      await this.#resync(room, 'epoch changed');
      return;
    }
    if (m.o <= v.offset) return;
    if (m.o > v.offset + 1) {
      const missed = await this.#o.store.deltasAfter(roomId, v.offset, m.o - 1);
      if (!missed) {
        await this.#resync(room, 'missed deltas no longer retained');
        return;
      }
      for (const r of missed) this.#apply(room, JSON.parse(r) as Envelope, r);
    }
    this.#apply(room, m, raw);
  }

  #apply(room: LocalRoom, m: Envelope, raw: string): void {
    const v = room.view;
    if (m.o !== v.offset + 1) return;
    applyDelta(v, m.d);
    v.offset = m.o;
    v.version = m.v;
    room.ring.push({ o: m.o, raw });
    if (room.ring.length > this.#o.ringSize) room.ring.shift();
    this.#o.onDelta(room.id, m, raw);
    this.#wakeWaiters(room);
  }

  /** Reloads a room from Redis and has every local subscriber resynced. */
  async #resync(room: LocalRoom, why: string): Promise<void> {
    this.#o.log.warn({ roomId: room.id, why }, 'room resync');
    const stored = await this.#o.store.get(room.id);
    if (!stored) return;
    const { stock, groups } = await this.#readItems(Object.keys(stored.doc.items));
    room.view.doc = stored.doc;
    room.view.stock = stock;
    room.view.groups = groups;
    room.view.epoch = stored.epoch;
    room.view.offset = stored.offset;
    room.view.version = stored.version;
    room.ring.length = 0;
    this.#o.onResync(room, why);
    this.#wakeWaiters(room);
  }

  snapshot(room: LocalRoom, recovered?: boolean): SnapshotFrame {
    const v = room.view;
    return {
      type: 'snapshot',
      epoch: v.epoch,
      offset: v.offset,
      version: v.version,
      serverTime: Date.now(),
      ...(recovered === undefined ? {} : { recovered }),
      room: v.doc,
      stock: v.stock,
      groups: v.groups,
    };
  }

  /**
   * Notes a stock level learned from an inventory call. Levels are coalesced per item and
   * published once per tick (the newest version wins); reaching zero skips the tick.
   */
  noteStock(roomId: string, itemId: string, available: number, ver: number): void {
    const key = `${roomId}/${itemId}`;
    if ((this.#published.get(key) ?? -1) >= ver) return;
    let pending = this.#pendingStock.get(roomId);
    if (!pending) this.#pendingStock.set(roomId, (pending = new Map()));
    const cur = pending.get(itemId);
    if (!cur || ver > cur.ver) pending.set(itemId, { id: itemId, available, ver });
    if (available === 0) void this.flushStock(roomId);
  }

  /**
   * Publishes the pending stock levels (all rooms, or one). One publish per room at a time:
   * it is retried until it is in the room's log (a sold-out is an event viewers must not miss),
   * and what is noted meanwhile waits, coalesced, for it: the tick skips a room whose publish is
   * under way, a flush of one room waits for it and then publishes what is pending. A level
   * counts as published only once the append succeeded (or a newer version of it was appended
   * first).
   */
  async flushStock(onlyRoom?: string): Promise<void> {
    const rooms = onlyRoom ? [onlyRoom] : [...this.#pendingStock.keys()];
    await Promise.all(
      rooms.map(async (roomId) => {
        for (let busy = this.#stockInFlight.get(roomId); busy; busy = this.#stockInFlight.get(roomId)) {
          if (!onlyRoom) return;
          await busy;
        }
        const pending = this.#pendingStock.get(roomId);
        if (!pending || pending.size === 0) return;
        this.#pendingStock.delete(roomId);
        const items = [...pending.values()].filter((s) => (this.#published.get(`${roomId}/${s.id}`) ?? -1) < s.ver);
        if (!items.length) return;
        const run = this.#publishStock(roomId, items);
        this.#stockInFlight.set(roomId, run);
        await run;
        this.#stockInFlight.delete(roomId);
        // Noted while this one was being published: a sold-out goes at once, the rest with the tick.
        const next = this.#pendingStock.get(roomId);
        if (next && [...next.values()].some((s) => s.available === 0) && !this.#stop.signal.aborted) await this.flushStock(roomId);
      }),
    );
  }

  async #publishStock(roomId: string, items: StockItemLevel[]): Promise<void> {
    try {
      await this.publish(roomId, { t: 'stock', items });
      for (const s of items) {
        const key = `${roomId}/${s.id}`;
        if ((this.#published.get(key) ?? -1) < s.ver) this.#published.set(key, s.ver);
      }
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message, roomId }, 'stock publish given up');
    }
  }

  /**
   * Appends a delta to a room's log, retried (the one retry policy) until it is in, superseded
   * by a newer version of the same state, refused for good, or this hub closes: for stock,
   * group progress and the events viewers must not miss (sold out, tier crossings).
   */
  async publish(roomId: string, delta: Delta): Promise<void> {
    await this.#o.store.publish(roomId, delta, {
      signal: this.#stop.signal,
      onRetry: (err, attempt) => this.#o.log.warn({ err: (err as Error).message, roomId, delta: delta.t, attempt }, 'room update not published yet; retrying'),
    });
  }

  viewerJoined(roomId: string): void {
    this.#viewers.set(roomId, (this.#viewers.get(roomId) ?? 0) + 1);
  }

  viewerLeft(roomId: string): void {
    this.#viewers.set(roomId, Math.max(0, (this.#viewers.get(roomId) ?? 0) - 1));
  }

  async #reportViewers(final = false): Promise<void> {
    if (this.#closed && !final) return;
    await Promise.all(
      [...this.#viewers].map(async ([roomId, n]) => {
        const f = await this.#o.store.reportOnline(roomId, this.#o.nodeId, n, this.#o.onlineStaleMs);
        if (n === 0 && !this.#o.inUse(roomId)) this.#viewers.delete(roomId);
        const prev = this.#figures.get(roomId);
        if (!prev || prev.online !== f.online || prev.peak !== f.peak) {
          this.#figures.set(roomId, f);
          if (!final) this.#o.onViewers(roomId, f.online, f.peak);
        }
      }),
    ).catch((err) => this.#o.log.warn({ err: (err as Error).message }, 'viewer count report failed'));
  }

  /** The last room figures this node computed (online now and peak), if any. */
  figures(roomId: string): { online: number; peak: number } | undefined {
    return this.#figures.get(roomId);
  }

  /** Viewers online in a room: the sum of every node's fresh count. */
  async online(roomId: string): Promise<number> {
    const all = await this.#o.redis.hgetall(this.#o.keys.room(roomId).online);
    const now = Date.now();
    let total = 0;
    for (const v of Object.values(all)) {
      const [n, at] = v.split(':').map(Number);
      if (now - (at ?? 0) <= this.#o.onlineStaleMs) total += n ?? 0;
    }
    return total;
  }

  /** The highest online count seen in a room. */
  async peak(roomId: string): Promise<number> {
    return Number((await this.#o.redis.get(this.#o.keys.room(roomId).peak)) ?? 0);
  }

  async #unloadIdle(): Promise<void> {
    if (this.#closed) return;
    const now = Date.now();
    for (const roomId of this.#loaded.keys()) {
      if (this.#o.inUse(roomId) || (this.#viewers.get(roomId) ?? 0) > 0 || this.#pendingStock.has(roomId) || this.#stockInFlight.has(roomId)) {
        this.#idleSince.delete(roomId);
        continue;
      }
      const since = this.#idleSince.get(roomId);
      if (since === undefined) {
        this.#idleSince.set(roomId, now);
        continue;
      }
      if (now - since < this.#o.idleUnloadMs) continue;
      this.#idleSince.delete(roomId);
      const channel = this.#o.store.channel(roomId);
      this.#loaded.delete(roomId);
      this.#rooms.delete(roomId);
      this.#byChannel.delete(channel);
      this.#queues.delete(roomId);
      this.#figures.delete(roomId);
      this.#o.onUnloaded(roomId);
      await this.#sub.sunsubscribe(channel).catch((err) => this.#o.log.warn({ err: (err as Error).message, roomId }, 'unsubscribe failed'));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    // Publishes being retried give up; what is pending gets one more try.
    this.#stop.abort();
    await this.flushStock().catch(() => {});
    for (const roomId of this.#viewers.keys()) this.#viewers.set(roomId, 0);
    await this.#reportViewers(true).catch(() => {});
    this.#sub.disconnect();
  }
}

/** A backplane message as a client frame, without re-serialising it. */
export function deltaFrame(raw: string): string {
  return `{"type":"delta",${raw.slice(1)}`;
}
