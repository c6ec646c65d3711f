import { afterAll, beforeAll, describe } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { inventoryEnv, type InventoryEnv } from './env.ts';
import { groupBuySuite } from './suites/group-buy.suite.ts';

const config = testConfig();
let env: InventoryEnv & { close(): Promise<void> };

beforeAll(async () => {
  env = await inventoryEnv(config, createRedis(config));
});

afterAll(async () => {
  await env?.close();
  env?.redis.disconnect();
  await dropNamespace(config);
});

describe('tiered group buy (single Redis)', () => {
  groupBuySuite(() => env);
});
