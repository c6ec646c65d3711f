import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../common/contracts/keys.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { redisNow } from './helpers.ts';

/**
 * A user's holds of an item, found through the user's buy answers in the item's buyer hash: every
 * hold of that user and none of anyone else's, whatever characters the user id holds (glob
 * characters included), and no scan at all above the bound on the hash.
 */
const config = testConfig();
let redis: Redis;
let flash: FlashSale;

beforeAll(() => {
  redis = createRedis(config);
  flash = new FlashSale({ redis, keys: new Keys(config.keyPrefix), scripts: inventoryScripts(redis) });
});
afterAll(async () => {
  redis?.disconnect();
  await dropNamespace(config);
});

describe("a user's holds of an item", () => {
  it("every hold of the user, none of another user's, with glob characters in user ids", async () => {
    const now = await redisNow(redis);
    await flash.createItem({ itemId: 'uh', roomId: 'r', total: 100, price: 250, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 3_600_000, holdMs: 600_000 });
    const users = ['a*', 'ab', 'a?', 'a[b]', 'a\\', 'plain'];
    const mine = new Map<string, string[]>();
    for (const u of users) {
      for (let i = 0; i < 2; i++) {
        const r = await flash.reserve('uh', u, i + 1, `${u}-${i}`);
        if (r.outcome !== 'held') throw new Error(r.outcome);
        mine.set(u, [...(mine.get(u) ?? []), r.orderId]);
      }
    }
    // A repeated key answers the first answer and makes no second hold.
    expect((await flash.reserve('uh', 'a*', 1, 'a*-0')).outcome).toBe('duplicate');
    await flash.cancel('uh', mine.get('plain')![0]!, { userId: 'plain' });
    for (const u of users) {
      const holds = await flash.userHolds('uh', u);
      expect(holds?.map((h) => h.orderId).sort(), u).toEqual([...mine.get(u)!].sort());
      expect(holds?.every((h) => h.userId === u)).toBe(true);
      expect(holds?.map((h) => h.qty).sort()).toEqual([1, 2]);
    }
    expect((await flash.userHolds('uh', 'plain'))?.map((h) => h.state).sort()).toEqual(['cancelled', 'held']);
    expect(await flash.userCount('uh', 'a*')).toBe(3);
    expect(await flash.userCount('uh', 'plain')).toBe(2);
    expect(await flash.userCount('uh', 'nobody')).toBe(0);
    expect(await flash.userHolds('uh', 'nobody')).toEqual([]);
    // Above the bound on the hash: not looked up.
    expect(await flash.userHolds('uh', 'a*', 3)).toBeUndefined();
  });
});
