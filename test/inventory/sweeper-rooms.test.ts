import { afterAll, beforeAll, expect, it } from 'vitest';
import { RoomPublisher } from '../../gateway/room-publisher.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { startSystem, type System } from '../helpers/system.ts';

/**
 * What the sweeper process changes reaches the rooms: a scheduled price coming into effect, a
 * group buy closed and settled at its end time (viewers' views and fresh snapshots alike).
 */

let sys: System;
let sweeper: Sweeper;

beforeAll(async () => {
  sys = await startSystem();
  const rooms = new RoomPublisher({ store: sys.gateway.context.store, log: sys.log });
  sweeper = new Sweeper({ redis: sys.redis, keys: sys.keys, scripts: sys.gateway.context.scripts, intervalMs: 20, onChange: (s) => rooms.publish(s) });
  sweeper.start();
});

afterAll(async () => {
  await sweeper?.stop();
  await sys?.stop();
});

it('a scheduled price takes effect in the room at its time; a group closes and settles at its end', async () => {
  const host = sys.http(await sys.token('host', 'host-1'));
  const roomId = (await host.createRoom('Sweeper to rooms')).id;
  const now = Date.now();
  const item = await host.addItem(roomId, { title: 'Tea', price: 1500, stock: 10, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000 });
  const watcher = await sys.connect(roomId, await sys.token('shopper', 'watcher'));
  await host.command(roomId, { command: 'setPrice', itemId: item.id, price: 1200, at: Date.now() + 300 });
  await watcher.until((v) => v.doc.items[item.id]?.price === 1200 && v.doc.items[item.id]?.scheduledPrice === undefined);
  expect((await host.snapshot(roomId)).room.items[item.id]!.price).toBe(1200);

  const r = await host.command(roomId, {
    command: 'openGroup',
    title: 'Cherries',
    basePrice: 500,
    stock: 20,
    perUserLimit: 2,
    tiers: [{ threshold: 2, price: 400 }],
    // Long enough for the two joins below on a busy machine, short enough to wait out.
    endsAt: Date.now() + 3000,
  });
  const groupId = (r.data as { item: { id: string } }).item.id;
  const a = await sys.http(await sys.token('shopper', 'a')).join(roomId, groupId, 1, 'k');
  const b = await sys.http(await sys.token('shopper', 'b')).join(roomId, groupId, 1, 'k');
  expect([a.outcome, b.outcome]).toEqual(['held', 'held']);
  await watcher.until((v) => v.doc.items[groupId]?.closed !== undefined, 15_000);
  expect(watcher.view!.doc.items[groupId]!.closed).toEqual({ count: 2, finalPrice: 400, outcome: 'succeeded' });
  const v = await sys.gateway.context.flash.view(groupId);
  expect(v!.group).toMatchObject({ state: 'settled', finalPrice: 400 });
});
