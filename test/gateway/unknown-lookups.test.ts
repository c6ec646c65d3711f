import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Keys } from '../../common/contracts/keys.ts';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { testConfig } from '../helpers/namespace.ts';
import { redisMemory, settledHeap } from '../helpers/memory.ts';
import { privateRedis } from '../helpers/services.ts';

/**
 * Lookups of things that do not exist leave nothing behind: 100,000 anonymous reads of unknown
 * rooms, then the gateway's live heap (after a full collection) and Redis's memory are back to
 * their level before, within a small bound. The gateway runs in this process, so its heap is
 * this heap; Redis is a private instance, so other tests' writes do not move its figure.
 */


const lookups = 100_000;
const heapBoundBytes = 4 * 1024 * 1024;
const redisBoundBytes = 256 * 1024;

let redisProc: Awaited<ReturnType<typeof privateRedis>>;
let gateway: Gateway;
let close: () => Promise<void>;
let redis: ReturnType<typeof createRedis>;

beforeAll(async () => {
  redisProc = await privateRedis();
  const config = testConfig({ redisUrl: redisProc.url });
  redis = createRedis(config);
  const db = createDbFromConfig(config, 2);
  gateway = await startGateway({ config, log: createLogger({ level: 'silent', name: 'lookups' }), redis, db, keys: new Keys(config.keyPrefix) });
  close = async () => {
    await gateway.close({ drainMs: 100 });
    redis.disconnect();
    await db.destroy();
  };
});
afterAll(async () => {
  await close?.();
  await redisProc?.destroy();
});

/** `n` anonymous GETs of `path(i)` over keep-alive connections, `concurrency` at a time; counts by status. */
async function hammer(base: string, n: number, path: (i: number) => string, concurrency = 32): Promise<Record<number, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const counts: Record<number, number> = {};
  const get = (url: string) =>
    new Promise<number>((resolve, reject) => {
      request(url, { agent }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      })
        .once('error', reject)
        .end();
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const status = await get(`${base}${path(next++)}`);
        counts[status] = (counts[status] ?? 0) + 1;
      }
    }),
  );
  agent.destroy();
  return counts;
}

it(`${lookups.toLocaleString('en')} lookups of unknown rooms leave neither heap nor Redis memory behind`, async () => {
  const base = `http://127.0.0.1:${gateway.port}`;
  const salt = randomBytes(3).toString('hex');
  // Warm up every path once (code, caches of fixed size, connection pools), then measure.
  await hammer(base, 2000, (i) => `/rooms/warm${salt}${i}`);
  const heapBefore = settledHeap();
  const redisBefore = await redisMemory(redis);
  const counts = await hammer(base, lookups, (i) => `/rooms/u${salt}${i.toString(36)}`);
  expect(counts).toEqual({ 404: lookups });
  const heapAfter = settledHeap();
  const redisAfter = await redisMemory(redis);
  console.log(`  heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB; redis used_memory ${redisBefore} -> ${redisAfter} B; rooms loaded ${gateway.hub.roomCount}`);
  expect(heapAfter - heapBefore).toBeLessThan(heapBoundBytes);
  expect(redisAfter - redisBefore).toBeLessThan(redisBoundBytes);
  expect(gateway.hub.roomCount).toBe(0);
}, 600_000);
