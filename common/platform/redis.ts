import { Redis } from 'ioredis';
import type { Config } from './config.ts';
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
