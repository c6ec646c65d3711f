import { Redis } from 'ioredis';
import type { Config } from './config.ts';

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
    retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
  });
}
