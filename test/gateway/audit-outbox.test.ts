import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../common/platform/postgres.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { auditGroup } from '../../common/contracts/keys.ts';
import { AuditDrainer } from '../../gateway/audit.ts';
import { refusalFieldCap } from '../../gateway/room-store.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { HttpClient } from '../../web/client.ts';
import { startGatewayProcess } from '../e2e/gateway-process.ts';
import { hostWithRoom } from './support.ts';

let sys: System;
const drainers: AuditDrainer[] = [];

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 100_000, wsMessageRate: 100_000, userMessageRate: 100_000 });
});
afterAll(async () => {
  for (const d of drainers) await d.stop();
  await sys?.stop();
});

function drainer(consumer: string, opts: Partial<ConstructorParameters<typeof AuditDrainer>[0]> = {}): AuditDrainer {
  const d = new AuditDrainer({ redis: sys.redis, keys: sys.keys, db: sys.db, log: sys.log, consumer, idleMs: 20, claimIdleMs: 300, ...opts });
  drainers.push(d);
  return d;
}

/** Keys matching `pattern` (SCAN: the Redis is shared, KEYS would block it). */
async function scanKeys(pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await sys.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

const rowsOf = (roomId: string) => sys.db.selectFrom('host_commands').selectAll().where('room_id', '=', roomId).orderBy('id').execute();

/**
 * Runs `n` announce commands one after another, each on the room's version (read from Redis:
 * a node's view of the room may lag a moment behind the command it just answered).
 */
async function announce(http: HttpClient, roomId: string, n: number, tag: string): Promise<string[]> {
  let v = Number(await sys.redis.hget(sys.keys.room(roomId).room, 'version'));
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${tag}-${i}`;
    const r = await http.command(roomId, { command: 'announce', text: `${tag} ${i}` }, { idempotencyKey: key, baseVersion: v });
    v = r.version;
    keys.push(key);
  }
  return keys;
}

/** Stops the gateway's own drainer for the length of `fn`, so that nothing but the test's drainers moves the records. */
async function withoutGatewayDrainer<T>(fn: () => Promise<T>): Promise<T> {
  const own = sys.gateway.context.auditDrainer!;
  await own.stop();
  try {
    return await fn();
  } finally {
    own.start();
  }
}

describe('the audit outbox', () => {
  it('commands applied while the drainer cannot reach Postgres, or dies between insert and acknowledgement, all arrive exactly once', async () => {
    await withoutGatewayDrainer(async () => {
      const { http, roomId } = await hostWithRoom(sys, 'outbox-host');
      const k = sys.keys.room(roomId);
      // A drainer whose Postgres is unreachable: its round fails and acknowledges nothing.
      const unreachable = createDb<Database>({ url: 'postgres://postgres@127.0.0.1:1/livesale', schema: sys.config.databaseSchema, max: 1 });
      const cut = drainer('cut-off', { db: unreachable });
      const first = await announce(http, roomId, 10, 'a');
      // A repeat of an applied command: a duplicate row, from the script that answered it.
      const again = await http.command(roomId, { command: 'announce', text: 'a 0' }, { idempotencyKey: 'a-0', baseVersion: 1 });
      expect(again.duplicate).toBe(true);
      await expect(cut.drainOnce()).rejects.toThrow();
      await unreachable.destroy();
      expect(await rowsOf(roomId)).toEqual([]);
      expect(await sys.redis.xlen(k.audit)).toBe(11);
      const pending = (await sys.redis.xpending(k.audit, auditGroup)) as [number, ...unknown[]];
      expect(pending[0]).toBe(11);

      // A drainer that dies after its insert committed, before it acknowledged: its Redis goes away then.
      const conn = sys.redis.duplicate();
      const dies: KyselyPlugin = {
        transformQuery: (a) => a.node,
        transformResult: async (a) => {
          conn.disconnect();
          return a.result;
        },
      };
      const second = await announce(http, roomId, 5, 'b');
      const half = drainer('dies', { redis: conn, db: sys.db.withPlugin(dies), claimIdleMs: 60_000 });
      await expect(half.drainOnce()).rejects.toThrow();
      const written = await rowsOf(roomId);
      expect(written.length).toBe(5);

      // A drainer restarted (another node): it takes over what the others left pending.
      const restarted = drainer('restarted');
      restarted.start();
      await waitFor('every record in Postgres and the stream empty', async () => (await sys.redis.xlen(k.audit)) === 0 && (await rowsOf(roomId)).length >= 16, 30_000);
      await restarted.stop();
      const rows = await rowsOf(roomId);
      expect(rows.length).toBe(16);
      expect(new Set(rows.map((r) => r.record_key)).size).toBe(16);
      const applied = rows.filter((r) => r.outcome === 'applied').map((r) => r.idempotency_key);
      expect(applied.sort()).toEqual([...first, ...second].sort());
      expect(rows.filter((r) => r.outcome === 'duplicate').map((r) => [r.idempotency_key, r.version])).toEqual([['a-0', 2]]);
      expect(rows.every((r) => r.actor === 'outbox-host' && r.role === 'host' && r.via === 'http' && r.node === sys.config.nodeId)).toBe(true);
      const pendingAfter = (await sys.redis.xpending(k.audit, auditGroup)) as [number, ...unknown[]];
      expect(pendingAfter[0]).toBe(0);
    });
  });

  it('a gateway process without Postgres applies commands, is killed -9, and another node writes every row exactly once', async () => {
    const { token, roomId } = await hostWithRoom(sys, 'killed-host');
    const k = sys.keys.room(roomId);
    const keys = await withoutGatewayDrainer(async () => {
      const gw = await startGatewayProcess(sys.config, `${sys.config.nodeId}-nopg`, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/livesale' });
      try {
        const done = await announce(new HttpClient(gw.baseUrl, token), roomId, 8, 'k');
        // Its drainer has read the records and cannot write them: they are pending on it.
        await waitFor('the records pending on the killed node', async () => ((await sys.redis.xpending(k.audit, auditGroup)) as [number])[0] === 8);
        return done;
      } finally {
        await gw.kill();
      }
    });
    expect(await rowsOf(roomId)).toEqual([]);
    // The gateway's own drainer is back: it takes the dead node's records over once they are idle.
    const rows = await waitFor('the rows of the killed node', async () => {
      const r = await rowsOf(roomId);
      return r.length >= 8 && (await sys.redis.xlen(k.audit)) === 0 ? r : undefined;
    }, 60_000, 200);
    expect(rows.map((r) => r.idempotency_key).sort()).toEqual([...keys].sort());
    expect(rows.every((r) => r.outcome === 'applied' && r.node === `${sys.config.nodeId}-nopg`)).toBe(true);
  }, 180_000);

  it('a record Postgres refuses goes to the dead-letter stream with its error and takes no other record with it', async () => {
    await withoutGatewayDrainer(async () => {
      const { http, roomId } = await hostWithRoom(sys, 'dlq-host');
      const k = sys.keys.room(roomId);
      const good = await announce(http, roomId, 3, 'g');
      const base = { roomId, actor: 'dlq-host', role: 'host', command: 'announce', via: 'http', node: 'elsewhere', durationMs: 1, at: Date.now() };
      // Records the gateway would never write, as an older or foreign writer might: an integer
      // Postgres cannot hold, a record that is not JSON, and NUL characters (sanitized, kept).
      await sys.redis.xadd(k.audit, '*', 'r', JSON.stringify({ ...base, idempotencyKey: 'huge', baseVersion: 1e12, payload: {} }), 'o', 'applied', 'v', '2', 'f', '2');
      await sys.redis.xadd(k.audit, '*', 'r', '{"not json', 'o', 'applied', 'v', '2', 'f', '2');
      await sys.redis.xadd(k.audit, '*', 'r', JSON.stringify({ ...base, idempotencyKey: 'nul\u0000key', baseVersion: 1, payload: { text: 'a\u0000b', '\u0000': 1 } }), 'o', 'applied', 'v', '2', 'f', '2');
      good.push(...(await announce(http, roomId, 2, 'h')));
      const deadBefore = await sys.redis.xlen(sys.keys.auditDeadLetter);
      const d = drainer('dlq');
      while ((await sys.redis.xlen(k.audit)) > 0) await d.drainOnce();
      const rows = await rowsOf(roomId);
      expect(rows.map((r) => r.idempotency_key)).toEqual([...good.slice(0, 3), 'nul\uFFFDkey', ...good.slice(3)]);
      expect(rows[3]!.payload).toEqual({ text: 'a\uFFFDb', '\uFFFD': 1 });
      expect(d.deadLettered).toBe(2);
      const dead = (await sys.redis.xrange(sys.keys.auditDeadLetter, '-', '+')).slice(deadBefore).map(([, f]) => Object.fromEntries(f.flatMap((x, i) => (i % 2 ? [] : [[x, f[i + 1]]]))));
      expect(dead.map((e) => e.stream)).toEqual([k.audit, k.audit]);
      const huge = dead.find((e) => e.r!.includes('"huge"'));
      expect(huge!.error).toMatch(/^22003 /);
      expect(JSON.parse(huge!.r!)).toMatchObject({ idempotencyKey: 'huge', baseVersion: 1e12 });
      expect(dead.find((e) => e.r === '{"not json')!.error).toMatch(/unreadable record/);
    });
  });
});

describe('refused host commands', () => {
  it('10,000 refused commands from one shopper token make one counter, not rows or keys, and the host\'s commands in between all have their rows', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'busy-room-host');
    const k = sys.keys.room(roomId);
    const tag = `${sys.config.keyPrefix}{r:${roomId}}`;
    // The room's keys but the viewer counts (the flooding shopper is a viewer too).
    const roomKeys = async () => (await scanKeys(`${tag}*`)).filter((key) => key !== k.online && key !== k.peak).sort();
    await announce(http, roomId, 1, 'warm-up');
    await waitFor('the warm-up row', async () => (await rowsOf(roomId)).length === 1);
    const keysBefore = await roomKeys();
    const shopper = await sys.connect(roomId, await sys.token('shopper', 'flooder'));
    const hostKeys: string[] = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1000; i++) shopper.sendRaw(JSON.stringify({ type: 'command', command: 'announce', text: 'spam', idempotencyKey: `s-${round}-${i}`, baseVersion: 1 }));
      hostKeys.push(...(await announce(http, roomId, 2, `host-${round}`)));
    }
    const counted = await waitFor(
      'the 10,000 refusals counted',
      async () => {
        const n = Number(await sys.redis.hget(k.refusals, JSON.stringify(['flooder', 'shopper', 'announce', 'FORBIDDEN'])));
        return n === 10_000 && n;
      },
      120_000,
      200,
    );
    expect(counted).toBe(10_000);
    // One hash for all of them (and the audit stream, drained empty); nothing else.
    expect(await roomKeys()).toEqual([...new Set([...keysBefore, k.refusals, k.audit])].sort());
    expect(await sys.redis.hlen(k.refusals)).toBe(1);
    const rows = await waitFor('the host rows', async () => {
      const r = await rowsOf(roomId);
      return r.length >= 21 ? r : undefined;
    });
    expect(rows.length).toBe(21);
    expect(rows.filter((r) => r.actor === 'flooder')).toEqual([]);
    expect(rows.slice(1).map((r) => r.idempotency_key)).toEqual(hostKeys);
    // Ops read the counts beside the rows; Prometheus gets them by command and code.
    const log = await sys.http(await sys.token('ops', 'ops-1')).auditLog(roomId, 1000);
    expect(log.entries.length).toBe(21);
    expect(log.refusals).toEqual([{ actor: 'flooder', role: 'shopper', command: 'announce', errorCode: 'FORBIDDEN', count: 10_000 }]);
    expect(await sys.gateway.registry.metrics()).toMatch(/livesale_host_command_refusals_total\{command="announce",code="FORBIDDEN"\} 10000/);
    shopper.close();
  });

  it('past the field cap, refusals of new callers share one overflow count per command and code', async () => {
    const { roomId } = await hostWithRoom(sys, 'crowded-room-host');
    const store = sys.gateway.context.store;
    await Promise.all(Array.from({ length: refusalFieldCap + 50 }, (_, i) => store.countRefusal(roomId, { actor: `u${i}`, role: 'shopper', command: 'setPrice', errorCode: 'FORBIDDEN' })));
    const counts = await store.refusals(roomId);
    expect(counts.length).toBe(refusalFieldCap + 1);
    expect(counts[0]).toEqual({ actor: '*', role: '*', command: 'setPrice', errorCode: 'FORBIDDEN', count: 50 });
  });

  it('a refusal for a room that does not exist leaves nothing in Redis', async () => {
    const http = sys.http(await sys.token('host', 'nowhere-host'));
    const r = await http.request('POST', '/rooms/no-such-room/commands', { command: 'announce', text: 'x', idempotencyKey: 'k', baseVersion: 1 });
    expect(r.body.error.code).toBe('ROOM_NOT_FOUND');
    expect(await scanKeys(`${sys.config.keyPrefix}{r:no-such-room}*`)).toEqual([]);
  });
});
