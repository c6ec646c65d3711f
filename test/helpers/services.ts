import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka, type KafkaProcess } from '../../scripts/stack/kafka.ts';
import { startPostgres, type PostgresProcess } from '../../scripts/stack/postgres.ts';
import { freePort } from '../../scripts/stack/proc.ts';
import { startRedis, type RedisProcess, type RedisOptions } from '../../scripts/stack/redis.ts';

/**
 * Private service instances for tests that stop, kill, flush or wipe a service: own port, own
 * throwaway data directory, never the shared instance.
 */

function scratch(name: string): string {
  return mkdtempSync(join(tmpdir(), `livesale-${name}-`));
}

export async function privateRedis(opts: Omit<RedisOptions, 'port' | 'dir'> = {}): Promise<RedisProcess & { destroy(): Promise<void> }> {
  const dir = scratch('redis');
  const r = await startRedis({ port: await freePort(), dir, ...opts });
  return { ...r, stop: r.stop, async destroy() { await r.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

export async function privatePostgres(): Promise<PostgresProcess & { destroy(): Promise<void> }> {
  const dir = scratch('pg');
  const p = await startPostgres({ port: await freePort(), dir });
  return { ...p, stop: p.stop, async destroy() { await p.stop('immediate'); rmSync(dir, { recursive: true, force: true }); } };
}

export async function privateKafka(): Promise<KafkaProcess & { destroy(): Promise<void> }> {
  const dir = scratch('kafka');
  const k = await startKafka({ port: await freePort(), controllerPort: await freePort(), dir, heapMb: 512, say: () => {} });
  return { ...k, stop: k.stop, async destroy() { await k.stop('SIGKILL'); rmSync(dir, { recursive: true, force: true }); } };
}
