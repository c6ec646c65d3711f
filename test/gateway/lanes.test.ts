import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomSocket, type WebSocketCtor } from '../../web/client.ts';
import type { Delta } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, record } from './support.ts';

const BACKPRESSURE = 64 * 1024;
let sys: System;

beforeAll(async () => {
  sys = await startSystem({ wsBackpressureBytes: BACKPRESSURE, wsSlowCloseMs: 120_000 });
});
afterAll(async () => {
  await sys?.stop();
});

/** A typed room socket whose transport can stop reading (a client that never reads). */
async function pausable(s: System, roomId: string, token: string): Promise<{ sock: RoomSocket; pause(): void; resume(): void }> {
  let inst!: WebSocket;
  class Capturing extends WebSocket {
    constructor(url: string) {
      super(url);
      inst = this;
    }
  }
  const sock = await RoomSocket.connect({ baseUrl: s.baseUrl, roomId, token, WebSocket: Capturing as unknown as WebSocketCtor });
  const tcp = () => (inst as unknown as { _socket: Socket })._socket;
  return { sock, pause: () => tcp().pause(), resume: () => tcp().resume() };
}

/** A stock delta for `n` items (state: one key per item), padded to make bytes fast. */
function stockDelta(round: number, n = 60): Delta {
  return { t: 'stock', items: Array.from({ length: n }, (_, i) => ({ id: `pad-item-${i}`, available: 100_000 - round, ver: round })) };
}

/** Appends state deltas until the gateway reports the socket behind. */
async function pushUntilBehind(s: System, roomId: string, from: number, items = 60): Promise<number> {
  const store = s.gateway.context.store;
  let round = from;
  while (s.gateway.context.fanout.behindCount === 0) {
    if (round - from > 200_000) throw new Error('the paused socket never fell behind');
    await Promise.all(Array.from({ length: 200 }, () => store.append(roomId, stockDelta(++round, items))));
  }
  return round;
}

const hubView = (s: System, roomId: string) => s.gateway.hub.loaded(roomId)!.view;

describe('a client that stops reading', () => {
  it('stays bounded in memory: its state is coalesced per key, and once it reads again one catch-up frame brings it to the latest state', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'lanes-host');
    const fast = await sys.connect(roomId, await sys.token('shopper', 'fast'));
    const fastFrames = record(fast);
    const slow = await pausable(sys, roomId, await sys.token('ops', 'slow-ops'));
    const slowFrames = record(slow.sock);
    const dropped = async () => Number(/livesale_ws_dropped_updates_total\{lane="ephemeral"\} (\d+)/.exec(await sys.gateway.registry.metrics())?.[1] ?? 0);
    slow.pause();
    let round = await pushUntilBehind(sys, roomId, 0);

    // Behind: thousands more state deltas (and a few events) cost it nothing more than one entry per key.
    const store = sys.gateway.context.store;
    for (let i = 0; i < 10; i++) {
      await Promise.all(Array.from({ length: 200 }, () => store.append(roomId, stockDelta(++round))));
      await http.command(roomId, { command: 'announce', text: `note ${i}` });
    }
    const droppedBefore = await dropped();
    await store.publishEphemeral(roomId, 'stats', { orders: 1 });
    await waitFor('the ephemeral frame to be dropped for the slow socket', async () => (await dropped()) > droppedBefore);
    const want = await http.snapshot(roomId);
    await waitFor('the node to apply everything', () => hubView(sys, roomId).offset === want.offset);
    const bounds = sys.gateway.context.fanout.behindStats();
    expect(bounds.sockets).toBe(1);
    expect(bounds.resyncing).toBe(0);
    expect(bounds.maxQueuedState).toBeLessThanOrEqual(60);
    expect(bounds.maxQueuedEvents).toBeLessThanOrEqual(10);
    expect(bounds.maxBuffered).toBeLessThanOrEqual(BACKPRESSURE * 4 + sys.config.maxPayloadBytes * 4);

    // The fast client got everything, in order.
    await fast.until((v) => v.offset === want.offset);
    expect(fast.protocolErrors).toEqual([]);
    expect(fastFrames.invalid).toEqual([]);

    slow.resume();
    await slow.sock.until((v) => v.offset === want.offset, 30_000);
    expect(slow.sock.protocolErrors).toEqual([]);
    expect(slowFrames.invalid).toEqual([]);
    expect(slow.sock.view!.stock).toEqual(hubView(sys, roomId).stock);
    expect(slow.sock.view!.doc).toEqual(want.room);
    const catchups = slowFrames.frames.filter((f) => f.type === 'catchup');
    expect(catchups.length).toBeGreaterThan(0);
    expect(catchups.reduce((n, f) => n + (f.type === 'catchup' ? f.coalesced : 0), 0)).toBeGreaterThan(1000);
    expect(slowFrames.frames.some((f) => f.type === 'snapshot')).toBe(false);
    await waitFor('the socket to be counted as caught up', () => sys.gateway.context.fanout.behindCount === 0);
    fast.close();
    slow.sock.close();
  });

  it('when its queued events outgrow their bound, it gets a fresh snapshot (resync) instead, and ends on the latest state', async () => {
    const { roomId } = await hostWithRoom(sys, 'lanes-host-2');
    const slow = await pausable(sys, roomId, await sys.token('shopper', 'slow-2'));
    const slowFrames = record(slow.sock);
    slow.pause();
    await pushUntilBehind(sys, roomId, 0);
    const store = sys.gateway.context.store;
    // Events (never dropped, never coalesced): more than a behind socket may queue.
    for (let i = 0; i < 300; i++) await store.append(roomId, { t: 'announce', announcement: { id: `e${i}`, text: `event ${i}`, at: i } });
    await waitFor('the socket to be marked for resync', () => sys.gateway.context.fanout.behindStats().resyncing === 1);
    expect(sys.gateway.context.fanout.behindStats().maxQueuedEvents).toBe(0);
    const offset = hubView(sys, roomId).offset;
    slow.resume();
    await slow.sock.until((v) => v.offset >= offset, 30_000);
    const resync = slowFrames.frames.find((f) => f.type === 'snapshot');
    expect(resync).toMatchObject({ type: 'snapshot', recovered: false, resync: expect.stringMatching(/events/) });
    expect(slow.sock.view!.doc).toEqual(hubView(sys, roomId).doc);
    expect(slow.sock.view!.stock).toEqual(hubView(sys, roomId).stock);
    expect(slow.sock.protocolErrors).toEqual([]);
    expect(slowFrames.invalid).toEqual([]);
    slow.sock.close();
  });
});

describe('a client that stays behind', () => {
  let quick: System;
  beforeAll(async () => {
    quick = await startSystem({ wsBackpressureBytes: 8 * 1024, wsSlowCloseMs: 500 });
  });
  afterAll(async () => {
    await quick?.stop();
  });

  it('is closed with 4008 and a reason', async () => {
    const { roomId } = await hostWithRoom(quick, 'lanes-host-3');
    const slow = await pausable(quick, roomId, await quick.token('shopper', 'stuck'));
    slow.pause();
    await pushUntilBehind(quick, roomId, 0, 1);
    const slowCloses = async () => Number(/livesale_ws_closed_by_server_total\{reason="slow"\} (\d+)/.exec(await quick.gateway.registry.metrics())?.[1] ?? 0);
    await waitFor('the server to give up on the socket', async () => (await slowCloses()) === 1, 30_000);
    // Reading again: the close frame is what it finds at the end of its buffer.
    slow.resume();
    const closed = await waitFor('the stuck socket to be closed', () => slow.sock.closed, 30_000);
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/too slow/);
  });
});
