import type { Cluster, Redis } from 'ioredis';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Memory readings for the tests that prove a load leaves nothing behind: the test process's
 * heap after full collections, and a Redis server's used memory.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap in use after four full collections (what is still referenced, not garbage). */
export function settledHeap(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Redis's `used_memory`, in bytes. */
export async function redisMemory(redis: Redis | Cluster): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}
