/**
 * A load-generator process of the fan-out benchmark (started by fanout-bench.ts): opens its
 * share of the clients to the gateway (the typed client, web/client.ts) or to the socket.io
 * baseline, counts every price update each client sees, records the send-to-receive latency (the
 * price encodes its send time) on the probe clients, and reports how many clients end on the
 * last price and its own CPU time and event-loop delay (to show it was not the bottleneck).
 *
 * Probe and bulk clients: every `probeEvery`-th client is a probe that reads its socket as soon
 * as data arrives; its latency is recorded. The other clients are bulk clients: they stop reading
 * their socket and read what the kernel buffered once every `bulkReadMs`, in staggered groups,
 * so that one read takes several frames at once. The server does the same work for both (every
 * frame is written to every socket; the kernel buffers it), but the load generator spends a
 * fraction of the CPU on the bulk clients, which leaves the shared cores to the server being
 * measured. Bulk clients still apply every frame and are checked for completeness and the last
 * price. With `probeEvery` 1 every client is a probe.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { Auth } from '../gateway/auth.ts';
import { RoomSocket, type WebSocketCtor } from '../web/client.ts';
import type { DeltaFrame } from '../common/contracts/protocol.ts';
import { applyDelta } from '../common/contracts/room-view.ts';

export type WorkerCommand =
  | {
      cmd: 'connect';
      target: 'livesale' | 'socketio';
      baseUrl: string;
      roomId: string;
      itemId: string;
      secret: string;
      /** The clients to open (their index in the whole run). */
      ids: number[];
      t0: number;
      probeEvery: number;
    }
  | { cmd: 'measure'; bulkReadMs: number }
  | { cmd: 'report'; finalPrice: number; waitMs: number }
  | { cmd: 'close' };

export type WorkerEvent =
  | { ev: 'connected'; count: number; failed: number; firstError?: string }
  | {
      ev: 'report';
      deliveries: number;
      histogram: string;
      atFinal: number;
      clients: number;
      probes: number;
      /** Bulk clients whose socket could not be paused (they read at once, like probes). */
      unpaused: number;
      closed: string[];
      cpuMs: number;
      wallMs: number;
      /** How late the event loop ran (p99, max), in ms. */
      eldP99Ms: number;
      eldMaxMs: number;
    };

const now = () => performance.timeOrigin + performance.now();
const send = (e: WorkerEvent) => process.send!(e);

interface Client {
  last: number;
  /** Records latency (reads at once); bulk clients only count deliveries. */
  readonly probe: boolean;
  /** Stops and restarts reading the socket (bulk clients). */
  reading?: { stop(): void; start(): void };
  /** Why the connection closed, if it did before the end. */
  closedWith?: string;
  close(): void;
}

let clients: Client[] = [];
let t0 = 0;
let histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
let deliveries = 0;
let cpuStart = process.cpuUsage();
let wallStart = now();
/** Event-loop delay, sampled every `eldResolutionMs` (each sample is the whole interval). */
const eldResolutionMs = 10;
const eld = monitorEventLoopDelay({ resolution: eldResolutionMs });
let bulkTimer: NodeJS.Timeout | undefined;

/** Bulk clients read in groups, one group every `slotMs`, so each reads once per `bulkReadMs`. */
function startBulkReads(bulkReadMs: number): void {
  const bulk = clients.filter((c) => c.reading);
  if (!bulk.length) return;
  const slotMs = 20;
  const slots = Math.max(1, Math.round(bulkReadMs / slotMs));
  const groups: Client[][] = Array.from({ length: slots }, () => []);
  bulk.forEach((c, k) => {
    groups[k % slots]!.push(c);
  });
  for (const c of bulk) c.reading!.stop();
  let g = 0;
  bulkTimer = setInterval(() => {
    const group = groups[(g = (g + 1) % slots)]!;
    // Reading restarts for one turn of the event loop: its poll phase reads what is buffered.
    for (const c of group) c.reading!.start();
    setImmediate(() => {
      if (bulkTimer) for (const c of group) c.reading!.stop();
    });
  }, slotMs);
}

function stopBulkReads(): void {
  clearInterval(bulkTimer);
  bulkTimer = undefined;
  for (const c of clients) c.reading?.start();
}

/** A price seen by a client: one delivery, its latency in microseconds. */
function seen(c: Client, price: number): void {
  if (price === c.last) return;
  c.last = price;
  deliveries++;
  if (!c.probe) return;
  const latencyUs = Math.max(1, Math.round((now() - t0) * 1000 - price * 100));
  histogram.recordValue(Math.min(latencyUs, 120_000_000));
}

/**
 * Stop/start reading a `ws` socket at the libuv level, so the kernel buffers what arrives
 * meanwhile (net.Socket#pause only stops 'data' events, it keeps reading). Undefined when the
 * handle does not offer it; the client then reads at once.
 */
function readControl(ws: WebSocket): Client['reading'] {
  const handle = (ws as unknown as { _socket?: { _handle?: { readStop?: () => number; readStart?: () => number } } })._socket?._handle;
  if (typeof handle?.readStop !== 'function' || typeof handle.readStart !== 'function') return undefined;
  return { stop: () => void handle.readStop!(), start: () => void handle.readStart!() };
}

const isProbe = (m: Extract<WorkerCommand, { cmd: 'connect' }>, i: number) => i % m.probeEvery === 0;

