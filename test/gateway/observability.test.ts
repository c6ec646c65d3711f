import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HttpClient, RoomSocket } from '../../web/client.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { NodeWebSocket, hostWithRoom, openWindow } from './support.ts';

let sys: System;
let node: Gateway;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  sys = await startSystem();
  // A node whose structured logs this test reads.
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info', base: { node: 'observed' } }, sink);
  node = await startGateway({ config: { ...sys.config, nodeId: 'observed' }, log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
});
afterAll(async () => {
  await node?.close({ drainMs: 500 });
  await sys?.stop();
});

it('/healthz, /readyz and /metrics (connections, messages in and out, coalesced and dropped updates, command latency, reservations by outcome), and JSON logs', async () => {
  const base = `http://127.0.0.1:${node.port}`;
  const anon = new HttpClient(base);
  expect(await anon.request('GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true, node: 'observed' } });
  expect(await anon.request('GET', '/readyz')).toMatchObject({ status: 200, body: { ready: true } });

  const { token, roomId } = await hostWithRoom(sys, 'metrics-host');
  const host = new HttpClient(base, token);
  const item = await host.addItem(roomId, { title: 'Nuts', price: 100, stock: 10, perUserLimit: 1, ...openWindow() });
  const s = await RoomSocket.connect({ baseUrl: base, roomId, token: await sys.token('shopper', 'metrics-s'), WebSocket: NodeWebSocket });
  expect((await s.buy(item.id, 1, 'm-1')).outcome).toBe('held');
  expect((await s.buy(item.id, 1, 'm-2')).outcome).toBe('limit_reached');
  await host.putOnAir(roomId, item.id);
  await s.until((v) => v.doc.onAir === item.id);

  const m = (await anon.request('GET', '/metrics')).body as string;
  for (const re of [
    /livesale_ws_connections\{role="shopper"\} 1/,
    /livesale_ws_messages_in_total\{type="buy"\} 2/,
    /livesale_ws_frames_out_total\{kind="(delta|deltas)"\} [1-9]/,
    /livesale_ws_bytes_out_total [1-9]/,
    /# TYPE livesale_ws_coalesced_updates_total counter/,
    /# TYPE livesale_ws_dropped_updates_total counter/,
    /livesale_command_seconds_bucket\{le="[^"]+",command="host.onAir"\} 1/,
    /livesale_command_seconds_count\{command="buy"\} 2/,
    /livesale_reservations_total\{outcome="held"\} 1/,
    /livesale_reservations_total\{outcome="limit_reached"\} 1/,
    /livesale_host_commands_total\{command="onAir",outcome="applied"\} 1/,
    /livesale_rooms_loaded 1/,
    /process_resident_memory_bytes/,
  ]) {
    expect(m).toMatch(re);
  }
  const listening = lines.find((l) => l.msg === 'gateway listening');
  expect(listening).toMatchObject({ level: 30, node: 'observed', component: 'gateway', port: node.port });
  s.close();
});
