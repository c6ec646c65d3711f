import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { FlashSale, reserveKeys } from '../../inventory/flash-sale.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { privateRedis } from '../helpers/services.ts';
import { redisNow } from './helpers.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

/**
 * A flushed script cache (SCRIPT FLUSH, a restart, a failover) never fails a request, including
 * requests sent in a pipeline: reservations run under load, auto-pipelined and in explicit
 * pipelines, while another connection flushes the cache over and over.
 */

let server: Awaited<ReturnType<typeof privateRedis>>;
let redis: Redis;
let admin: Redis;

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis({ redisUrl: server.url });
  admin = createRedis({ redisUrl: server.url });
});

afterAll(async () => {
  redis.disconnect();
  admin.disconnect();
  await server.destroy();
});

it('no request fails while SCRIPT FLUSH runs again and again under load', async () => {
  const keys = new Keys('flush:');
  const scripts = inventoryScripts(redis);
  const flash = new FlashSale({ redis, keys, scripts });
  const now = await redisNow(redis);
  await flash.createItem({ itemId: 'x', roomId: 'r', total: 1_000_000, price: 1, perUserLimit: 10_000, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });

  let stop = false;
  let flushes = 0;
  const errors: string[] = [];
  let held = 0;
  let seq = 0;
  const flusher = (async () => {
    while (!stop) {
      await admin.script('FLUSH');
      flushes++;
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  // Auto-pipelined single calls (what every request does).
  const singles = Array.from({ length: 40 }, async (_, w) => {
    while (!stop) {
      const n = seq++;
      try {
        const r = await flash.reserve('x', `s${w}`, 1, `k${n}`);
        if (r.outcome === 'held') held++;
        else errors.push(r.outcome);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  });
  // Explicit pipelines of 20 reservations each.
  const pipelines = Array.from({ length: 5 }, async (_, w) => {
    while (!stop) {
      const calls = Array.from({ length: 20 }, () => {
        const n = seq++;
        return { name: 'reserve', keys: reserveKeys(keys.item('x'), `p${w}`, `k${n}`), args: [`p${w}`, 1, `k${n}`, `o${n}`] };
      });
      try {
        for (const r of await scripts.batch(calls)) {
          if (String(r).startsWith('1,')) held++;
          else errors.push(String(r));
        }
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  });
  while (flushes < 200) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  await Promise.all([flusher, ...singles, ...pipelines]);

  expect(errors).toEqual([]);
  expect(flushes).toBeGreaterThanOrEqual(200);
  expect(held).toBeGreaterThan(1000);
  const v = (await flash.view('x'))!;
  expect(v.held).toBe(held);
  expect(await redis.hlen(keys.item('x').holds)).toBe(held);
});
