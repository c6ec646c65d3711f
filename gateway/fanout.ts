import type { Logger } from '../common/platform/logger.ts';
import type { SocketData, Ws } from './socket-data.ts';
import type { GatewayMetrics } from './metrics.ts';
import { laneOf, type Envelope, type Lane, type SnapshotFrame } from '../common/contracts/protocol.ts';

/**
 * Delivery of room updates to this node's sockets, in three lanes (docs/protocol.md):
 *
 * - Logged deltas are batched per tick into one frame, serialised once and written to every
 *   socket that keeps up: a delta that comes a tick or more after the last batch began goes out
 *   at once (with whatever arrives in the same turn of the event loop), later ones wait for the
 *   tick; a batch that took longer than a tick is followed at once by what arrived meanwhile.
 *   Urgent ones (sale open/close, sold out, tier crossings) flush the tick at once.
 * - A socket whose unsent bytes pass the backpressure limit is "behind": it gets nothing more
 *   until it drains. Meanwhile its state deltas are coalesced per key (the latest value wins)
 *   and its event deltas are queued in order; when it drains it gets one `catchup` frame that
 *   takes it to the room's position. If the queued events outgrow their bound, the queue is
 *   replaced by a fresh snapshot (`resync`) sent on drain. A socket still behind after
 *   `slowCloseMs` is closed with code 4008 and a reason (the close frame follows what is already
 *   buffered: a client that reads again within uWS's closing timeout sees it; one that never
 *   does sees the connection drop). Nothing is ever dropped silently: every write's result is
 *   checked, and a refused write turns into a resync.
 * - Ephemeral frames (viewer counts, live stats) go only to sockets that keep up; the rest are
 *   counted as dropped.
 */

interface Pending {
  readonly m: Envelope;
  readonly raw: string;
  readonly lane: Lane;
}

class RoomSockets {
  readonly all = new Set<Ws>();
  /** Ops and the room's host: live stats. */
  readonly ops = new Set<Ws>();
  pending: Pending[] = [];
  /** The offset of the last delta written to the sockets that keep up. */
  sentOffset: number;
  sentVersion: number;
  /** When the room last began writing a batch (performance.now()). */
  flushedAt = -Infinity;
  /** A leading-edge flush is scheduled (setImmediate). */
  soon = false;
  /** A batch is being written (in slices); the next one waits for it. */
  flushing = false;

  constructor(offset: number, version: number) {
    this.sentOffset = offset;
    this.sentVersion = version;
  }
}