async function connectLivesale(m: Extract<WorkerCommand, { cmd: 'connect' }>, auth: Auth, i: number): Promise<Client> {
  let transport: WebSocket | undefined;
  // The ws package as the typed client's transport, kept at hand to pause bulk clients.
  // biome-ignore lint/complexity/useArrowFunction: the client calls it with `new`, which an arrow function refuses
  const Transport = function (url: string) {
    transport = new WebSocket(url, { perMessageDeflate: false });
    return transport;
  } as unknown as WebSocketCtor;
  const s = await RoomSocket.connect({ baseUrl: m.baseUrl, roomId: m.roomId, token: await auth.issue(`fan-${i}`, 'shopper'), WebSocket: Transport });
  const probe = isProbe(m, i);
  const c: Client = { last: s.view!.doc.items[m.itemId]!.price, probe, close: () => s.close() };
  if (!probe && transport) c.reading = readControl(transport);
  // Every price delta delivered counts (several may share a tick's frame); a catch-up frame
  // carries only the latest price (the ones it skipped were coalesced, by design).
  s.onFrame((f) => {
    const items = f.type === 'delta' ? [f] : f.type === 'deltas' || f.type === 'catchup' ? f.items : [];
    for (const e of items) if (e.d.t === 'price' && e.d.item === m.itemId) seen(c, e.d.price);
    if (f.type === 'snapshot') seen(c, f.room.items[m.itemId]!.price);
    if (f.type === 'error' && f.code === 'CLOSED') c.closedWith = f.message;
  });
  return c;
}

async function connectSocketIo(m: Extract<WorkerCommand, { cmd: 'connect' }>, i: number): Promise<Client> {
  const sock: Socket = ioClient(m.baseUrl, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('connect_error', (e) => reject(e));
  });
  // The same work per frame as the typed client: parse the frame, apply the delta to a view.
  const view = { doc: { id: m.roomId, title: '', hostId: '', listing: [m.itemId], onAir: m.itemId, items: { [m.itemId]: { id: m.itemId, kind: 'flash' as const, title: '', price: 0, total: 0, limit: 1, startsAt: 0, endsAt: 0 } } }, stock: {}, groups: {}, epoch: 'x', offset: 0, version: 0 };
  const probe = isProbe(m, i);
  const c: Client = { last: 0, probe, close: () => sock.close() };
  // engine.io-client's WebSocket transport in Node is the ws package.
  const transport = (sock.io as unknown as { engine?: { transport?: { ws?: WebSocket } } }).engine?.transport?.ws;
  if (!probe && transport) c.reading = readControl(transport);
  sock.on('disconnect', (reason) => (c.closedWith = String(reason)));
  sock.on('delta', (raw: string) => {
    const f = JSON.parse(raw) as DeltaFrame;
    applyDelta(view, f.d);
    view.offset = f.o;
    seen(c, view.doc.items[m.itemId]!.price);
  });
  return c;
}

process.on('message', (msg: WorkerCommand) => {
  void (async () => {
    switch (msg.cmd) {
      case 'connect': {
        t0 = msg.t0;
        const auth = new Auth(msg.secret);
        let failed = 0;
        let firstError: string | undefined;
        const ids = msg.ids;
        let count = 0;
        // A few hundred handshakes at a time.
        for (let k = 0; k < ids.length; k += 250) {
          const batch = await Promise.allSettled(ids.slice(k, k + 250).map((i) => (msg.target === 'livesale' ? connectLivesale(msg, auth, i) : connectSocketIo(msg, i))));
          for (const r of batch) {
            if (r.status === 'fulfilled') {
              clients.push(r.value);
              count++;
            } else {
              failed++;
              firstError ??= String((r.reason as Error)?.message ?? r.reason);
            }
          }
        }
        send({ ev: 'connected', count, failed, ...(firstError ? { firstError } : {}) });
        break;
      }
      case 'measure':
        histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
        deliveries = 0;
        cpuStart = process.cpuUsage();
        wallStart = now();
        eld.reset();
        eld.enable();
        startBulkReads(msg.bulkReadMs);
        break;
      case 'report': {
        eld.disable();
        // Bulk clients keep reading on their schedule until every client has the last price.
        const deadline = now() + msg.waitMs;
        while (clients.some((c) => c.last !== msg.finalPrice) && now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const wallMs = now() - wallStart;
        stopBulkReads();
        const cpu = process.cpuUsage(cpuStart);
        send({
          ev: 'report',
          deliveries,
          histogram: hdr.encodeIntoCompressedBase64(histogram),
          atFinal: clients.filter((c) => c.last === msg.finalPrice).length,
          clients: clients.length,
          probes: clients.filter((c) => c.probe).length,
          unpaused: clients.filter((c) => !c.probe && !c.reading).length,
          closed: clients.flatMap((c) => (c.closedWith ? [c.closedWith] : [])),
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs,
          // How late the loop was: the sample minus the sampling interval.
          eldP99Ms: Math.max(0, eld.percentile(99) / 1e6 - eldResolutionMs),
          eldMaxMs: Math.max(0, eld.max / 1e6 - eldResolutionMs),
        });
        break;
      }
      case 'close':
        for (const c of clients) c.close();
        clients = [];
        setTimeout(() => process.exit(0), 500);
        break;
    }
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
