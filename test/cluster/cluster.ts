import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { freePort, runChecked, waitFor, which } from '../../scripts/stack/proc.ts';
import { startRedis, type RedisProcess } from '../../scripts/stack/redis.ts';

/**
 * A local Redis Cluster of three masters (no replicas): redis-server processes on spare ports,
 * each with its own throwaway directory, joined with `redis-cli --cluster create`.
 */
export interface LocalCluster {
  readonly ports: readonly number[];
  client(): Cluster;
  destroy(): Promise<void>;
}

export async function startCluster(masters = 3, attempts = 3): Promise<LocalCluster> {
  // A port picked as free may be taken before the server binds it (the machine is shared):
  // start again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(masters);
    } catch (err) {
      if (attempt >= attempts) throw err;
    }
  }
}

async function startOnce(masters: number): Promise<LocalCluster> {
  const cli = which('redis-cli');
  if (!cli) throw new Error('redis-cli was not found (it comes with redis-server)');
  const dirs: string[] = [];
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'livesale-cluster-'));
      dirs.push(dir);
      nodes.push(
        await startRedis({
          port: await freePort(),
          dir,
          // The bus port is chosen too (by default it is port + 10000, which may be taken or out of range).
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-port', String(await freePort()), '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000'],
        }),
      );
    }
    runChecked(cli, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor(
      'the cluster to report ok on every node',
      () => nodes.every((n) => /cluster_state:ok/.test(runChecked(cli, ['-p', String(n.port), 'cluster', 'info']))),
      30_000,
      100,
    );
  } catch (err) {
    for (const n of nodes) await n.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    throw err;
  }
  const clients: Cluster[] = [];
  return {
    ports: nodes.map((n) => n.port),
    client() {
      const c = new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 3 } },
      );
      clients.push(c);
      return c;
    },
    async destroy() {
      for (const c of clients) c.disconnect();
      for (const n of nodes) await n.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}
