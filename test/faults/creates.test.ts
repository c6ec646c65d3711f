import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../common/platform/config.ts';
import { ApiError, HttpClient } from '../../web/client.ts';
import { startGatewayProcess, type GatewayProcess } from '../e2e/gateway-process.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The creates (POST /rooms, addItem, openGroup) apply once when the gateway dies between any two
 * of their steps. For each create and each fault point: a gateway process with FAULT_POINT set
 * kills itself (SIGKILL) at that step of the create; the client retries with the same
 * idempotency key on a gateway process without the point; afterwards there is exactly one
 * room or item, in Postgres, in Redis and in the room document, and the answer names it.
 */

let sys: System;
/** The restarted gateway: the same namespace, no fault point. */
let healthy: GatewayProcess;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
  healthy = await startGatewayProcess(sys.config, 'creates-healthy', { LIVESALE_ENV: 'development' });
}, 60_000);

afterAll(async () => {
  await healthy?.kill();
  await sys?.stop();
});

/** Sends the create to a gateway that dies at `point`; resolves once the process died by its own SIGKILL. */
async function crashAt(point: FaultPoint, send: (node: HttpClient) => Promise<unknown>, token: string): Promise<void> {
  const faulty = await startGatewayProcess(sys.config, `creates-${point}`, { LIVESALE_ENV: 'development', FAULT_POINT: point });
  try {
    const outcome = await send(new HttpClient(faulty.baseUrl, token)).then(
      () => 'answered',
      (err: unknown) => (err instanceof ApiError ? `refused ${err.code}` : 'no answer'),
    );
    expect(outcome, `the create at ${point}`).toBe('no answer');
    await waitFor(`the process to die at ${point}`, () => faulty.proc.exitCode !== null || faulty.proc.signalCode !== null, 20_000, 20);
    expect(faulty.proc.signalCode).toBe('SIGKILL');
  } finally {
    await faulty.kill();
  }
}

/**
 * The retry, as a client does it: the same request with the same key until it is answered. The
 * dead process held the room's command lock, so for up to its lifetime the room answers CONFLICT
 * (retriable: nothing ran).
 */
