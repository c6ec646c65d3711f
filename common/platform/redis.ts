import { Cluster, Redis } from 'ioredis';
import type { Config } from './config.ts';
import { LivesaleError } from './errors.ts';
import { backoffMs, type RetryPolicy } from './retry.ts';

/**
 * Reconnection delays: quick at first (a blip), at most 2 s apart while Redis is away. Not scaled
 * down under test: `maxRetriesPerRequest` counts reconnections, so these delays also decide how
 * long a queued command outlives an outage (about half a second), and tests should see the same.
 */
const redisReconnect: RetryPolicy = Object.freeze({ initialMs: 100, maxMs: 2000, factor: 2, retries: Number.POSITIVE_INFINITY });

/**
 * The Redis client every component uses: each command written at once (REDIS_AUTO_PIPELINING=true
 * batches the commands of one event-loop turn into one write), commands queue while
 * reconnecting, and a bounded per-command retry.
 */
export function createRedis(config: Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'redisAutoPipelining'>>, name = 'livesale'): Redis {
  return new Redis(config.redisUrl, {
    enableAutoPipelining: config.redisAutoPipelining ?? false,
    maxRetriesPerRequest: 3,
    connectionName: name,
    // ioredis counts reconnection attempts from 1.
    retryStrategy: (times) => backoffMs(times - 1, redisReconnect),
  });
}

/** The only eviction policy the inventory can live with. */
export const requiredEvictionPolicy = 'noeviction';

/**
 * The server's `maxmemory-policy`: CONFIG GET, or where CONFIG is disabled or renamed (managed
 * services) INFO memory's `maxmemory_policy` field. Undefined when neither says.
 */
async function evictionPolicyOf(node: Redis): Promise<string | undefined> {
  try {
    const r = (await node.config('GET', 'maxmemory-policy')) as string[];
    if (r[1]) return r[1];
  } catch {
    // CONFIG disabled: INFO below.
  }
  const info = await node.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}

/**
 * Refuses to start on a Redis that may evict keys. An evicted hold, idempotency answer or outbox
 * entry silently breaks every inventory invariant (stock returns twice, a buy reserves twice, a
 * sale never reaches the ledger), so eviction must be off: `maxmemory-policy noeviction`, where
 * a full Redis refuses writes (buys fail closed) instead. On Redis Cluster every master is checked.
 * Throws CONFIG_INVALID naming the setting.
 */
export async function assertNoEviction(client: Redis | Cluster): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    const policy = await evictionPolicyOf(node);
    if (policy !== requiredEvictionPolicy) {
      const where = `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
      throw new LivesaleError(
        'CONFIG_INVALID',
        `Redis at ${where} has maxmemory-policy ${policy ?? '(unknown: neither CONFIG GET nor INFO memory tell)'}; ` +
          `livesale needs maxmemory-policy ${requiredEvictionPolicy} (an evicted hold or outbox entry breaks the inventory). ` +
          `Set it in redis.conf or with CONFIG SET maxmemory-policy ${requiredEvictionPolicy}.`,
      );
    }
  }
}
