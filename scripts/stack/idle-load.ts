import type { Redis } from 'ioredis';

/** Commands a Redis has served so far, by command (INFO commandstats), without INFO's own. */
async function commandCounts(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') total += Number(m[2]);
  return total;
}

export interface IdleLoad {
  /** Commands per second served during the window (every client but the measuring INFO calls). */
  readonly commandsPerSecond: number;
  readonly commands: number;
  readonly windowMs: number;
  /** Keys in the database at the end of the window. */
  readonly keys: number;
}

/**
 * What a Redis serves over a fixed window while nothing but the components under test talk to
 * it (a private redis-server): the count of commands (INFO commandstats delta) and the key count.
 */
export async function idleLoad(redis: Redis, windowMs: number): Promise<IdleLoad> {
  const before = await commandCounts(redis);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const after = await commandCounts(redis);
  const elapsed = performance.now() - started;
  const commands = after - before;
  return { commands, windowMs: Math.round(elapsed), commandsPerSecond: (commands * 1000) / elapsed, keys: await redis.dbsize() };
}