export interface FanoutOptions {
  log: Logger;
  metrics: GatewayMetrics;
  /** Unsent bytes past which a socket is behind. */
  backpressureBytes: number;
  /** A socket behind for longer than this is closed (4008). */
  slowCloseMs: number;
  tickMs: number;
  /**
   * How long one turn of the event loop may spend writing a batch before it yields to I/O
   * (commands, buys and the backplane wait at most about this long behind a large room's batch).
   */
  sliceMs: number;
  /** Queued events (count) a behind socket may accumulate before it is resynced instead. */
  maxQueuedEvents?: number;
  /** A fresh snapshot of a room (for resyncs). */
  snapshot: (roomId: string) => SnapshotFrame | undefined;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

/** Sockets written between two looks at the clock (a batch's slices are multiples of it). */
const flushStride = 64;

/** A delta as a socket that is behind keeps it: state under its key (latest wins), events in order. */
interface Queued {
  readonly key?: string;
  readonly o: number;
  readonly raw: string;
}

/** A tick's deltas as frames of at most `maxBytes` (a single larger delta is a frame of its own). */
function chunked(batch: readonly Pending[], maxBytes: number): { items: Pending[]; buf: Buffer; last: Envelope }[] {
  const out: { items: Pending[]; buf: Buffer; last: Envelope }[] = [];
  let items: Pending[] = [];
  let size = 0;
  const close = () => {
    const frame = items.length === 1 ? `{"type":"delta",${items[0]!.raw.slice(1)}` : `{"type":"deltas","items":[${items.map((p) => p.raw).join(',')}]}`;
    out.push({ items, buf: enc(frame), last: items[items.length - 1]!.m });
    items = [];
    size = 0;
  };
  for (const p of batch) {
    if (items.length && size + p.raw.length > maxBytes) close();
    items.push(p);
    size += p.raw.length + 1;
  }
  close();
  return out;
}

/** How a batch is queued for sockets that are behind (computed once per batch, shared by them). */
function queuePlan(batch: readonly Pending[]): Queued[] {
  const out: Queued[] = [];
  for (const p of batch) {
    const keys = p.lane.lane === 'state' ? p.lane.keys : undefined;
    if (!keys) out.push({ o: p.m.o, raw: p.raw });
    else if (p.m.d.t === 'stock' && p.m.d.items.length > 1) {
      // One key per item: split the delta so each item's latest level stands alone.
      for (const s of p.m.d.items) out.push({ key: `stock:${s.id}`, o: p.m.o, raw: JSON.stringify({ o: p.m.o, e: p.m.e, v: p.m.v, d: { t: 'stock', items: [s] } }) });
    } else for (const key of keys) out.push({ key, o: p.m.o, raw: p.raw });
  }
  return out;
}

export class Fanout {
  readonly #o: Required<FanoutOptions>;
  readonly #rooms = new Map<string, RoomSockets>();
  readonly #dirty = new Set<RoomSockets>();
  readonly #behind = new Set<Ws>();
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(opts: FanoutOptions) {
    this.#o = { maxQueuedEvents: 256, ...opts };
    this.#timers.push(setInterval(() => this.#safe('tick', () => this.#tick()), opts.tickMs));
    this.#timers.push(setInterval(() => this.#safe('sweep', () => this.#sweep()), Math.min(1000, Math.max(50, Math.floor(opts.slowCloseMs / 4)))));
  }

