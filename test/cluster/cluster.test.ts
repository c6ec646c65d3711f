import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../common/contracts/keys.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { inventoryEnv, type InventoryEnv } from '../inventory/env.ts';
import { flashSaleSuite } from '../inventory/suites/flash-sale.suite.ts';
import { groupBuySuite } from '../inventory/suites/group-buy.suite.ts';
import { startCluster, type LocalCluster } from './cluster.ts';

/**
 * The flash-sale and group-buy suites, unchanged, against a local 3-master Redis Cluster: every
 * script's keys share the item's hash tag, so each call runs in one slot on whichever master owns
 * it, and items spread over all masters.
 */

const config = testConfig();
let cluster: LocalCluster;
let env: InventoryEnv & { close(): Promise<void> };

beforeAll(async () => {
  cluster = await startCluster(3);
  env = await inventoryEnv(config, cluster.client());
});

afterAll(async () => {
  await env?.close();
  await cluster?.destroy();
  await dropNamespace(config);
});

describe('on a 3-master Redis Cluster', () => {
  it('spreads items over every master (their keys share one slot per item)', async () => {
    const c = env.redis as import('ioredis').Cluster;
    const keys = new Keys(config.keyPrefix);
    const owners = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const k = keys.item(`spread${i}`);
      const slots = new Set(await Promise.all(k.all.map((key) => c.cluster('KEYSLOT', key) as Promise<number>)));
      expect(slots.size).toBe(1);
      const [slot] = [...slots];
      const range = (await c.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const owner = range.find(([from, to]) => slot! >= from && slot! <= to)!;
      owners.add(String(owner[2][1]));
    }
    expect(owners.size).toBe(3);
  });

  describe('flash sale', () => {
    flashSaleSuite(() => env);
  });

  describe('tiered group buy', () => {
    groupBuySuite(() => env);
  });
});
