import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RoomSocket, type WebSocketCtor } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

/** A WebSocket that notes when the server ends the TCP connection without a close frame. */
const dropped: string[] = [];
class Watched extends WebSocket {
  constructor(url: string) {
    super(url);
    this.on('upgrade', (res) => res.socket.once('end', () => dropped.push(url)));
  }
}

// Upgrades finish asynchronously (token check, room load). One finished while uWS was parsing
// another connection's request used to be dropped right after its snapshot (1006, no reason).
it('1,000 shoppers joining 100 at a time all get a snapshot and stay connected', async () => {
  const host = sys.http(await sys.token('host', 'host-1'));
  const room = await host.createRoom('Join burst');
  const sockets: RoomSocket[] = [];
  for (let i = 0; i < 1000; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, async (_, j) =>
        RoomSocket.connect({ baseUrl: sys.baseUrl, roomId: room.id, token: await sys.token('shopper', `user-${i + j}`), WebSocket: Watched as unknown as WebSocketCtor }),
      ),
    );
    sockets.push(...batch);
  }
  // Every socket still answers.
  const pongs = await Promise.allSettled(sockets.map((s) => s.ping()));
  for (const s of sockets) s.close();
  expect(dropped).toEqual([]);
  expect(sockets.filter((s) => s.closed && s.closed.code !== 1000)).toEqual([]);
  expect(pongs.filter((p) => p.status === 'rejected')).toEqual([]);
}, 60_000);
