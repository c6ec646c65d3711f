import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Keys } from '../../common/contracts/keys.ts';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import type { Config } from '../../common/platform/config.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { createSchema, dropNamespace, testConfig } from '../helpers/namespace.ts';
import { redisMemory, settledHeap } from '../helpers/memory.ts';
import { privateRedis } from '../helpers/services.ts';

/**
 * The WebSocket side of lookups of things that do not exist: 100,000 upgrades to unknown rooms,
 * then 100,000 messages naming unknown items in a real room (every message type that looks an
 * item up: buy, join, pay, cancel, subscribe, product.click from shoppers, host commands from
 * the room's host). Each is refused, and afterwards the gateway's live heap (after a full
 * collection) and Redis's memory are back to their level before, within a small bound. The
 * gateway runs in this process, so its heap is this heap; Redis is a private instance, so other
 * tests' writes do not move its figure. The rate limits are raised so that every message reaches
 * its lookup (the limits are tested elsewhere; here they would only refuse earlier).
 */


const lookups = 100_000;
const heapBoundBytes = 4 * 1024 * 1024;
const redisBoundBytes = 256 * 1024;

let redisProc: Awaited<ReturnType<typeof privateRedis>>;
let config: Config;
let gateway: Gateway;
let close: () => Promise<void>;
let redis: ReturnType<typeof createRedis>;

beforeAll(async () => {
  redisProc = await privateRedis();
  config = testConfig({ redisUrl: redisProc.url, wsMessageRate: 100_000, userMessageRate: 100_000, wsAdmissionRate: 1_000_000, hostCommandRate: 100_000 });
  await createSchema(config);
  redis = createRedis(config);
  const db = createDbFromConfig(config, 4);
  await migrateToLatest(db, config.databaseSchema);
  gateway = await startGateway({ config, log: createLogger({ level: 'silent', name: 'ws-lookups' }), redis, db, keys: new Keys(config.keyPrefix) });
  close = async () => {
    await gateway.close({ drainMs: 100 });
    redis.disconnect();
    await db.destroy();
    await dropNamespace(config);
  };
}, 120_000);
afterAll(async () => {
  await close?.();
  await redisProc?.destroy();
});

/** Redis memory once back within `bound` of `before` (counters with a TTL of a second or so expire first), or the last figure. */
async function settledRedis(before: number, bound: number): Promise<number> {
  let now = await redisMemory(redis);
  for (let i = 0; i < 50 && now - before >= bound; i++) {
    await new Promise((r) => setTimeout(r, 200));
    now = await redisMemory(redis);
  }
  return now;
}

/**
 * `n` WebSocket upgrade requests for `path(i)`, each written once the answer to the previous one
 * on its keep-alive connection is complete, `concurrency` connections at a time (a connection the
 * server closes is replaced); counts the answers by status.
 */
async function upgrades(port: number, n: number, path: (i: number) => string, concurrency = 16): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    let s: Socket | undefined;
    let buf = '';
    let waiting: ((status: number | undefined) => void) | undefined;
    const open = () =>
      new Promise<Socket>((resolve, reject) => {
        const c = connect(port, '127.0.0.1');
        buf = '';
        c.setNoDelay(true);
        c.once('connect', () => resolve(c));
        c.once('error', reject);
        c.on('data', (d) => {
          buf += d.toString('latin1');
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          const status = Number(buf.slice(9, 12));
          buf = buf.slice(end + 4 + len);
          waiting?.(status);
        });
        c.on('close', () => {
          if (s === c) s = undefined;
          waiting?.(undefined);
        });
      });
    while (next < n) {
      const i = next++;
      s ??= await open();
      const answered = new Promise<number | undefined>((resolve) => {
        waiting = resolve;
      });
      s.write(`GET ${path(i)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      const status = await answered;
      waiting = undefined;
      counts[status ?? 0] = (counts[status ?? 0] ?? 0) + 1;
    }
    s?.destroy();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

interface Client {
  readonly ws: WebSocket;
  /** Sends `msg` with a fresh reqId; resolves with the reply carrying it. */
  ask(msg: Record<string, unknown>): Promise<{ type: string; code?: string }>;
}

function client(roomId: string, token: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/rooms/${roomId}/ws?token=${encodeURIComponent(token)}`);
    const pending = new Map<string, (f: { type: string; code?: string }) => void>();
    let seq = 0;
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { type: string; reqId?: string; code?: string };
      if (f.reqId === undefined) return;
      const done = pending.get(f.reqId);
      pending.delete(f.reqId);
      done?.(f);
    });
    ws.once('open', () =>
      resolve({
        ws,
        ask: (msg) =>
          new Promise((res) => {
            const reqId = `r${(seq++).toString(36)}`;
            pending.set(reqId, res);
            ws.send(JSON.stringify({ ...msg, reqId }));
          }),
      }),
    );
    ws.once('error', reject);
  });
}

