import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomSocket } from '../../web/client.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { NodeWebSocket, conformance, hostWithRoom, openWindow, record } from './support.ts';

let sys: System;
let nodeB: Gateway;
let baseB: string;

beforeAll(async () => {
  sys = await startSystem();
  // A second gateway node on the same Redis namespace: resuming there uses the Redis log.
  nodeB = await startGateway({ config: { ...sys.config, nodeId: `${sys.config.nodeId}-b` }, log: sys.log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
  baseB = `http://127.0.0.1:${nodeB.port}`;
});
afterAll(async () => {
  await nodeB?.close({ drainMs: 500 });
  await sys?.stop();
});

/** What a subscriber must end with: the document, stock and position the server holds. */
async function serverView(roomId: string) {
  const s = await sys.http().snapshot(roomId);
  return { doc: s.room, stock: s.stock, offset: s.offset, version: s.version, epoch: s.epoch };
}

describe('room protocol', () => {
  it('a subscriber gets a snapshot with (epoch, offset), then every change as ordered deltas; every frame matches its schema', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'proto-host');
    const a = await http.addItem(roomId, { title: 'Tea', price: 1000, stock: 50, perUserLimit: 2, ...openWindow() });
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'proto-s1'));
    shopper.keepFrames = true;
    const seen = record(shopper);
    const first = { ...shopper.view! };
    expect(first.doc.items[a.id]!.title).toBe('Tea');
    expect(first.offset).toBeGreaterThan(0);
    expect(typeof first.epoch).toBe('string');

    const b = await http.addItem(roomId, { title: 'Coffee', price: 2000, stock: 10, perUserLimit: 1, ...openWindow() });
    await http.putOnAir(roomId, a.id);
    await http.command(roomId, { command: 'announce', text: 'Welcome!' });
    await http.command(roomId, { command: 'reorder', listing: [b.id, a.id] });
    await http.command(roomId, { command: 'delist', itemId: b.id });
    await http.command(roomId, { command: 'list', itemId: b.id, position: 0 });
    await http.putOnAir(roomId, b.id);

    const want = await serverView(roomId);
    await shopper.until((v) => v.offset === want.offset);
    expect(shopper.view!.doc).toEqual(want.doc);
    expect(shopper.view!.stock).toEqual(want.stock);
    expect(shopper.view!.version).toBe(want.version);
    expect(shopper.view!.doc.listing).toEqual([b.id, a.id]);
    expect(shopper.view!.doc.onAir).toBe(b.id);
    expect(shopper.view!.doc.announcements!.map((x) => x.text)).toEqual(['Welcome!']);
    expect(shopper.protocolErrors).toEqual([]);
    expect(seen.invalid).toEqual([]);
    // Offsets seen in order, each exactly once.
    const offsets = seen.frames.flatMap((f) => (f.type === 'delta' ? [f.o] : f.type === 'deltas' ? f.items.map((i) => i.o) : []));
    expect(offsets).toEqual(Array.from({ length: want.offset - first.offset }, (_, i) => first.offset + 1 + i));
  });

  it('a reconnecting subscriber gets exactly the missed deltas when they are retained, never a gap', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'proto-host-2');
    const token = await sys.token('shopper', 'proto-s2');
    const s1 = await sys.connect(roomId, token);
    const pos = s1.position!;
    s1.close();
    await waitFor('the socket to close', () => s1.closed);
    const item = await http.addItem(roomId, { title: 'Pears', price: 500, stock: 5, perUserLimit: 1, ...openWindow() });
    await http.putOnAir(roomId, item.id);
    await http.command(roomId, { command: 'announce', text: 'back soon' });
    const want = await serverView(roomId);

    const s2 = await RoomSocket.connect({ baseUrl: sys.baseUrl, roomId, token, resume: pos, view: s1.view, WebSocket: NodeWebSocket });
    s2.keepFrames = true;
    await s2.until((v) => v.offset === want.offset);
    expect(s2.recovered).toBe(true);
    expect(s2.view!.doc).toEqual(want.doc);
    expect(s2.protocolErrors).toEqual([]);
    s2.close();
  });

  it('resuming on another gateway node replays the missed deltas from the Redis log', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'proto-host-3');
    const token = await sys.token('shopper', 'proto-s3');
    const onA = await sys.connect(roomId, token);
    await http.command(roomId, { command: 'announce', text: 'one' });
    await onA.until((v) => (v.doc.announcements ?? []).length === 1);
    const pos = onA.position!;
    onA.close();
    await http.command(roomId, { command: 'announce', text: 'two' });
    await http.command(roomId, { command: 'announce', text: 'three' });
    const want = await serverView(roomId);

    const frames: string[] = [];
    const onB = await RoomSocket.connect({ baseUrl: baseB, roomId, token, resume: pos, view: onA.view, WebSocket: NodeWebSocket });
    onB.onFrame((f) => frames.push(f.type));
    await onB.until((v) => v.offset === want.offset);
    expect(onB.recovered).toBe(true);
    expect(onB.view!.doc.announcements!.map((a) => a.text)).toEqual(['one', 'two', 'three']);
    expect(onB.view!.doc).toEqual(want.doc);
    expect(onB.protocolErrors).toEqual([]);
    // And it keeps following the room there.
    await http.command(roomId, { command: 'announce', text: 'four' });
    await onB.until((v) => (v.doc.announcements ?? []).length === 4);
    onB.close();
  });

  it('when the missed deltas are no longer retained, a fresh snapshot with recovered: false', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'proto-host-4');
    const item = await http.addItem(roomId, { title: 'Plums', price: 300, stock: 5000, perUserLimit: 1, ...openWindow() });
    const token = await sys.token('shopper', 'proto-s4');
    const s1 = await sys.connect(roomId, token);
    const pos = s1.position!;
    s1.close();
    // More deltas than the Redis log and the node's ring retain.
    for (let i = 1; i <= 1250; i++) await sys.gateway.context.store.append(roomId, { t: 'stock', items: [{ id: item.id, available: 5000 - i, ver: 1000 + i }] });
    const want = await serverView(roomId);
    await waitFor('node A to apply them', () => sys.gateway.hub.loaded(roomId)!.view.offset === want.offset);
    for (const base of [sys.baseUrl, baseB]) {
      const s = await RoomSocket.connect({ baseUrl: base, roomId, token, resume: pos, view: s1.view, WebSocket: NodeWebSocket });
      expect(s.recovered).toBe(false);
      expect(s.view!.offset).toBe(want.offset);
      expect(s.view!.doc).toEqual(want.doc);
      expect(s.protocolErrors).toEqual([]);
      s.close();
    }
  });

  it('a position from another epoch gets a fresh snapshot with recovered: false', async () => {
    const { roomId } = await hostWithRoom(sys, 'proto-host-5');
    const s = await RoomSocket.connect({ baseUrl: sys.baseUrl, roomId, token: await sys.token('shopper', 'proto-s5'), resume: { epoch: 'not-this-one', offset: 3 }, WebSocket: NodeWebSocket });
    expect(s.recovered).toBe(false);
    expect(s.view!.doc.id).toBe(roomId);
    s.close();
  });

  it('the HTTP snapshot matches the snapshot schema', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'proto-host-6');
    await http.addItem(roomId, { title: 'Figs', price: 100, stock: 1, perUserLimit: 1, ...openWindow() });
    expect(conformance(await sys.http().snapshot(roomId))).toBeUndefined();
  });
});
