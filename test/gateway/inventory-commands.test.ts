import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { hostWithRoom, openWindow, record } from './support.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
});
afterAll(async () => {
  await sys?.stop();
});

const refused = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as ApiError,
  );

describe('host commands through the inventory', () => {
  it('set price: every viewer sees the new price and the next reservation pays it; a scheduled price is shown with its time', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'price-host');
    const item = await http.addItem(roomId, { title: 'Melon', price: 1000, stock: 10, perUserLimit: 5, ...openWindow() });
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'price-s'));
    const frames = record(shopper);
    await http.command(roomId, { command: 'setPrice', itemId: item.id, price: 800 });
    await shopper.until((v) => v.doc.items[item.id]!.price === 800);
    expect((await shopper.buy(item.id, 1, 'p-1')).outcome).toBe('held');
    const held = await shopper.buy(item.id, 1, 'p-1');
    expect(held).toMatchObject({ outcome: 'duplicate', first: { unitPrice: 800 } });
    const at = Date.now() + 3600_000;
    const r = await http.command(roomId, { command: 'setPrice', itemId: item.id, price: 700, at });
    expect(r.data).toMatchObject({ price: 800, scheduled: { price: 700, at } });
    await shopper.until((v) => v.doc.items[item.id]!.scheduledPrice?.price === 700);
    expect(shopper.view!.doc.items[item.id]!.price).toBe(800);
    // A price now replaces the scheduled one.
    await http.command(roomId, { command: 'setPrice', itemId: item.id, price: 900 });
    await shopper.until((v) => v.doc.items[item.id]!.price === 900 && !v.doc.items[item.id]!.scheduledPrice);
    expect(frames.invalid).toEqual([]);
    shopper.close();
  });

  it('adjust stock moves total and available for every viewer, never below what is held and sold, once per idempotency key', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'stock-host');
    const item = await http.addItem(roomId, { title: 'Rice', price: 500, stock: 10, perUserLimit: 5, ...openWindow() });
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'stock-s'));
    expect((await shopper.buy(item.id, 4, 's-1')).outcome).toBe('held');
    const v = await http.version(roomId);
    const first = await http.command(roomId, { command: 'adjustStock', itemId: item.id, delta: 5 }, { idempotencyKey: 'adj-1', baseVersion: v });
    const again = await http.command(roomId, { command: 'adjustStock', itemId: item.id, delta: 5 }, { idempotencyKey: 'adj-1', baseVersion: v });
    expect(again).toEqual({ ...first, duplicate: true });
    await shopper.until((x) => x.doc.items[item.id]!.total === 15 && x.stock[item.id]!.available === 11);
    const before = await sys.redis.hgetall(sys.keys.item(item.id).item);
    const e = await refused(http.command(roomId, { command: 'adjustStock', itemId: item.id, delta: -12 }));
    expect(e.code).toBe('STOCK_BELOW_COMMITTED');
    expect(await sys.redis.hgetall(sys.keys.item(item.id).item)).toEqual(before);
    shopper.close();
  });

  it('open and close a flash sale: buying follows the window the host sets (by the Redis clock)', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'sale-host');
    const now = Date.now();
    const item = await http.addItem(roomId, { title: 'Scarf', price: 3000, stock: 10, perUserLimit: 5, startsAt: now + 3600_000, endsAt: now + 7200_000 });
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'sale-s'));
    expect((await shopper.buy(item.id, 1, 'w-1')).outcome).toBe('not_started');
    const opened = await http.command(roomId, { command: 'openSale', itemId: item.id });
    expect(opened.data).toMatchObject({ phase: 'live' });
    await shopper.until((v) => v.doc.items[item.id]!.startsAt <= Date.now());
    expect((await shopper.buy(item.id, 1, 'w-2')).outcome).toBe('held');
    await http.command(roomId, { command: 'closeSale', itemId: item.id });
    await shopper.until((v) => v.doc.items[item.id]!.endsAt <= Date.now());
    expect((await shopper.buy(item.id, 1, 'w-3')).outcome).toBe('ended');
    shopper.close();
  });

  it('open and close a tiered group: the group is listed with its tiers, closing publishes the result', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'group-host');
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'group-s'));
    const r = await http.command(roomId, {
      command: 'openGroup',
      title: 'Tea set group',
      basePrice: 4990,
      stock: 100,
      perUserLimit: 2,
      tiers: [
        { threshold: 2, price: 4490 },
        { threshold: 5, price: 3990 },
      ],
      endsAt: Date.now() + 3600_000,
    });
    const id = (r.data as { item: { id: string } }).item.id;
    await shopper.until((v) => v.doc.items[id]?.kind === 'group' && v.doc.listing.includes(id));
    expect(shopper.view!.doc.items[id]!.tiers).toEqual([
      { threshold: 2, price: 4490 },
      { threshold: 5, price: 3990 },
    ]);
    expect((await refused(http.command(roomId, { command: 'setPrice', itemId: id, price: 1 }))).code).toBe('WRONG_ITEM_KIND');
    const closed = await http.command(roomId, { command: 'closeGroup', itemId: id });
    expect(closed.data).toMatchObject({ count: 0, outcome: 'failed' });
    await shopper.until((v) => v.doc.items[id]!.closed?.outcome === 'failed');
    shopper.close();
  });

  it('bad arguments get typed errors before anything changes', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'bad-host');
    const item = await http.addItem(roomId, { title: 'Jam', price: 100, stock: 1, perUserLimit: 1, ...openWindow() });
    const cases: [Parameters<typeof http.command>[1], string][] = [
      [{ command: 'setPrice', itemId: 'nope', price: 1 }, 'ITEM_NOT_FOUND'],
      [{ command: 'adjustStock', itemId: item.id, delta: 0 }, 'VALIDATION_FAILED'],
      [{ command: 'closeGroup', itemId: item.id }, 'WRONG_ITEM_KIND'],
      [{ command: 'openGroup', title: 'g', basePrice: 100, stock: 1, perUserLimit: 1, tiers: [{ threshold: 2, price: 200 }], endsAt: Date.now() + 60_000 }, 'VALIDATION_FAILED'],
      [{ command: 'openGroup', title: 'g', basePrice: 100, stock: 1, perUserLimit: 1, tiers: [{ threshold: 2, price: 50 }], endsAt: 5 }, 'INVALID_ARGUMENT'],
    ];
    const before = await sys.redis.hgetall(sys.keys.room(roomId).room);
    for (const [cmd, code] of cases) expect((await refused(http.command(roomId, cmd))).code, JSON.stringify(cmd)).toBe(code);
    expect(await sys.redis.hgetall(sys.keys.room(roomId).room)).toEqual(before);
  });
});