async function retry<T>(send: () => Promise<T>): Promise<T> {
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONFLICT' && /in progress/.test(err.message)) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Exactly one item in the room, in Postgres (catalog and key), in Redis and in the room document. */
async function expectOneItem(roomId: string, itemId: string, kind: 'flash' | 'group', stock: number) {
  const rows = await sys.db.selectFrom('campaign_items').select(['id', 'kind', 'total_stock']).where('room_id', '=', roomId).execute();
  expect(rows).toEqual([{ id: itemId, kind, total_stock: stock }]);
  const keys = await sys.db.selectFrom('create_keys').select(['op', 'created_id']).where('room_id', '=', roomId).execute();
  expect(keys).toEqual([{ op: kind === 'flash' ? 'addItem' : 'openGroup', created_id: itemId }]);
  const inRedis = await sys.redis.hmget(sys.keys.item(itemId).item, 'id', 'room', 'kind', 'total', 'avail');
  expect(inRedis).toEqual([itemId, roomId, kind, String(stock), String(stock)]);
  // The item's inventory was created once: its outbox ever took one entry, the item.created
  // (entries-added counts those the relay has since moved to Kafka and deleted too).
  const info = (await sys.redis.call('XINFO', 'STREAM', sys.keys.item(itemId).outbox)) as unknown[];
  expect(Number(info[info.indexOf('entries-added') + 1])).toBe(1);
  const snap = await sys.http().snapshot(roomId);
  expect(Object.keys(snap.room.items)).toEqual([itemId]);
  expect(snap.room.listing).toEqual([itemId]);
  expect(snap.stock[itemId]?.available).toBe(stock);
}

const itemPoints = ['catalog', 'inventory', 'room'] as const;

/** Where a dead create stopped: its catalog rows, those with inventory in Redis, the items in the room document. */
async function leftBehind(roomId: string) {
  const rows = await sys.db.selectFrom('campaign_items').select('id').where('room_id', '=', roomId).execute();
  let inRedis = 0;
  for (const r of rows) inRedis += await sys.redis.exists(sys.keys.item(r.id).item);
  const doc = JSON.parse((await sys.redis.hget(sys.keys.room(roomId).room, 'doc'))!) as { items: Record<string, unknown> };
  return { catalog: rows.length, inRedis, inRoom: Object.keys(doc.items).length };
}
const stoppedAt = { catalog: { catalog: 1, inRedis: 0, inRoom: 0 }, inventory: { catalog: 1, inRedis: 1, inRoom: 0 }, room: { catalog: 1, inRedis: 1, inRoom: 1 } };

describe.concurrent('a create applies once when the gateway dies between its steps', () => {
  for (const step of itemPoints) {
    it(`addItem, killed after the ${step} step, retried with the same key`, async () => {
      const token = await sys.token('host', `crash-add-${step}`);
      const roomId = (await sys.http(token).createRoom(`add ${step}`)).id;
      const now = Date.now();
      const spec = { title: 'Lychee', price: 2000, stock: 40, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 3_600_000 };
      const opts = { idempotencyKey: `add-${step}`, baseVersion: 1 };
      await crashAt(`addItem.${step}`, (node) => node.addItem(roomId, spec, opts), token);
      expect(await leftBehind(roomId)).toEqual(stoppedAt[step]);

      const item = await retry(() => new HttpClient(healthy.baseUrl, token).addItem(roomId, spec, opts));
      expect(item).toMatchObject({ kind: 'flash', title: 'Lychee', price: 2000, total: 40 });
      await expectOneItem(roomId, item.id, 'flash', 40);
      // Again: the same answer, nothing new; with other parameters the key is refused.
      expect(await new HttpClient(healthy.baseUrl, token).addItem(roomId, spec, opts)).toEqual(item);
      await expect(new HttpClient(healthy.baseUrl, token).addItem(roomId, { ...spec, stock: 41 }, opts)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      await expectOneItem(roomId, item.id, 'flash', 40);
    }, 120_000);

    it(`openGroup, killed after the ${step} step, retried with the same key`, async () => {
      const token = await sys.token('host', `crash-group-${step}`);
      const roomId = (await sys.http(token).createRoom(`group ${step}`)).id;
      const cmd = { command: 'openGroup' as const, title: 'Cherries', basePrice: 4900, stock: 30, perUserLimit: 2, tiers: [{ threshold: 3, price: 3900 }], endsAt: Date.now() + 3_600_000 };
      const opts = { idempotencyKey: `group-${step}`, baseVersion: 1 };
      await crashAt(`openGroup.${step}`, (node) => node.command(roomId, cmd, opts), token);
      expect(await leftBehind(roomId)).toEqual(stoppedAt[step]);

      const r = await retry(() => new HttpClient(healthy.baseUrl, token).command(roomId, cmd, opts));
      const item = (r.data as { item: { id: string; kind: string; total: number } }).item;
      expect(item).toMatchObject({ kind: 'group', total: 30 });
      expect(r.version).toBe(2);
      // Killed after the room append: the retry is a repeat of the command that was applied.
      expect(r.duplicate).toBe(step === 'room');
      await expectOneItem(roomId, item.id, 'group', 30);
      const again = await new HttpClient(healthy.baseUrl, token).command(roomId, cmd, opts);
      expect(again).toMatchObject({ duplicate: true, version: 2, data: { item: { id: item.id } } });
      await expectOneItem(roomId, item.id, 'group', 30);
    }, 120_000);
  }

  for (const step of ['catalog', 'room'] as const) {
    it(`POST /rooms, killed after the ${step} step, retried with the same key`, async () => {
      const host = `crash-room-${step}`;
      const token = await sys.token('host', host);
      await crashAt(`createRoom.${step}`, (node) => node.createRoom('Night market', { idempotencyKey: `room-${step}` }), token);
      const made = await sys.db.selectFrom('rooms').select(['id']).where('host_id', '=', host).execute();
      expect(made).toHaveLength(1);
      expect(await sys.redis.exists(sys.keys.room(made[0]!.id).room)).toBe(step === 'room' ? 1 : 0);

      const res = await retry(() => new HttpClient(healthy.baseUrl, token).request('POST', '/rooms', { title: 'Night market', idempotencyKey: `room-${step}` }));
      expect(res.status).toBe(200); // the first try made it: a repeat
      const room = (res.body as { room: { id: string; title: string; hostId: string }; duplicate: boolean }).room;
      expect(room).toMatchObject({ title: 'Night market', hostId: host });
      expect(res.body).toMatchObject({ version: 1, duplicate: true });
      const rows = await sys.db.selectFrom('rooms').select(['id']).where('host_id', '=', host).execute();
      expect(rows).toEqual([{ id: room.id }]);
      const doc = await sys.redis.hget(sys.keys.room(room.id).room, 'doc');
      expect(JSON.parse(doc!)).toMatchObject({ id: room.id, title: 'Night market', hostId: host, items: {} });
      expect((await sys.http().snapshot(room.id)).room.id).toBe(room.id);
      // The same key with another title is another request.
      const other = await new HttpClient(healthy.baseUrl, token).request('POST', '/rooms', { title: 'Day market', idempotencyKey: `room-${step}` });
      expect({ status: other.status, code: (other.body as { error: { code: string } }).error.code }).toEqual({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await sys.db.selectFrom('rooms').select(['id']).where('host_id', '=', host).execute()).toHaveLength(1);
    }, 120_000);
  }

  it('POST /rooms with a key, no fault: 201 first, 200 with the same room after; without a key, a room each time', async () => {
    const host = 'rooms-keyed';
    const http = new HttpClient(healthy.baseUrl, await sys.token('host', host));
    const first = await http.request('POST', '/rooms', { title: 'Keyed' }, { 'idempotency-key': 'once' });
    expect(first).toMatchObject({ status: 201, body: { version: 1, duplicate: false } });
    const again = await http.request('POST', '/rooms', { title: 'Keyed', idempotencyKey: 'once' });
    expect(again).toMatchObject({ status: 200, body: { room: { id: first.body.room.id }, duplicate: true } });
    await http.createRoom('Unkeyed');
    await http.createRoom('Unkeyed');
    expect(await sys.db.selectFrom('rooms').select('id').where('host_id', '=', host).execute()).toHaveLength(3);

    // A new group must end in the future: refused before any row is made.
    const roomId = first.body.room.id as string;
    const late = { command: 'openGroup' as const, title: 'Late', basePrice: 100, stock: 1, perUserLimit: 1, tiers: [{ threshold: 2, price: 90 }], endsAt: Date.now() - 1000 };
    await expect(http.command(roomId, late, { idempotencyKey: 'late', baseVersion: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await sys.db.selectFrom('campaign_items').select('id').where('room_id', '=', roomId).execute()).toEqual([]);
    expect(await sys.db.selectFrom('create_keys').select('created_id').where('room_id', '=', roomId).execute()).toEqual([]);
  });
});
