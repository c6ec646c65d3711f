import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomSocket } from '../../web/client.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { activityEvent, type ActivityEvent } from '../../common/contracts/activity-events.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { NodeWebSocket, hostWithRoom, openWindow } from './support.ts';

let sys: System;
let nodeB: Gateway;
let consumer: Consumer;
const events: ActivityEvent[] = [];
const invalid: unknown[] = [];

beforeAll(async () => {
  sys = await startSystem();
  nodeB = await startGateway({ config: { ...sys.config, nodeId: `${sys.config.nodeId}-b` }, log: sys.log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
  consumer = sys.kafka.consumer({ groupId: `${sys.config.kafkaTopicPrefix}activity-test` });
  await consumer.connect();
  await consumer.subscribe({ topic: sys.config.topics.activity, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const parsed = activityEvent.safeParse(JSON.parse(String(message.value)));
      if (parsed.success) {
        expect(String(message.key)).toBe(parsed.data.room);
        events.push(parsed.data);
      } else invalid.push(String(message.value));
    },
  });
});
afterAll(async () => {
  await consumer?.disconnect();
  await nodeB?.close({ drainMs: 500 });
  await sys?.stop();
});

describe('viewers', () => {
  it('join, leave, product clicks, follows and on-air changes are published as room-activity events', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'act-host');
    const item = await http.addItem(roomId, { title: 'Kiwi', price: 700, stock: 5, perUserLimit: 1, ...openWindow() });
    const s = await sys.connect(roomId, await sys.token('shopper', 'viewer-1'));
    await s.click(item.id);
    await s.follow();
    await expect(s.click('no-such-item')).rejects.toThrow(/ITEM_NOT_FOUND/);
    await http.putOnAir(roomId, item.id);
    s.close();
    const of = (type: ActivityEvent['type']) => events.filter((e) => e.room === roomId && e.type === type);
    await waitFor('the events on Kafka', () => of('viewer.left').length === 1 && of('item.on_air').length === 1, 30_000);
    expect(of('viewer.joined')).toEqual([expect.objectContaining({ user: 'viewer-1', node: sys.config.nodeId })]);
    expect(of('product.clicked')).toEqual([expect.objectContaining({ user: 'viewer-1', item: item.id })]);
    expect(of('room.followed')).toEqual([expect.objectContaining({ user: 'viewer-1', id: `follow:${roomId}:viewer-1` })]);
    expect(of('item.on_air')).toEqual([expect.objectContaining({ item: item.id, by: 'act-host' })]);
    const left = of('viewer.left')[0]!;
    expect(left).toMatchObject({ user: 'viewer-1' });
    expect(left.type === 'viewer.left' && left.watchedMs).toBeGreaterThanOrEqual(0);
    expect(invalid).toEqual([]);
  });

  it('online and peak are the sum of every node\'s count; each viewer gets them (ephemeral), and room.online samples go to Kafka', async () => {
    const { roomId } = await hostWithRoom(sys, 'count-host');
    const onA = await Promise.all(Array.from({ length: 3 }, async (_, i) => sys.connect(roomId, await sys.token('shopper', `a${i}`))));
    const onB = await Promise.all(
      Array.from({ length: 2 }, async (_, i) =>
        RoomSocket.connect({ baseUrl: `http://127.0.0.1:${nodeB.port}`, roomId, token: await sys.token('shopper', `b${i}`), WebSocket: NodeWebSocket }),
      ),
    );
    // Ops dashboards and the host console are not viewers.
    const ops = await sys.connect(roomId, await sys.token('ops', 'watching-ops'));
    await waitFor('every socket to see 5 online', () => [...onA, ...onB, ops].every((s) => s.viewers?.online === 5));
    for (const s of onA) s.close();
    await waitFor('the count to drop to 2 with the peak kept', () => onB.every((s) => s.viewers?.online === 2 && s.viewers.peak === 5));
    expect(await sys.gateway.hub.online(roomId)).toBe(2);
    expect(await sys.gateway.hub.peak(roomId)).toBe(5);
    await waitFor('room.online samples', () => events.some((e) => e.room === roomId && e.type === 'room.online' && e.online === 5), 30_000);
    for (const s of [...onB, ops]) s.close();
  });
});
