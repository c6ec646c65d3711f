import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorFrame, ServerFrame } from '../../common/contracts/protocol.ts';
import type { RoomSocket } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

let sys: System;
let roomId: string;
let itemId: string;

beforeAll(async () => {
  sys = await startSystem({ maxPayloadBytes: 4096 });
  const host = sys.http(await sys.token('host', 'h'));
  const room = await host.createRoom('bad input');
  roomId = room.id;
  const now = Date.now();
  itemId = (await host.addItem(roomId, { title: 'x', price: 100, stock: 1000, perUserLimit: 1000, startsAt: now - 1000, endsAt: now + 600_000 })).id;
});
afterAll(async () => {
  await sys?.stop();
});

/** Sends a raw frame and resolves with the next error frame. */
function nextError(s: RoomSocket, send: () => void): Promise<ErrorFrame> {
  return new Promise((resolve) => {
    const off = s.onFrame((f: ServerFrame) => {
      if (f.type === 'error') {
        off();
        resolve(f);
      }
    });
    send();
  });
}

describe('bad WebSocket input', () => {
  it('each malformed message gets a typed error, and the connection keeps working', async () => {
    const s = await sys.connect(roomId, await sys.token('shopper', 'fuzzy'));
    const cases: [string, string, string][] = [
      ['invalid JSON', '{"type": "buy", ', 'INVALID_JSON'],
      ['not an object', '[1,2,3]', 'VALIDATION_FAILED'],
      ['no type', '{"itemId": "1"}', 'VALIDATION_FAILED'],
      ['unknown type', '{"type": "teleport"}', 'UNKNOWN_TYPE'],
      ['missing fields', '{"type": "buy", "itemId": "1"}', 'VALIDATION_FAILED'],
      ['wrong field types', '{"type": "buy", "itemId": "1", "qty": "2", "idempotencyKey": "k"}', 'VALIDATION_FAILED'],
      ['quantity 0', `{"type": "buy", "itemId": "1", "qty": 0, "idempotencyKey": "k"}`, 'VALIDATION_FAILED'],
      ['extra fields', '{"type": "ping", "evil": true}', 'VALIDATION_FAILED'],
    ];
    for (const [name, raw, code] of cases) {
      const e = await nextError(s, () => s.sendRaw(raw));
      expect(e.code, name).toBe(code);
      expect(e.message.length, name).toBeGreaterThan(0);
    }
    // The connection still works, and nothing was bought.
    expect((await s.request({ type: 'ping' })).type).toBe('pong');
    expect(await sys.redis.hget(sys.keys.item(itemId).item, 'avail')).toBe('1000');
  });

  it('a buy for an item of another room is refused with a typed error', async () => {
    const s = await sys.connect(roomId, await sys.token('shopper', 'stranger'));
    const f = await s.request({ type: 'buy', itemId: '999999', qty: 1, idempotencyKey: 'k' });
    expect(f).toMatchObject({ type: 'error', code: 'ITEM_NOT_FOUND' });
  });

  it('an oversized frame closes that connection with a reason; everyone else keeps being served', async () => {
    const bystander = await sys.connect(roomId, await sys.token('shopper', 'bystander'));
    const big = await sys.connect(roomId, await sys.token('shopper', 'big'));
    big.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(10_000) }));
    const closed = await waitFor('the oversized sender to be closed', () => big.closed);
    expect(closed.code).toBe(1009);
    expect(closed.reason.length).toBeGreaterThan(0);
    expect((await bystander.request({ type: 'ping' })).type).toBe('pong');
    const r = await bystander.buy(itemId, 1, 'b1');
    expect(r.outcome).toBe('held');
    await bystander.until((v) => v.stock[itemId]!.available === 999);
  });

  it('a binary frame gets a typed error', async () => {
    const s = await sys.connect(roomId, await sys.token('shopper', 'binary'));
    const e = await nextError(s, () => (s as unknown as { sendRaw(d: unknown): void }).sendRaw(new Uint8Array([1, 2, 3])));
    expect(e.code).toBe('BAD_REQUEST');
  });

  it('a connection without a valid token is refused at upgrade', async () => {
    await expect(sys.connect(roomId, 'not-a-token')).rejects.toThrow();
    await expect(sys.connect('424242', await sys.token('shopper', 'x'))).rejects.toThrow();
  });
});

describe('bad HTTP input', () => {
  it('gets typed errors and changes nothing', async () => {
    const shopper = sys.http(await sys.token('shopper', 'http-user'));
    const before = await sys.redis.hget(sys.keys.item(itemId).item, 'avail');
    const invalid = await shopper.request('POST', `/rooms/${roomId}/items/${itemId}/buy`, '{"qty":');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('INVALID_JSON');
    const missing = await shopper.request('POST', `/rooms/${roomId}/items/${itemId}/buy`, { qty: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('VALIDATION_FAILED');
    expect(missing.body.error.message).toMatch(/idempotencyKey/);
    const huge = await shopper.request('POST', `/rooms/${roomId}/items/${itemId}/buy`, { qty: 1, idempotencyKey: 'k', pad: 'x'.repeat(8000) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const anon = await sys.http().request('POST', `/rooms/${roomId}/items/${itemId}/buy`, { qty: 1, idempotencyKey: 'k' });
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('UNAUTHENTICATED');
    const asHost = await sys.http(await sys.token('host', 'h')).request('POST', `/rooms/${roomId}/items/${itemId}/buy`, { qty: 1, idempotencyKey: 'k' });
    expect(asHost.status).toBe(403);
    const nowhere = await shopper.request('GET', '/no/such/thing');
    expect(nowhere.status).toBe(404);
    expect(await sys.redis.hget(sys.keys.item(itemId).item, 'avail')).toBe(before);
  });
});