  /** Runs `fn`; an exception is logged and counted, never thrown into a timer or an event emitter. */
  #safe(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.metrics.handlerErrors.inc({ where: `fanout.${where}` });
      this.#o.log.error({ err, where }, 'fan-out failed');
    }
  }

  /** Starts tracking a room at the position of its in-memory view. */
  room(roomId: string, offset: number, version: number): void {
    if (!this.#rooms.has(roomId)) this.#rooms.set(roomId, new RoomSockets(offset, version));
  }

  dropRoom(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  socketCount(roomId: string): number {
    return this.#rooms.get(roomId)?.all.size ?? 0;
  }

  get behindCount(): number {
    return this.#behind.size;
  }

  /** What the sockets that are behind hold now (the bounds tests and operators check). */
  behindStats(): { sockets: number; maxBuffered: number; maxQueuedEvents: number; maxQueuedState: number; resyncing: number } {
    let maxBuffered = 0;
    let maxQueuedEvents = 0;
    let maxQueuedState = 0;
    let resyncing = 0;
    for (const ws of this.#behind) {
      const b = ws.getUserData().behind;
      if (!b) continue;
      maxBuffered = Math.max(maxBuffered, ws.getBufferedAmount());
      maxQueuedEvents = Math.max(maxQueuedEvents, b.events.length);
      maxQueuedState = Math.max(maxQueuedState, b.state.size);
      if (b.resync) resyncing++;
    }
    return { sockets: this.#behind.size, maxBuffered, maxQueuedEvents, maxQueuedState, resyncing };
  }

  add(ws: Ws, ops: boolean): void {
    const r = this.#rooms.get(ws.getUserData().roomId);
    if (!r) return;
    r.all.add(ws);
    if (ops) r.ops.add(ws);
  }

  remove(ws: Ws): void {
    const ud = ws.getUserData();
    const r = this.#rooms.get(ud.roomId);
    r?.all.delete(ws);
    r?.ops.delete(ws);
    if (this.#behind.delete(ws)) this.#o.metrics.slowSockets.set(this.#behind.size);
    ud.behind = undefined;
  }

  /** A logged delta of a room, in order. */
  push(roomId: string, m: Envelope, raw: string): void {
    const r = this.#rooms.get(roomId);
    if (!r) return;
    const lane = laneOf(m.d);
    r.pending.push({ m, raw, lane });
    this.#dirty.add(r);
    if (lane.urgent) this.#safe('flush', () => this.#flush(r));
    else if (!r.soon && !r.flushing && performance.now() - r.flushedAt >= this.#o.tickMs) {
      // Leading edge: a tick after the last batch began, write at once (with whatever arrives in
      // this turn of the event loop); within a tick of it, wait for the tick.
      r.soon = true;
      setImmediate(() => {
        r.soon = false;
        this.#safe('flush', () => this.#flush(r));
      });
    }
  }

  /** Every socket of the room gets a fresh snapshot (the room's log moved on without this node). */
  resyncAll(roomId: string, offset: number, version: number, reason: string): void {
    this.#safe('resync', () => this.#resyncAll(roomId, offset, version, reason));
  }

  #resyncAll(roomId: string, offset: number, version: number, reason: string): void {
    const r = this.#rooms.get(roomId);
    if (!r) return;
    r.pending = [];
    this.#dirty.delete(r);
    r.sentOffset = offset;
    r.sentVersion = version;
    const snap = this.#o.snapshot(roomId);
    if (!snap) return;
    const buf = enc(JSON.stringify({ ...snap, recovered: false, resync: reason }));
    for (const ws of r.all) {
      const ud = ws.getUserData();
      if (ud.behind) this.#giveUp(ud, reason);
      else this.#write(ws, buf, 'snapshot');
    }
    this.#o.metrics.resyncs.inc({ reason }, r.all.size);
  }

  /** An ephemeral frame to the room's sockets that keep up (all of them, or ops and host only). */
  ephemeral(roomId: string, frame: string, opsOnly: boolean): void {
    this.#safe('ephemeral', () => this.#ephemeral(roomId, frame, opsOnly));
  }

  #ephemeral(roomId: string, frame: string, opsOnly: boolean): void {
    const r = this.#rooms.get(roomId);
    if (!r) return;
    const targets = opsOnly ? r.ops : r.all;
    if (!targets.size) return;
    const buf = enc(frame);
    let dropped = 0;
    for (const ws of targets) {
      const ud = ws.getUserData();
      if (ud.behind || ud.closed) {
        dropped++;
        continue;
      }
      const status = ws.send(buf, false);
      if (status === 2) dropped++;
      else if (status === 0) this.#checkBehind(ws, r);
    }
    this.#o.metrics.framesOut.inc({ kind: 'ephemeral' }, targets.size - dropped);
    this.#o.metrics.bytesOut.inc(buf.length * (targets.size - dropped));
    if (dropped) this.#o.metrics.dropped.inc({ lane: 'ephemeral' }, dropped);
  }

  /** The shoppers with a socket open in the room on this node (each once). */
  shoppersIn(roomId: string): string[] {
    const r = this.#rooms.get(roomId);
    if (!r) return [];
    const users = new Set<string>();
    for (const ws of r.all) {
      const ud = ws.getUserData();
      if (!ud.closed && ud.principal.role === 'shopper') users.add(ud.principal.sub);
    }
    return [...users];
  }

  /**
   * A frame for every socket of these shoppers in the room on this node (a reminder), written as
   * a reply is (even to a socket that is behind). Returns the shoppers it was written to.
   */
  sendToShoppers(roomId: string, users: ReadonlySet<string>, frame: string): Set<string> {
    const r = this.#rooms.get(roomId);
    const sent = new Set<string>();
    if (!r || users.size === 0) return sent;
    for (const ws of [...r.all]) {
      const ud = ws.getUserData();
      if (ud.closed || ud.principal.role !== 'shopper' || !users.has(ud.principal.sub)) continue;
      this.send(ws, frame, 'reminder');
      if (!ud.closed) sent.add(ud.principal.sub);
    }
    return sent;
  }

  /**
   * A frame for one socket (a reply, a snapshot on open). Written even while the socket is
   * behind (replies are few and small); a refused write closes the socket with a reason.
   */
  send(ws: Ws, frame: string, kind = 'reply'): void {
    const ud = ws.getUserData();
    if (ud.closed) return;
    const status = this.#write(ws, enc(frame), kind);
    if (status === 2) {
      this.#close(ws, 4008, 'too slow: a reply could not be buffered', 'reply_refused');
      return;
    }
    const r = this.#rooms.get(ud.roomId);
    if (status === 0 && r) this.#checkBehind(ws, r);
  }

  /** uWS drain: the socket's unsent bytes went down. */
  drained(ws: Ws): void {
    const ud = ws.getUserData();
    if (!ud.behind || ud.closed) return;
    if (ws.getBufferedAmount() > this.#o.backpressureBytes / 2) return;
    this.#catchUp(ws, ud);
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#tick();
  }

  // ---- internals

  #tick(): void {
    for (const r of this.#dirty) this.#safe('flush', () => this.#flush(r));
    this.#dirty.clear();
  }

  /**
   * Writes the room's pending deltas: one frame per tick, split into frames of at most
   * backpressureBytes / 4 so that no single write takes a socket far past its limit (a socket
   * that falls behind mid-batch gets the rest queued). The sockets are written in slices of
   * about `sliceMs` each, one turn of the event loop each, so that a room of many thousands
   * does not hold up commands, buys and the backplane while it is written; the next batch waits
   * for this one.
   */
  #flush(r: RoomSockets): void {
    if (r.flushing) return;
    const batch = r.pending;
    if (!batch.length) return;
    r.pending = [];
    this.#dirty.delete(r);
    r.flushing = true;
    r.flushedAt = performance.now();
    const end = this.#o.metrics.fanoutSeconds.startTimer();
    const chunks = chunked(batch, Math.max(8192, Math.floor(this.#o.backpressureBytes / 4)));
    const plans: (Queued[] | undefined)[] = [];
    const sockets = [...r.all];
    let frames = 0;
    let bytes = 0;

    const write = (ws: Ws) => {
      const ud = ws.getUserData();
      if (ud.closed) return;
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        if (ud.behind) {
          this.#queue(ud, c.items, (plans[i] ??= queuePlan(c.items)));
          continue;
        }
        const status = ws.send(c.buf, false);
        if (status === 2) {
          // Refused (over uWS's hard limit): never silently; this socket gets a fresh snapshot.
          const before = i ? chunks[i - 1]!.last : { o: r.sentOffset, v: r.sentVersion };
          this.#fallBehind(ws, ud, r, before.o, before.v);
          this.#giveUp(ud, 'write refused');
          this.#queue(ud, c.items, (plans[i] ??= queuePlan(c.items)));
          continue;
        }
        frames++;
        bytes += c.buf.length;
        if (status === 0) this.#checkBehind(ws, r, c.last.o, c.last.v);
      }
    };

    const finish = () => {
      const last = chunks[chunks.length - 1]!.last;
      r.sentOffset = last.o;
      r.sentVersion = last.v;
      r.flushing = false;
      end();
      this.#o.metrics.framesOut.inc({ kind: 'deltas' }, frames);
      this.#o.metrics.bytesOut.inc(bytes);
      if (!r.pending.length) return;
      // What arrived meanwhile: at once if urgent or if this batch took a tick or more (it has
      // waited long enough), else with the tick.
      if (r.pending.some((p) => p.lane.urgent) || performance.now() - r.flushedAt >= this.#o.tickMs) setImmediate(() => this.#safe('flush', () => this.#flush(r)));
      else this.#dirty.add(r);
    };

    const step = (from: number) => {
      const until = performance.now() + this.#o.sliceMs;
      let k = from;
      while (k < sockets.length) {
        const to = Math.min(sockets.length, k + flushStride);
        for (; k < to; k++) {
          try {
            write(sockets[k]!);
          } catch (err) {
            this.#o.metrics.handlerErrors.inc({ where: 'fanout.write' });
            this.#o.log.error({ err }, 'writing to a socket failed');
          }
        }
        if (performance.now() >= until) break;
      }
      if (k < sockets.length) setImmediate(() => step(k));
      else finish();
    };
    step(0);
  }

  #write(ws: Ws, buf: Buffer, kind: string): number {
    const status = ws.send(buf, false);
    if (status !== 2) {
      this.#o.metrics.framesOut.inc({ kind });
      this.#o.metrics.bytesOut.inc(buf.length);
    }
    return status;
  }

  #checkBehind(ws: Ws, r: RoomSockets, offset = r.sentOffset, version = r.sentVersion): void {
    const ud = ws.getUserData();
    if (ud.behind || ws.getBufferedAmount() <= this.#o.backpressureBytes) return;
    this.#fallBehind(ws, ud, r, offset, version);
  }

  #fallBehind(ws: Ws, ud: SocketData, r: RoomSockets, offset = r.sentOffset, version = r.sentVersion): void {
    if (ud.behind) return;
    ud.behind = { since: Date.now(), from: offset, to: offset, v: version, state: new Map(), events: [], eventBytes: 0, coalesced: 0 };
    this.#behind.add(ws);
    this.#o.metrics.slowSockets.set(this.#behind.size);
  }

  #queue(ud: SocketData, batch: readonly Pending[], plan: readonly Queued[]): void {
    const b = ud.behind!;
    const last = batch[batch.length - 1]!.m;
    b.to = last.o;
    b.v = last.v;
    if (b.resync) {
      this.#o.metrics.dropped.inc({ lane: 'resynced' }, batch.length);
      return;
    }
    for (const q of plan) {
      if (q.key !== undefined) {
        if (b.state.has(q.key)) b.coalesced++;
        b.state.set(q.key, q);
      } else {
        b.events.push(q);
        b.eventBytes += q.raw.length;
        if (b.events.length > this.#o.maxQueuedEvents || b.eventBytes > this.#o.backpressureBytes) {
          this.#giveUp(ud, 'too many events while behind');
          return;
        }
      }
    }
  }

  #giveUp(ud: SocketData, reason: string): void {
    const b = ud.behind!;
    if (b.resync) return;
    this.#o.metrics.dropped.inc({ lane: 'resynced' }, b.events.length + b.state.size);
    b.resync = reason;
    b.state.clear();
    b.events = [];
    b.eventBytes = 0;
  }

  #catchUp(ws: Ws, ud: SocketData): void {
    const b = ud.behind!;
    ud.behind = undefined;
    this.#behind.delete(ws);
    this.#o.metrics.slowSockets.set(this.#behind.size);
    const r = this.#rooms.get(ud.roomId);
    if (b.resync) {
      const snap = this.#o.snapshot(ud.roomId);
      if (!snap) {
        this.#close(ws, 1011, 'room unavailable', 'room_unavailable');
        return;
      }
      this.#o.metrics.resyncs.inc({ reason: b.resync });
      this.send(ws, JSON.stringify({ ...snap, recovered: false, resync: b.resync }), 'snapshot');
      return;
    }
    if (b.to > b.from) {
      const items = [...b.events, ...b.state.values()].sort((x, y) => x.o - y.o);
      this.#o.metrics.coalesced.inc(b.coalesced);
      this.send(ws, `{"type":"catchup","from":${b.from},"to":${b.to},"v":${b.v},"coalesced":${b.coalesced},"items":[${items.map((i) => i.raw).join(',')}]}`, 'catchup');
    } else if (r) {
      this.#checkBehind(ws, r);
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const ws of this.#behind) {
      const ud = ws.getUserData();
      if (ud.closed) {
        this.#behind.delete(ws);
        continue;
      }
      if (now - ud.behind!.since > this.#o.slowCloseMs) {
        this.#close(ws, 4008, `too slow: behind for more than ${Math.round(this.#o.slowCloseMs / 1000)} s`, 'slow');
      } else if (ws.getBufferedAmount() <= this.#o.backpressureBytes / 2) {
        // drain is not called when nothing was written since; catch up here.
        this.#catchUp(ws, ud);
      }
    }
    this.#o.metrics.slowSockets.set(this.#behind.size);
  }

  #close(ws: Ws, code: number, reason: string, metric: string): void {
    const ud = ws.getUserData();
    if (ud.closed) return;
    this.#o.metrics.closes.inc({ reason: metric });
    this.#o.log.info({ roomId: ud.roomId, user: ud.principal.sub, code, reason }, 'closing socket');
    try {
      ws.end(code, reason);
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'socket end failed');
    }
  }
}
