import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portOpen, runChecked, stopPid, waitFor, which } from './proc.ts';

export interface RedisProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  stop(): Promise<void>;
}

export interface RedisOptions {
  port: number;
  dir: string;
  /** AOF with appendfsync everysec (the production setting); default off, like a cache. */
  appendOnly?: boolean;
  /** Extra redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  extraArgs?: string[];
}

export const redisInstallHint =
  'redis-server was not found. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`), ' +
  'point REDIS_URL at a running Redis, or use `docker-compose up` instead.';

/** Starts a private redis-server on loopback with its own data directory. */
export async function startRedis(opts: RedisOptions): Promise<RedisProcess> {
  const bin = which('redis-server');
  if (!bin) throw new Error(redisInstallHint);
  mkdirSync(opts.dir, { recursive: true });
  const pidfile = join(opts.dir, 'redis.pid');
  runChecked(bin, [
    '--port', String(opts.port),
    '--bind', '127.0.0.1',
    '--daemonize', 'yes',
    '--dir', opts.dir,
    '--pidfile', pidfile,
    '--logfile', join(opts.dir, 'redis.log'),
    '--save', '',
    '--appendonly', opts.appendOnly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    // Stated, not assumed: an evicted hold breaks the inventory (the services refuse anything else).
    '--maxmemory-policy', 'noeviction',
    ...(opts.extraArgs ?? []),
  ]);
  await waitFor(`redis-server on port ${opts.port} (log: ${join(opts.dir, 'redis.log')})`, () => portOpen('127.0.0.1', opts.port), 15_000, 50);
  let pid = 0;
  await waitFor('redis pid file', () => {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
    return pid > 0;
  }, 5_000, 50);
  return {
    url: `redis://127.0.0.1:${opts.port}`,
    port: opts.port,
    pid,
    dir: opts.dir,
    stop: () => stopPid(pid),
  };
}