/** `n` messages from `make(i)` over `clients`, `window` outstanding per client; counts the replies by type or error code. */
async function messages(clients: readonly Client[], n: number, make: (i: number, c: number) => Record<string, unknown>, window = 32): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    clients.flatMap((c, ci) =>
      Array.from({ length: window }, async () => {
        while (next < n) {
          const f = await c.ask(make(next++, ci));
          const k = f.type === 'error' ? f.code! : f.type;
          counts[k] = (counts[k] ?? 0) + 1;
        }
      }),
    ),
  );
  return counts;
}

it(`${lookups.toLocaleString('en')} WebSocket upgrades to unknown rooms leave neither heap nor Redis memory behind`, async () => {
  const token = await gateway.auth.issue('lookup-shopper', 'shopper');
  const salt = randomBytes(3).toString('hex');
  const path = (id: string) => `/rooms/${id}/ws?token=${token}`;
  await upgrades(gateway.port, 2000, (i) => path(`warm${salt}${i}`));
  const heapBefore = settledHeap();
  const redisBefore = await redisMemory(redis);
  const counts = await upgrades(gateway.port, lookups, (i) => path(`u${salt}${i.toString(36)}`));
  expect(counts).toEqual({ 404: lookups });
  const heapAfter = settledHeap();
  const redisAfter = await settledRedis(redisBefore, redisBoundBytes);
  console.log(`  upgrades: heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; redis used_memory ${redisBefore} -> ${redisAfter} B; rooms loaded ${gateway.hub.roomCount}`);
  expect(heapAfter - heapBefore).toBeLessThan(heapBoundBytes);
  expect(redisAfter - redisBefore).toBeLessThan(redisBoundBytes);
  expect(gateway.hub.roomCount).toBe(0);
  expect(gateway.connections).toBe(0);
}, 600_000);

it(`${lookups.toLocaleString('en')} WebSocket messages naming unknown items leave neither heap nor Redis memory behind`, async () => {
  const hostToken = await gateway.auth.issue('lookup-host', 'host');
  const created = await fetch(`http://127.0.0.1:${gateway.port}/rooms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hostToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'lookups' }),
  });
  expect(created.status).toBe(201);
  const { room, version } = (await created.json()) as { room: { id: string }; version: number };
  const shoppers = await Promise.all([0, 1, 2, 3].map(async (i) => client(room.id, await gateway.auth.issue(`lookup-shopper-${i}`, 'shopper'))));
  const host = await client(room.id, hostToken);
  const salt = randomBytes(3).toString('hex');

  // Every message that names an item, in turn; the host's commands over its own socket.
  const shopperMessage = (i: number, prefix: string): Record<string, unknown> => {
    const itemId = `${prefix}${salt}${i.toString(36)}`;
    switch (i % 6) {
      case 0:
        return { type: 'buy', itemId, qty: 1, idempotencyKey: `k${itemId}` };
      case 1:
        return { type: 'join', itemId, qty: 1, idempotencyKey: `k${itemId}` };
      case 2:
        return { type: 'pay', itemId, orderId: `o${itemId}` };
      case 3:
        return { type: 'cancel', itemId, orderId: `o${itemId}` };
      case 4:
        return { type: 'subscribe', itemId };
      default:
        return { type: 'product.click', itemId };
    }
  };
  const hostCommand = (i: number, prefix: string): Record<string, unknown> => {
    const itemId = `${prefix}${salt}${i.toString(36)}`;
    const envelope = { type: 'command', idempotencyKey: `c${itemId}`, baseVersion: version };
    const shapes = [
      { command: 'setPrice', itemId, price: 100 },
      { command: 'delist', itemId },
      { command: 'list', itemId },
      { command: 'openSale', itemId },
      { command: 'closeSale', itemId },
      { command: 'adjustStock', itemId, delta: 1 },
      { command: 'onAir', itemId },
      { command: 'closeGroup', itemId },
    ];
    return { ...envelope, ...shapes[i % shapes.length]! };
  };
  const run = async (n: number, prefix: string) => {
    const hostShare = Math.floor(n / 7);
    const [a, b] = await Promise.all([messages(shoppers, n - hostShare, (i) => shopperMessage(i, prefix)), messages([host], hostShare, (i) => hostCommand(i, prefix), 8)]);
    for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
    return a;
  };

  await run(2000, 'warm');
  const heapBefore = settledHeap();
  const redisBefore = await redisMemory(redis);
  const counts = await run(lookups, 'u');
  const heapAfter = settledHeap();
  const redisAfter = await settledRedis(redisBefore, redisBoundBytes);
  console.log(`  messages ${JSON.stringify(counts)}: heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; redis used_memory ${redisBefore} -> ${redisAfter} B`);
  expect(counts).toEqual({ ITEM_NOT_FOUND: lookups });
  expect(heapAfter - heapBefore).toBeLessThan(heapBoundBytes);
  expect(redisAfter - redisBefore).toBeLessThan(redisBoundBytes);
  expect(gateway.hub.roomCount).toBe(1);
  for (const c of [...shoppers, host]) c.ws.close();
}, 600_000);
