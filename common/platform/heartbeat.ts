import type { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * Liveness of a background process (relay, writer) in Redis: a sorted set per role, member the
 * process's node id, score its last beat (ms). The set expires when no one beats any more, and
 * each beat drops members silent for an hour, so dead nodes leave nothing behind for long.
 */
export interface Heartbeat {
  stop(): Promise<void>;
}

/** How long after its last beat a process counts as alive. */
export const liveWindow = (intervalMs: number): number => intervalMs * 5;

export function startHeartbeat(deps: { redis: Redis | Cluster; key: string; member: string; intervalMs: number; log: Logger }): Heartbeat {
  const { redis, key, member, intervalMs, log } = deps;
  const beat = async () => {
    const now = Date.now();
    try {
      await redis.multi().zadd(key, now, member).zremrangebyscore(key, '-inf', now - 3_600_000).pexpire(key, liveWindow(intervalMs)).exec();
    } catch (err) {
      // A missed beat is what readiness reports; it is not a reason to stop working.
      log.warn({ err: (err as Error).message }, 'heartbeat not written');
    }
  };
  void beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.zrem(key, member).catch(() => undefined);
    },
  };
}

/** The members that beat within the live window. */
export async function liveMembers(redis: Redis | Cluster, key: string, intervalMs: number): Promise<string[]> {
  return redis.zrangebyscore(key, Date.now() - liveWindow(intervalMs), '+inf');
}
