import type { Cluster, Redis } from 'ioredis';
import type { ItemKeys } from '../../common/contracts/keys.ts';

/** Every key of one item with its full content: equal dumps mean nothing changed (works on Redis Cluster too). */
export async function dumpItem(redis: Redis | Cluster, k: ItemKeys): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of k.all) {
    const type = await redis.type(key);
    if (type === 'hash') out[key] = await redis.hgetall(key);
    else if (type === 'string') out[key] = await redis.get(key);
    else if (type === 'zset') out[key] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'set') out[key] = (await redis.smembers(key)).sort();
    else if (type === 'stream') out[key] = await redis.xrange(key, '-', '+');
    else out[key] = type;
  }
  return out;
}

export interface OutboxEvent {
  id: string;
  type: string;
  ver: number;
  [field: string]: unknown;
}

/** The events in an item's outbox, oldest first (without its item.created, unless asked). */
export async function outbox(redis: Redis | Cluster, k: ItemKeys, opts: { withCreated?: boolean } = {}): Promise<OutboxEvent[]> {
  const entries = (await redis.xrange(k.outbox, '-', '+')) as [string, string[]][];
  const events = entries.map(([, f]) => JSON.parse(f[1]!) as OutboxEvent);
  return opts.withCreated ? events : events.filter((e) => e.type !== 'item.created');
}

/** The Redis clock in ms. */
export async function redisNow(redis: Redis | Cluster): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}
