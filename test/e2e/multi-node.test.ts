import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HttpClient, RoomSocket, type WebSocketCtor } from '../../web/client.ts';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { startGatewayProcess, type GatewayProcess } from './gateway-process.ts';

const NodeWebSocket = WebSocket as unknown as WebSocketCtor;

// Two gateway processes on the same Redis, Postgres and Kafka namespace.
let sys: System;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
  [a, b] = await Promise.all([startGatewayProcess(sys.config, 'node-a'), startGatewayProcess(sys.config, 'node-b')]);
});
afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await sys?.stop();
});

const connect = async (node: GatewayProcess, roomId: string, user: string) =>
  RoomSocket.connect({ baseUrl: node.baseUrl, roomId, token: await sys.token('shopper', user), WebSocket: NodeWebSocket });

describe('several gateway nodes', () => {
  it('host commands sent to node A reach shoppers on node B, in order; one backplane subscription per room per node', async () => {
    const hostToken = await sys.token('host', 'mn-host');
    const viaA = new HttpClient(a.baseUrl, hostToken);
    const room = await viaA.createRoom('two nodes');
    const item = await viaA.addItem(room.id, { title: 'Lychee', price: 2000, stock: 100, perUserLimit: 5, startsAt: Date.now() - 1000, endsAt: Date.now() + 3600_000 });
    const shoppers = await Promise.all(Array.from({ length: 4 }, (_, i) => connect(b, room.id, `mn-b${i}`)));
    const onA = await connect(a, room.id, 'mn-a0');
    const seen: ServerFrame[][] = shoppers.map((s) => {
      const out: ServerFrame[] = [];
      s.onFrame((f) => out.push(f));
      return out;
    });
    for (let i = 0; i < 20; i++) {
      if (i % 5 === 0) await viaA.putOnAir(room.id, i % 10 === 0 ? item.id : null);
      else await viaA.command(room.id, { command: 'announce', text: `#${i}` });
    }
    await viaA.command(room.id, { command: 'setPrice', itemId: item.id, price: 1500 });
    const want = await viaA.snapshot(room.id);
    for (const s of [...shoppers, onA]) await s.until((v) => v.offset === want.offset);
    for (const [i, s] of shoppers.entries()) {
      expect(s.view!.doc).toEqual(want.room);
      expect(s.protocolErrors).toEqual([]);
      const texts = seen[i]!.flatMap((f) => (f.type === 'delta' ? [f] : f.type === 'deltas' ? f.items : [])).flatMap((e) => (e.d.t === 'announce' ? [e.d.announcement.text] : []));
      expect(texts).toEqual(['#1', '#2', '#3', '#4', '#6', '#7', '#8', '#9', '#11', '#12', '#13', '#14', '#16', '#17', '#18', '#19']);
    }
    // Five sockets, two nodes: two subscriptions to the room's shard channel.
    const [, subscribers] = (await sys.redis.call('PUBSUB', 'SHARDNUMSUB', sys.keys.room(room.id).channel)) as [string, number];
    expect(Number(subscribers)).toBe(2);
    for (const s of [...shoppers, onA]) s.close();
  });

  it('when node A is killed, its shopper resumes on node B from its last position, without a gap', async () => {
    const hostToken = await sys.token('host', 'mn-host-2');
    const viaB = new HttpClient(b.baseUrl, hostToken);
    const room = await viaB.createRoom('failover');
    const token = await sys.token('shopper', 'mn-roamer');
    const s = await RoomSocket.connect({ baseUrl: a.baseUrl, roomId: room.id, token, WebSocket: NodeWebSocket });
    await viaB.command(room.id, { command: 'announce', text: 'before' });
    await s.until((v) => (v.doc.announcements ?? []).length === 1);

    await a.kill();
    await waitFor('the socket on A to drop', () => s.closed);
    for (const t of ['while away 1', 'while away 2', 'while away 3']) await viaB.command(room.id, { command: 'announce', text: t });
    const want = await viaB.snapshot(room.id);

    const resumed = await s.reconnect({ baseUrl: b.baseUrl, token, WebSocket: NodeWebSocket });
    await resumed.until((v) => v.offset === want.offset);
    expect(resumed.recovered).toBe(true);
    expect(resumed.view!.doc).toEqual(want.room);
    expect(resumed.view!.doc.announcements!.map((x) => x.text)).toEqual(['before', 'while away 1', 'while away 2', 'while away 3']);
    expect(resumed.protocolErrors).toEqual([]);
    resumed.close();
  });
});
