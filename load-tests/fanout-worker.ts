/**
 * A load-generator process of the fan-out benchmark (started by fanout-bench.ts): opens its
 * share of the clients to the gateway (the typed client, gateway/client.ts) or to the socket.io
 * baseline, and records for every price update a client sees the send-to-receive latency (the
 * price encodes its send time), how many clients end on the last price, and its own CPU time and
 * event-loop delay (to show it was not the bottleneck).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { io as ioClient, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { Auth } from '../gateway/auth.ts';
import { RoomSocket, type WebSocketCtor } from '../gateway/client.ts';
import { applyDelta, type DeltaFrame } from '../gateway/protocol.ts';

export type WorkerCommand =
  | { cmd: 'connect'; target: 'livesale' | 'socketio'; baseUrl: string; roomId: string; itemId: string; secret: string; from: number; count: number; t0: number }
  | { cmd: 'measure' }
  | { cmd: 'report'; finalPrice: number; waitMs: number }
  | { cmd: 'close' };

export type WorkerEvent =
  | { ev: 'connected'; count: number; failed: number; firstError?: string }
  | { ev: 'report'; deliveries: number; histogram: string; atFinal: number; clients: number; closed: string[]; cpuMs: number; wallMs: number; eldP99Ms: number; eldMaxMs: number };

const now = () => performance.timeOrigin + performance.now();
const send = (e: WorkerEvent) => process.send!(e);

interface Client {
  last: number;
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
const eld = monitorEventLoopDelay({ resolution: 10 });

/** A price seen by a client: one delivery, its latency in microseconds. */
function seen(c: Client, price: number): void {
  if (price === c.last) return;
  c.last = price;
  deliveries++;
  const latencyUs = Math.max(1, Math.round((now() - t0) * 1000 - price * 100));
  histogram.recordValue(Math.min(latencyUs, 120_000_000));
}

async function connectLivesale(m: Extract<WorkerCommand, { cmd: 'connect' }>, auth: Auth, i: number): Promise<Client> {
  const s = await RoomSocket.connect({ baseUrl: m.baseUrl, roomId: m.roomId, token: await auth.issue(`fan-${i}`, 'shopper'), WebSocket: WebSocket as unknown as WebSocketCtor });
  const c: Client = { last: s.view!.doc.items[m.itemId]!.price, close: () => s.close() };
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

async function connectSocketIo(m: Extract<WorkerCommand, { cmd: 'connect' }>): Promise<Client> {
  const sock: Socket = ioClient(m.baseUrl, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('connect_error', (e) => reject(e));
  });
  // The same work per frame as the typed client: parse the frame, apply the delta to a view.
  const view = { doc: { id: m.roomId, title: '', hostId: '', listing: [m.itemId], onAir: m.itemId, items: { [m.itemId]: { id: m.itemId, kind: 'flash' as const, title: '', price: 0, total: 0, limit: 1, startsAt: 0, endsAt: 0 } } }, stock: {}, groups: {}, epoch: 'x', offset: 0, version: 0 };
  const c: Client = { last: 0, close: () => sock.close() };
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
        const ids = Array.from({ length: msg.count }, (_, k) => msg.from + k);
        // A few hundred handshakes at a time.
        for (let k = 0; k < ids.length; k += 250) {
          const batch = await Promise.allSettled(ids.slice(k, k + 250).map((i) => (msg.target === 'livesale' ? connectLivesale(msg, auth, i) : connectSocketIo(msg))));
          for (const r of batch) {
            if (r.status === 'fulfilled') clients.push(r.value);
            else {
              failed++;
              firstError ??= String((r.reason as Error)?.message ?? r.reason);
            }
          }
        }
        send({ ev: 'connected', count: clients.length, failed, ...(firstError ? { firstError } : {}) });
        break;
      }
      case 'measure':
        histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
        deliveries = 0;
        cpuStart = process.cpuUsage();
        wallStart = now();
        eld.reset();
        eld.enable();
        break;
      case 'report': {
        const deadline = now() + msg.waitMs;
        while (clients.some((c) => c.last !== msg.finalPrice) && now() < deadline) await new Promise((r) => setTimeout(r, 50));
        eld.disable();
        const cpu = process.cpuUsage(cpuStart);
        send({
          ev: 'report',
          deliveries,
          histogram: hdr.encodeIntoCompressedBase64(histogram),
          atFinal: clients.filter((c) => c.last === msg.finalPrice).length,
          clients: clients.length,
          closed: clients.flatMap((c) => (c.closedWith ? [c.closedWith] : [])),
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: now() - wallStart,
          eldP99Ms: eld.percentile(99) / 1e6,
          eldMaxMs: eld.max / 1e6,
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
