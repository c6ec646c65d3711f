import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import { assertNoEviction, createRedis } from '../../common/platform/redis.ts';
import { privateRedis } from '../helpers/services.ts';

/**
 * Every service process refuses, at start, a Redis that may evict keys: an evicted hold or
 * outbox entry would break the inventory without a trace.
 */

type Server = Awaited<ReturnType<typeof privateRedis>>;
const servers: Server[] = [];

async function server(extraArgs: string[] = []): Promise<Server> {
  const s = await privateRedis({ extraArgs });
  servers.push(s);
  return s;
}

async function check(s: Server): Promise<unknown> {
  const redis = createRedis({ redisUrl: s.url });
  try {
    await assertNoEviction(redis);
    return 'passed';
  } catch (err) {
    return err;
  } finally {
    redis.disconnect();
  }
}

let lru: Server;
let plain: Server;
let noConfig: Server;
let noConfigLru: Server;

beforeAll(async () => {
  [lru, plain, noConfig, noConfigLru] = await Promise.all([
    server(['--maxmemory-policy', 'allkeys-lru']),
    server(),
    // A managed Redis that disables CONFIG: the policy comes from INFO memory.
    server(['--rename-command', 'CONFIG', '""']),
    server(['--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '""']),
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
});

describe('the maxmemory-policy check', () => {
  it('refuses a Redis with allkeys-lru with CONFIG_INVALID naming the setting', async () => {
    const err = await check(lru);
    expect(err).toBeInstanceOf(LivesaleError);
    expect((err as LivesaleError).code).toBe('CONFIG_INVALID');
    expect((err as LivesaleError).message).toMatch(/maxmemory-policy allkeys-lru/);
    expect((err as LivesaleError).message).toMatch(/needs maxmemory-policy noeviction/);
  });

  it('passes a Redis started with noeviction (the stack starts every Redis so)', async () => {
    expect(await check(plain)).toBe('passed');
  });

  it('reads the policy from INFO memory where CONFIG is disabled', async () => {
    const direct = createRedis({ redisUrl: noConfig.url });
    await expect(direct.config('GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/i);
    direct.disconnect();
    expect(await check(noConfig)).toBe('passed');
    const err = await check(noConfigLru);
    expect((err as LivesaleError).code).toBe('CONFIG_INVALID');
    expect((err as LivesaleError).message).toMatch(/maxmemory-policy volatile-lru/);
  });
});
