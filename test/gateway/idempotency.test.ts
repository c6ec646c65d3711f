import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { hostWithRoom, openWindow } from './support.ts';

let sys: System;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
});
afterAll(async () => {
  await sys?.stop();
});

/** The refusal a promise ends with (an ApiError), or a failure if it succeeds. */
function refusal(p: Promise<unknown>): Promise<ApiError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => {
      if (!(e instanceof ApiError)) throw e;
      return e;
    },
  );
}

async function roomState(roomId: string) {
  const k = sys.keys.room(roomId);
  return { room: await sys.redis.hgetall(k.room), log: await sys.redis.xlen(k.log) };
}

describe('an idempotency key belongs to one request', () => {
  it('a host key reused for another target, command or parameters is refused with 409 IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'idem-scope-host');
    const a = await http.addItem(roomId, { title: 'Apple', price: 1000, stock: 10, perUserLimit: 5, ...openWindow() }, { idempotencyKey: 'k-add' });
    const b = await http.addItem(roomId, { title: 'Pear', price: 2000, stock: 10, perUserLimit: 5, ...openWindow() }, { idempotencyKey: 'k-add-2' });
    const first = await http.command(roomId, { command: 'setPrice', itemId: a.id, price: 900 }, { idempotencyKey: 'k-price' });
    expect(first.duplicate).toBe(false);
    const before = await roomState(roomId);

    // The same request again: the first answer, whatever base version the retry carries.
    expect(await http.command(roomId, { command: 'setPrice', itemId: a.id, price: 900 }, { idempotencyKey: 'k-price', baseVersion: 1 })).toEqual({ ...first, duplicate: true });
    // Another target, other parameters, another command, the REST on-air call with addItem's key.
    const tries = [
      http.command(roomId, { command: 'setPrice', itemId: b.id, price: 900 }, { idempotencyKey: 'k-price' }),
      http.command(roomId, { command: 'setPrice', itemId: a.id, price: 800 }, { idempotencyKey: 'k-price' }),
      http.command(roomId, { command: 'announce', text: 'hello' }, { idempotencyKey: 'k-price' }),
      http.putOnAir(roomId, a.id, { idempotencyKey: 'k-add' }),
      http.addItem(roomId, { title: 'Plum', price: 1000, stock: 10, perUserLimit: 5, ...openWindow() }, { idempotencyKey: 'k-add' }),
    ];
    for (const t of tries) {
      const e = await refusal(t);
      expect({ status: e.status, code: e.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    expect(await roomState(roomId)).toEqual(before);
    const snap = await sys.http().snapshot(roomId);
    expect(snap.room.onAir).toBeNull();
    expect(snap.room.items[b.id]!.price).toBe(2000);
    expect(snap.room.items[a.id]!.price).toBe(900);
    expect(snap.room.announcements ?? []).toEqual([]);
    expect(Object.keys(snap.room.items)).toHaveLength(2);
  });

  /** What a buy or join may change: the item's counters, the users hash (counts and keys), the outbox. */
  async function itemState(itemId: string) {
    const k = sys.keys.item(itemId);
    const info = (await sys.redis.call('XINFO', 'STREAM', k.outbox)) as unknown[];
    return {
      item: await sys.redis.hmget(k.item, 'avail', 'held', 'sold', 'ver', 'count', 'tier'),
      users: await sys.redis.hgetall(k.users),
      holds: await sys.redis.hlen(k.holds),
      outbox: info[info.indexOf('last-generated-id') + 1],
    };
  }

  it('a shopper key reused with another quantity is refused with 409 IDEMPOTENCY_KEY_REUSED over HTTP and WebSocket and changes nothing', async () => {
    const { http: host, roomId } = await hostWithRoom(sys, 'idem-buy-host');
    const flash = await host.addItem(roomId, { title: 'Tea', price: 1500, stock: 10, perUserLimit: 5, ...openWindow() });
    const g = await host.command(roomId, { command: 'openGroup', title: 'Cherries', basePrice: 4900, stock: 10, perUserLimit: 5, tiers: [{ threshold: 3, price: 3900 }], endsAt: Date.now() + 600_000 });
    const groupId = (g.data as { item: { id: string } }).item.id;
    const token = await sys.token('shopper', 'idem-buyer');
    const http = sys.http(token);
    const ws = await sys.connect(roomId, token);

    // A hold, then the same request over either transport: its first answer.
    const held = await http.buy(roomId, flash.id, 2, 'k-buy');
    expect(held).toMatchObject({ outcome: 'held', qty: 2 });
    expect(await http.buy(roomId, flash.id, 2, 'k-buy')).toEqual({ outcome: 'duplicate', first: held });
    expect(await ws.buy(flash.id, 2, 'k-buy')).toEqual({ outcome: 'duplicate', first: held });
    const joined = await ws.join(groupId, 1, 'k-join');
    expect(joined).toMatchObject({ outcome: 'held', qty: 1, count: 1 });
    expect(await http.join(roomId, groupId, 1, 'k-join')).toEqual({ outcome: 'duplicate', first: joined });
    // A refusal (over the limit) is kept for its key too, with its quantity.
    const refused = await http.buy(roomId, flash.id, 4, 'k-refused');
    expect(refused).toMatchObject({ outcome: 'limit_reached', already: 2 });
    expect(await ws.buy(flash.id, 4, 'k-refused')).toEqual({ outcome: 'duplicate', first: refused });

    const before = { flash: await itemState(flash.id), group: await itemState(groupId) };
    const tries: [string, () => Promise<unknown>][] = [
      ['http buy, other qty', () => http.buy(roomId, flash.id, 1, 'k-buy')],
      ['ws buy, other qty', () => ws.buy(flash.id, 3, 'k-buy')],
      ['http join, other qty', () => http.join(roomId, groupId, 2, 'k-join')],
      ['ws join, other qty', () => ws.join(groupId, 3, 'k-join')],
      ['http buy, the refused key with a quantity that would fit', () => http.buy(roomId, flash.id, 1, 'k-refused')],
      ['ws buy, the refused key with a quantity that would fit', () => ws.buy(flash.id, 3, 'k-refused')],
    ];
    for (const [what, t] of tries) {
      const e = await refusal(t());
      expect({ what, status: e.status, code: e.code }).toEqual({ what, status: what.startsWith('ws') ? 0 : 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    expect({ flash: await itemState(flash.id), group: await itemState(groupId) }).toEqual(before);

    // The first requests still answer as the first time; another key is another request.
    expect(await ws.buy(flash.id, 2, 'k-buy')).toEqual({ outcome: 'duplicate', first: held });
    expect(await http.join(roomId, groupId, 1, 'k-join')).toEqual({ outcome: 'duplicate', first: joined });
    expect(await http.buy(roomId, flash.id, 4, 'k-refused')).toEqual({ outcome: 'duplicate', first: refused });
    expect(await http.buy(roomId, flash.id, 1, 'k-buy-2')).toMatchObject({ outcome: 'held', qty: 1, available: 7 });
    // The same key at another item is that item's request.
    expect(await http.join(roomId, groupId, 2, 'k-buy')).toMatchObject({ outcome: 'held', qty: 2, available: 7 });
    ws.close();
  });
});
