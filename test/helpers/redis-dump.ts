import type { Redis } from 'ioredis';

/** Every key under a prefix with its full content: equal dumps mean nothing changed. */
export async function dumpPrefix(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  for (const k of keys.sort()) {
    const type = await redis.type(k);
    if (type === 'hash') out[k] = await redis.hgetall(k);
    else if (type === 'string') out[k] = await redis.get(k);
    else if (type === 'zset') out[k] = await redis.zrange(k, 0, -1, 'WITHSCORES');
    else if (type === 'set') out[k] = (await redis.smembers(k)).sort();
    else if (type === 'stream') out[k] = { entries: await redis.xrange(k, '-', '+'), groups: await redis.xinfo('GROUPS', k) };
    else out[k] = type;
  }
  return out;
}
