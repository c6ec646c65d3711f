import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../common/contracts/keys.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { waitFor } from '../helpers/wait.ts';
import { redisNow } from './helpers.ts';

/**
 * Refused buys change nothing, so they must not be kept forever: a shopper sending fresh keys
 * at an item it has hit the limit on must not grow the item's state.
 */
const config = testConfig();
let redis: Redis;

beforeAll(() => {
  redis = createRedis(config);
});
afterAll(async () => {
  redis?.disconnect();
  await dropNamespace(config);
});

async function memoryOf(keys: readonly string[]): Promise<number> {
  let sum = 0;
  for (const k of keys) sum += Number((await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')) ?? 0);
  return sum;
}

describe('refused answers expire', () => {
  it('100,000 refused buys with fresh keys leave the item at its memory before, and their records expire', async () => {
    const keys = new Keys(config.keyPrefix);
    const flash = new FlashSale({ redis, keys, scripts: inventoryScripts(redis), refusalTtlMs: 1000 });
    const now = await redisNow(redis);
    await flash.createItem({ itemId: 'grow', roomId: 'r', total: 100, price: 100, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 3_600_000, holdMs: 600_000 });
    expect((await flash.reserve('grow', 'greedy', 1, 'first')).outcome).toBe('held');
    const k = keys.item('grow');
    const before = await memoryOf(k.all);
    const usersBefore = await redis.hlen(k.users);

    const total = 100_000;
    const batch = 1000;
    let refused = 0;
    for (let i = 0; i < total; i += batch) {
      const rs = await Promise.all(Array.from({ length: batch }, (_, j) => flash.reserve('grow', 'greedy', 1, `fresh-${i + j}`)));
      refused += rs.filter((r) => r.outcome === 'limit_reached').length;
    }
    expect(refused).toBe(total);

    // A repeat within the window still gets the first answer (same key, same answer).
    expect(await flash.reserve('grow', 'greedy', 1, `fresh-${total - 1}`)).toMatchObject({ outcome: 'duplicate', first: { outcome: 'limit_reached' } });
    expect(await redis.hlen(k.users)).toBe(usersBefore);
    expect(await memoryOf(k.all)).toBeLessThanOrEqual(before + 256);
    // The refusals' own records go away.
    await waitFor('the refusal records to expire', async () => {
      const left = await redis.exists(k.refused('greedy', 'fresh-0'), k.refused('greedy', `fresh-${total / 2}`), k.refused('greedy', `fresh-${total - 1}`));
      return left === 0 ? true : undefined;
    }, 30_000, 100);
  }, 180_000);
});
