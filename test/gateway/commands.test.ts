import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, HttpClient, RoomSocket } from '../../web/client.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { NodeWebSocket, hostWithRoom, openWindow } from './support.ts';

let sys: System;
let nodeB: Gateway;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
  nodeB = await startGateway({ config: { ...sys.config, nodeId: `${sys.config.nodeId}-b` }, log: sys.log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
});
afterAll(async () => {
  await nodeB?.close({ drainMs: 500 });
  await sys?.stop();
});

async function roomState(roomId: string) {
  const k = sys.keys.room(roomId);
  return { room: await sys.redis.hgetall(k.room), log: await sys.redis.xlen(k.log) };
}

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

describe('host commands', () => {
  it('the same idempotency key returns the first answer and applies once (over HTTP and WebSocket)', async () => {
    const { http, token, roomId } = await hostWithRoom(sys, 'idem-host');
    const v = await http.version(roomId);
    const first = await http.command(roomId, { command: 'announce', text: 'hello' }, { idempotencyKey: 'a-1', baseVersion: v });
    expect(first).toMatchObject({ command: 'announce', roomId, version: v + 1, duplicate: false });
    const after = await roomState(roomId);
    // A retry (even based on a version that is stale by now) gets the first answer.
    const again = await http.command(roomId, { command: 'announce', text: 'hello' }, { idempotencyKey: 'a-1', baseVersion: v });
    expect(again).toEqual({ ...first, duplicate: true });
    const sock = await sys.connect(roomId, token);
    const viaWs = await sock.command({ command: 'announce', text: 'hello' }, { idempotencyKey: 'a-1', baseVersion: v });
    expect(viaWs).toEqual({ ...first, duplicate: true });
    expect(await roomState(roomId)).toEqual(after);
    expect((await sys.http().snapshot(roomId)).room.announcements!.map((a) => a.text)).toEqual(['hello']);
    sock.close();
  });

  it('a command based on a stale version is refused with CONFLICT and the current version, and changes nothing', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'stale-host');
    const v = await http.version(roomId);
    await http.command(roomId, { command: 'announce', text: 'first' }, { baseVersion: v });
    const before = await roomState(roomId);
    const e = await refusal(http.command(roomId, { command: 'announce', text: 'second' }, { baseVersion: v }));
    expect(e.code).toBe('CONFLICT');
    expect(e.status).toBe(409);
    expect(e.details).toEqual({ version: v + 1 });
    expect(await roomState(roomId)).toEqual(before);
  });

  it('of many commands based on the same version, sent at once through two nodes, exactly one applies', async () => {
    const { http, token, roomId } = await hostWithRoom(sys, 'race-host');
    const onB = new HttpClient(`http://127.0.0.1:${nodeB.port}`, token);
    const v = await http.version(roomId);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? onB : http).command(roomId, { command: 'announce', text: `n${i}` }, { idempotencyKey: `race-${i}`, baseVersion: v })),
    );
    const applied = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ApiError] : []));
    expect(applied).toHaveLength(1);
    expect(refused.map((e) => e.code)).toEqual(Array(19).fill('CONFLICT'));
    const snap = await sys.http().snapshot(roomId);
    expect(snap.version).toBe(v + 1);
    expect(snap.room.announcements).toHaveLength(1);
  });

  it('list, delist, reorder and on-air check their arguments with typed errors and change nothing when refused', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'args-host');
    const a = await http.addItem(roomId, { title: 'A', price: 100, stock: 10, perUserLimit: 1, ...openWindow() });
    const b = await http.addItem(roomId, { title: 'B', price: 100, stock: 10, perUserLimit: 1, ...openWindow() });
    await http.putOnAir(roomId, a.id);
    const before = await roomState(roomId);
    const cases: [Parameters<typeof http.command>[1], string][] = [
      [{ command: 'onAir', itemId: '999999' }, 'ITEM_NOT_FOUND'],
      [{ command: 'list', itemId: a.id }, 'INVALID_ARGUMENT'],
      [{ command: 'delist', itemId: a.id }, 'INVALID_ARGUMENT'],
      [{ command: 'delist', itemId: '999999' }, 'ITEM_NOT_FOUND'],
      [{ command: 'reorder', listing: [a.id] }, 'INVALID_ARGUMENT'],
      [{ command: 'reorder', listing: [a.id, a.id] }, 'INVALID_ARGUMENT'],
    ];
    for (const [cmd, code] of cases) expect((await refusal(http.command(roomId, cmd))).code, JSON.stringify(cmd)).toBe(code);
    const invalid = await http.request('POST', `/rooms/${roomId}/commands`, { command: 'announce', text: 'no envelope' });
    expect(invalid.body.error.code).toBe('VALIDATION_FAILED');
    const unknown = await http.request('POST', `/rooms/${roomId}/commands`, { command: 'teleport', idempotencyKey: 'k', baseVersion: 1 });
    expect(unknown.body.error.code).toBe('VALIDATION_FAILED');
    expect(await roomState(roomId)).toEqual(before);
    await http.command(roomId, { command: 'delist', itemId: b.id });
    await http.command(roomId, { command: 'list', itemId: b.id, position: 0 });
    expect((await sys.http().snapshot(roomId)).room.listing).toEqual([b.id, a.id]);
  });

  it('pin and unpin an announcement: viewers see the pinned one after newer ones; an unknown one is refused and changes nothing', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'pin-host');
    await http.command(roomId, { command: 'announce', text: 'first: free shipping tonight' });
    const first = (await sys.http().snapshot(roomId)).room.announcements!.at(-1)!;
    await http.command(roomId, { command: 'pin', announcementId: first.id });
    await http.command(roomId, { command: 'announce', text: 'second: next item at 9' });
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'pin-viewer'));
    try {
      expect(shopper.view?.doc.pinned).toEqual(first);
      expect(shopper.view?.doc.announcements?.at(-1)?.text).toBe('second: next item at 9');
      const before = await roomState(roomId);
      expect((await refusal(http.command(roomId, { command: 'pin', announcementId: 'no-such-announcement' }))).code).toBe('INVALID_ARGUMENT');
      expect(await roomState(roomId)).toEqual(before);
      await http.command(roomId, { command: 'pin', announcementId: null });
      await waitFor('the pin removed on the socket', () => shopper.view?.doc.pinned === null);
      expect((await sys.http().snapshot(roomId)).room.pinned).toBeNull();
    } finally {
      shopper.close();
    }
  });

  it('applied and repeated commands land in the audit log with their envelope and outcome; a refused one is counted', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'audit-host');
    const v = await http.version(roomId);
    await http.command(roomId, { command: 'announce', text: 'audited' }, { idempotencyKey: 'au-1', baseVersion: v });
    await http.command(roomId, { command: 'announce', text: 'audited' }, { idempotencyKey: 'au-1', baseVersion: v });
    await refusal(http.command(roomId, { command: 'announce', text: 'late' }, { idempotencyKey: 'au-2', baseVersion: v }));
    const entries = await waitFor('both rows', async () => {
      const e = await http.audit(roomId);
      return e.length >= 2 ? e : undefined;
    });
    expect(entries.map((e) => [e.command, e.idempotencyKey, e.baseVersion, e.outcome, e.version ?? null, e.offset ?? null])).toEqual([
      ['announce', 'au-1', v, 'duplicate', v + 1, v],
      ['announce', 'au-1', v, 'applied', v + 1, v],
    ]);
    expect(entries[1]).toMatchObject({ actor: 'audit-host', role: 'host', via: 'http', payload: { text: 'audited' } });
    const log = await http.auditLog(roomId);
    expect(log.refusals).toEqual([{ actor: 'audit-host', role: 'host', command: 'announce', errorCode: 'CONFLICT', count: 1 }]);
  });

  it('a host command reaches subscribers on every node', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'fan-host');
    const token = await sys.token('shopper', 'fan-s');
    const onA = await sys.connect(roomId, token);
    const onB = await RoomSocket.connect({ baseUrl: `http://127.0.0.1:${nodeB.port}`, roomId, token, WebSocket: NodeWebSocket });
    await http.command(roomId, { command: 'announce', text: 'everyone' });
    for (const s of [onA, onB]) await s.until((v) => v.doc.announcements?.[0]?.text === 'everyone');
    onA.close();
    onB.close();
  });
});
