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
});
