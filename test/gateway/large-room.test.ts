import { afterAll, beforeAll, expect, it } from 'vitest';
import { RoomSocket } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, NodeWebSocket } from './support.ts';

// Slices of one stride (64 sockets): every batch to this room is written over several turns of
// the event loop, while more deltas arrive.
let sys: System;
beforeAll(async () => {
  sys = await startSystem({ roomSliceMs: 0 });
});
afterAll(async () => {
  await sys?.stop();
});

it('a room whose batches are written in many slices: deltas arriving meanwhile reach every socket in order, none lost, the last level everywhere', async () => {
  const { roomId } = await hostWithRoom(sys, 'big-host');
  const sockets: RoomSocket[] = [];
  for (let i = 0; i < 640; i += 80) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: 80 }, async (_, j) => RoomSocket.connect({ baseUrl: sys.baseUrl, roomId, token: await sys.token('shopper', `big-${i + j}`), WebSocket: NodeWebSocket })),
      )),
    );
  }
  const store = sys.gateway.context.store;
  const start = sys.gateway.hub.loaded(roomId)!.view.offset;
  const levels = 60;
  // Not awaited one by one: appends land while earlier batches are still being written.
  await Promise.all(Array.from({ length: levels }, (_, i) => store.append(roomId, { t: 'stock', items: [{ id: 'x', available: levels - i, ver: i + 1 }] })));
  // Sold out (urgent) last.
  await store.append(roomId, { t: 'stock', items: [{ id: 'x', available: 0, ver: levels + 1 }] });
  const end = start + levels + 1;
  await waitFor('every socket at the last offset', () => sockets.every((s) => s.view!.offset === end), 30_000);
  for (const s of sockets) {
    expect(s.protocolErrors).toEqual([]);
    expect(s.view!.stock.x).toMatchObject({ available: 0, ver: levels + 1 });
  }
  // Batched: fewer frames than deltas reached a socket.
  const frames = sockets.map((s) => (s.counts.delta ?? 0) + (s.counts.deltas ?? 0) + (s.counts.catchup ?? 0));
  expect(Math.max(...frames)).toBeLessThan(levels + 1);
  for (const s of sockets) s.close();
}, 90_000);
