import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type HttpClient } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The shopper commands through the gateway (HTTP and WebSocket): buy, pay (answered once
 * durable), cancel, join a tiered group, subscribe to a pre-heat reminder; viewers see stock and
 * group progress; the ledger gets every change.
 */

let sys: System;
let host: HttpClient;
let roomId: string;

beforeAll(async () => {
  sys = await startSystem();
  host = sys.http(await sys.token('host', 'host-1'));
  roomId = (await host.createRoom('Shopper commands')).id;
});

afterAll(async () => {
  await sys?.stop();
});

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

describe('shopper commands', () => {
  it('buy, pay over HTTP and WebSocket, cancel; the paid order reaches the ledger; viewers see the stock', async () => {
    const now = Date.now();
    const item = await host.addItem(roomId, { title: 'Tea', price: 1500, stock: 10, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000 });
    const alice = sys.http(await sys.token('shopper', 'alice'));
    const watcher = await sys.connect(roomId, await sys.token('shopper', 'watcher'));

    const a = await alice.buy(roomId, item.id, 2, 'a1');
    if (a.outcome !== 'held') throw new Error('not held');
    const paid = await alice.pay(roomId, item.id, a.orderId, 1);
    expect(paid).toEqual({ outcome: 'paid', orderId: a.orderId, qty: 2, amount: 3000, already: false });
    expect(await alice.pay(roomId, item.id, a.orderId)).toMatchObject({ already: true, amount: 3000 });

    const bob = await sys.connect(roomId, await sys.token('shopper', 'bob'));
    const b = await bob.buy(item.id, 1, 'b1');
    if (b.outcome !== 'held') throw new Error('not held');
    expect(await bob.cancel(item.id, b.orderId)).toEqual({ outcome: 'cancelled', orderId: b.orderId, refund: 0, already: false });
    expect((await bob.cancel(item.id, b.orderId)).already).toBe(true);
    const b2 = await bob.buy(item.id, 1, 'b2');
    if (b2.outcome !== 'held') throw new Error('not held');
    expect(await bob.pay(item.id, b2.orderId, 1)).toMatchObject({ outcome: 'paid', amount: 1500 });

    // Typed refusals: another user's order, a stale version, cancelling a paid order.
    expect((await apiError(alice.pay(roomId, item.id, b2.orderId))).code).toBe('ORDER_NOT_FOUND');
    expect((await apiError(alice.cancel(roomId, item.id, a.orderId))).code).toBe('ORDER_PAID');
    const c = await alice.buy(roomId, item.id, 1, 'a2');
    if (c.outcome !== 'held') throw new Error('not held');
    const stale = await apiError(bob.pay(item.id, c.orderId, 1));
    expect(stale.code).toBe('ORDER_NOT_FOUND');
    expect((await apiError(alice.pay(roomId, item.id, c.orderId, 9))).code).toBe('HOLD_CHANGED');
    expect((await apiError(alice.pay(roomId, 'nope', c.orderId))).code).toBe('ITEM_NOT_FOUND');
    const bad = await alice.request('POST', `/rooms/${roomId}/items/${item.id}/pay`, { orderId: 'has space' });
    expect(bad.status).toBe(400);

    // 10 - 2 (alice paid) - 1 (bob paid) - 1 (alice held) = 6 left, seen by a viewer.
    await watcher.until((v) => v.stock[item.id]?.available === 6);
    await waitFor('the paid orders in the ledger', async () => {
      const r = await sys.db.selectFrom('orders').select(sql<string>`count(*)`.as('n')).where('item_id', '=', item.id).where('state', '=', 'paid').executeTakeFirstOrThrow();
      return Number(r.n) === 2;
    });
  });

  it('join a tiered group over HTTP and WebSocket: count, price now, next threshold; a tier crossing reaches the room', async () => {
    const r = await host.command(roomId, {
      command: 'openGroup',
      title: 'Cherries',
      basePrice: 49900,
      stock: 100,
      perUserLimit: 2,
      tiers: [{ threshold: 3, price: 44900 }, { threshold: 5, price: 39900 }],
      endsAt: Date.now() + 600_000,
    });
    const itemId = (r.data as { item: { id: string } }).item.id;
    const watcher = await sys.connect(roomId, await sys.token('shopper', 'group-watcher'));
    watcher.keepFrames = true;
    const joins = [];
    for (let i = 0; i < 3; i++) joins.push(await sys.http(await sys.token('shopper', `j${i}`)).join(roomId, itemId, 1, 'k'));
    const ws = await sys.connect(roomId, await sys.token('shopper', 'j3'));
    joins.push(await ws.join(itemId, 1, 'k'));
    expect(joins.map((j) => (j.outcome === 'held' ? [j.count, j.unitPrice, j.nextThreshold, j.crossed] : j.outcome))).toEqual([
      [1, 49900, 3, false],
      [2, 49900, 3, false],
      [3, 44900, 5, true],
      [4, 44900, 5, false],
    ]);
    expect(await ws.join(itemId, 1, 'k')).toMatchObject({ outcome: 'duplicate', first: { count: 4 } });
    const held = joins[3]!;
    if (held.outcome !== 'held') throw new Error('not held');
    expect(await ws.pay(itemId, held.orderId, held.version)).toMatchObject({ outcome: 'paid', amount: 44900 });
    await watcher.until((v) => v.groups?.[itemId]?.count === 4);
    // Deltas arrive one per frame or batched per tick.
    const deltas = watcher.frames.flatMap((f) => (f.type === 'delta' ? [f.d] : f.type === 'deltas' ? f.items.map((e) => e.d) : []));
    expect(deltas.filter((d) => d.t === 'group' && d.item === itemId && d.tier !== undefined)).toMatchObject([{ tier: 1, count: 3, price: 44900, next: 5 }]);
    expect((await apiError(sys.http(await sys.token('shopper', 'j9')).buy(roomId, itemId, 1, 'x'))).code).toBe('WRONG_ITEM_KIND');
  });

  it('subscribe to a pre-heat reminder', async () => {
    const now = Date.now();
    const item = await host.addItem(roomId, { title: 'Later', price: 100, stock: 5, perUserLimit: 1, startsAt: now + 3_600_000, endsAt: now + 7_200_000 });
    const fan = sys.http(await sys.token('shopper', 'fan'));
    expect(await fan.subscribe(roomId, item.id)).toEqual({ outcome: 'subscribed', subscribers: 1 });
    const ws = await sys.connect(roomId, await sys.token('shopper', 'fan2'));
    expect(await ws.subscribe(item.id)).toEqual({ outcome: 'subscribed', subscribers: 2 });
    expect(await ws.subscribe(item.id)).toEqual({ outcome: 'already_subscribed', subscribers: 2 });
    const opsErr = await apiError(sys.http(await sys.token('ops', 'ops-1')).subscribe(roomId, item.id));
    expect(opsErr.code).toBe('FORBIDDEN');
  });
});
