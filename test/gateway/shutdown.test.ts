import { afterAll, beforeAll, expect, it } from 'vitest';
import { HttpClient, RoomSocket } from '../../web/client.ts';
import { startGateway } from '../../gateway/server.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { NodeWebSocket, hostWithRoom, rawSocket } from './support.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

it('graceful shutdown: stops accepting, tells every client when to reconnect (jittered), finishes in-flight requests, then closes', async () => {
  const { token: hostToken, roomId } = await hostWithRoom(sys, 'drain-host');
  const node = await startGateway({ config: { ...sys.config, nodeId: `${sys.config.nodeId}-drain` }, log: sys.log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
  const base = `http://127.0.0.1:${node.port}`;
  const sockets = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => RoomSocket.connect({ baseUrl: base, roomId, token: await sys.token('shopper', `d${i}`), WebSocket: NodeWebSocket })),
  );

  // An in-flight command: it waits for the room's command lock, held here until the drain has begun.
  const release = (await sys.gateway.context.store.lock(roomId, 10_000))!;
  const host = new HttpClient(base, hostToken);
  const v = await host.version(roomId);
  const inFlight = host.command(roomId, { command: 'announce', text: 'last words' }, { baseVersion: v });
  // Counted against the host's rate: the command has arrived and waits for the lock.
  await waitFor('the command to be in flight', async () => (await sys.redis.get(sys.keys.hostRate('host:drain-host'))) !== null);

  const closing = node.close({ drainMs: 10_000 });
  await waitFor('every client to be told to go away', () => sockets.every((s) => s.goingAway));
  for (const s of sockets) {
    expect(s.goingAway!.reconnectInMs).toBeGreaterThanOrEqual(500);
    expect(s.goingAway!.reconnectInMs).toBeLessThanOrEqual(5000);
  }
  expect(new Set(sockets.map((s) => s.goingAway!.reconnectInMs)).size).toBeGreaterThan(1);
  // No longer accepting.
  await expect(rawSocket(base, roomId, await sys.token('shopper', 'late'))).rejects.toThrow();
  expect(sockets.every((s) => !s.closed)).toBe(true);

  await release();
  const r = await inFlight;
  expect(r.duplicate).toBe(false);
  await closing;
  await waitFor('every socket to be closed', () => sockets.every((s) => s.closed));
  for (const s of sockets) expect(s.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  expect(node.connections).toBe(0);
  expect((await sys.http().snapshot(roomId)).room.announcements!.map((a) => a.text)).toEqual(['last words']);
});
