import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type System } from '../helpers/system.ts';
import { hostWithRoom, openWindow } from './support.ts';

/**
 * The input class: every number has its domain, every text refuses NUL and lone surrogates, a
 * malformed URL is a 400. Each case is a reproduction that once answered 500; each must now be a
 * typed 400 that changed nothing.
 */

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 100_000 });
});
afterAll(async () => {
  await sys?.stop();
});

const nul = 'a\u0000b';
const lone = 'a\ud800b';

describe('input domains', () => {
  it('out-of-range times, NUL and lone surrogates are VALIDATION_FAILED and change nothing', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'inputs-host');
    const item = await http.addItem(roomId, { title: 'ok', price: 100, stock: 10, perUserLimit: 5, ...openWindow() });
    const before = await http.snapshot(roomId);
    const v = before.version;
    const now = Date.now();
    const good = { title: 'x', price: 100, stock: 10, perUserLimit: 5, startsAt: now, endsAt: now + 60_000 };
    const group = { command: 'openGroup', idempotencyKey: 'g', baseVersion: v, title: 'g', basePrice: 100, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 50 }] };
    const cases: [string, string, string, unknown][] = [
      ['addItem startsAt 8.7e15', 'POST', `/rooms/${roomId}/commands`, { command: 'addItem', idempotencyKey: 'k1', baseVersion: v, ...good, startsAt: 8.7e15, endsAt: 8.8e15 }],
      ['addItem endsAt 2^53-1', 'POST', `/rooms/${roomId}/commands`, { command: 'addItem', idempotencyKey: 'k2', baseVersion: v, ...good, endsAt: 2 ** 53 - 1 }],
      ['openGroup endsAt 2^53-1', 'POST', `/rooms/${roomId}/commands`, { ...group, endsAt: 2 ** 53 - 1 }],
      ['openGroup endsAt 8.7e15', 'POST', `/rooms/${roomId}/commands`, { ...group, endsAt: 8.7e15 }],
      ['POST items startsAt 8.7e15', 'POST', `/rooms/${roomId}/items`, { ...good, startsAt: 8.7e15, endsAt: 8.8e15 }],
      ['POST items endsAt 2^53-1', 'POST', `/rooms/${roomId}/items`, { ...good, endsAt: 2 ** 53 - 1 }],
      ['setPrice at 2^53-1', 'POST', `/rooms/${roomId}/commands`, { command: 'setPrice', idempotencyKey: 'k3', baseVersion: v, itemId: item.id, price: 50, at: 2 ** 53 - 1 }],
      ['openSale endsAt 8.7e15', 'POST', `/rooms/${roomId}/commands`, { command: 'openSale', idempotencyKey: 'k4', baseVersion: v, itemId: item.id, endsAt: 8.7e15 }],
      ['item title NUL', 'POST', `/rooms/${roomId}/items`, { ...good, title: nul }],
      ['addItem title lone surrogate', 'POST', `/rooms/${roomId}/commands`, { command: 'addItem', idempotencyKey: 'k5', baseVersion: v, ...good, title: lone }],
      ['group title NUL', 'POST', `/rooms/${roomId}/commands`, { ...group, endsAt: now + 60_000, title: nul }],
      ['announce NUL', 'POST', `/rooms/${roomId}/commands`, { command: 'announce', idempotencyKey: 'k6', baseVersion: v, text: nul }],
      ['announce lone low surrogate', 'POST', `/rooms/${roomId}/commands`, { command: 'announce', idempotencyKey: 'k7', baseVersion: v, text: 'x\udc00' }],
      ['room title NUL', 'POST', '/rooms', { title: nul }],
      ['room title lone surrogate', 'POST', '/rooms', { title: lone }],
      ['show title NUL', 'POST', '/shows', { roomId, title: nul, plannedStart: now, plannedEnd: now + 60_000 }],
      ['show run sheet title NUL', 'POST', '/shows', { roomId, title: 's', plannedStart: now, plannedEnd: now + 60_000, runSheet: [{ role: 'main', title: nul }] }],
      ['show plannedEnd 2^53-1', 'POST', '/shows', { roomId, title: 's', plannedStart: now, plannedEnd: 2 ** 53 - 1 }],
    ];
    const rooms = await sys.db.selectFrom('rooms').select(sys.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    for (const [name, method, path, body] of cases) {
      const r = await http.request(method, path, body);
      expect(r.status, name).toBe(400);
      expect(r.body.error.code, name).toBe('VALIDATION_FAILED');
    }
    const after = await http.snapshot(roomId);
    expect(after.version).toBe(v);
    expect(after.offset).toBe(before.offset);
    expect(Object.keys(after.room.items)).toEqual(Object.keys(before.room.items));
    expect(after.room.announcements ?? []).toEqual(before.room.announcements ?? []);
    const roomsAfter = await sys.db.selectFrom('rooms').select(sys.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(roomsAfter.n).toBe(rooms.n);
    expect(await sys.db.selectFrom('shows').select('id').where('room_id', '=', roomId).execute()).toEqual([]);
  });

  it('the largest valid time is accepted', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'inputs-host-2');
    const item = await http.addItem(roomId, { title: 'far', price: 100, stock: 1, perUserLimit: 1, startsAt: Date.now(), endsAt: Date.UTC(2100, 0, 1) });
    expect(item.endsAt).toBe(Date.UTC(2100, 0, 1));
  });

  it('malformed percent-encoding in any path is 400 BAD_REQUEST', async () => {
    const { token } = await hostWithRoom(sys, 'inputs-host-3');
    for (const path of ['/web/%', '/web/%E0%A4%A', '/vendor/zod/%.js', '/rooms/%E0%A4%A', '/rooms/%/show', '/shows/%ZZ', '/rooms/%E0%A4%A/items/1/buy', '/nowhere/%']) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(`${sys.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        const body = (await res.json()) as { error: { code: string } };
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(body.error.code, `${method} ${path}`).toBe('BAD_REQUEST');
      }
    }
  });
});
