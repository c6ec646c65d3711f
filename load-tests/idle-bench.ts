/**
 * Benchmark: what an idle system costs Redis after N finished items, for N = 0, 100 and 1,000.
 * Each N gets a private redis-server (so INFO commandstats counts only the components under
 * test) with the sweeper and the outbox relay running (relay on the local Kafka, in a topic
 * namespace of its own). N items are created already ended, the relay drains their outboxes,
 * and then, over a fixed window, the commands per second Redis serves and its key count are
 * measured:
 *   retiring   items retire and their keys expire after a short retention (the default
 *              behaviour, with ITEM_RETENTION_SECONDS shortened);
 *   kept       retirement off (ITEM_RETENTION_SECONDS=0): the items stay registered, so the
 *              sweeper keeps visiting every one of them each round, as before retirement existed.
 * Prints both, with the ratio to the 0-item baseline.
 *
 *   npm run bench:idle [-- --window-ms 5000 --counts 0,100,1000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../common/platform/config.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createRedis } from '../common/platform/redis.ts';
import { Keys } from '../common/contracts/keys.ts';
import { FlashSale } from '../inventory/flash-sale.ts';
import { inventoryScripts } from '../inventory/scripts.ts';
import { Sweeper } from '../inventory/sweeper.ts';
import { Relay } from '../orders/relay.ts';
import { freePort } from '../scripts/stack/proc.ts';
import { startRedis } from '../scripts/stack/redis.ts';
import { ensureStack } from '../scripts/stack/stack.ts';
import { idleLoad, type IdleLoad } from '../scripts/stack/idle-load.ts';

const { values: args } = parseArgs({
  options: { 'window-ms': { type: 'string', default: '5000' }, counts: { type: 'string', default: '0,100,1000' } },
});
const windowMs = Number(args['window-ms']);
const counts = args.counts.split(',').map(Number);
const retentionMs = 2000;

await ensureStack({ say: () => {} });
const config = loadConfig({ livesaleEnv: 'development', kafkaTopicPrefix: `idle${randomBytes(3).toString('hex')}.`, keyPrefix: 'idle:', logLevel: 'warn', nodeId: 'idle-bench' });
const log = createLogger({ level: config.logLevel, name: 'idle-bench', nodeId: config.nodeId });
const kafka = createKafka(config, log, 'idle-bench');
await ensureTopics(kafka, config);

async function measure(n: number, retiring: boolean): Promise<IdleLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'livesale-idle-'));
  const server = await startRedis({ port: await freePort(), dir });
  const redis = createRedis({ redisUrl: server.url }, 'idle-bench');
  const keys = new Keys(config.keyPrefix);
  const scripts = inventoryScripts(redis);
  const deps = { redis, keys, scripts };
  const sweeper = new Sweeper({ ...deps, log, intervalMs: config.sweepIntervalMs, retentionMs: retiring ? retentionMs : 0 });
  const relay = new Relay({ redis, keys, kafka, topic: config.topics.orders, log, consumer: `idle-${n}-${retiring}` });
  try {
    await relay.start();
    sweeper.start();
    const flash = new FlashSale(deps);
    const [s] = await redis.time();
    const now = Number(s) * 1000;
    for (let i = 0; i < n; i++) {
      await flash.createItem({ itemId: `done-${i}`, roomId: 'r', total: 5, price: 100, perUserLimit: 1, startsAt: now - 2000, endsAt: now - 1000, holdMs: 1000 });
    }
    // Drained: every outbox relayed; retiring: every item out of the registry and its keys expired.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ids = await redis.smembers(keys.outboxRegistry);
      let pending = 0;
      for (const id of ids) pending += await redis.xlen(keys.item(id).outbox);
      const done = retiring ? ids.length === 0 && (await redis.dbsize()) === 0 : pending === 0;
      if (done) break;
      if (Date.now() > deadline) throw new Error(`${n} items did not drain (${ids.length} registered, ${pending} entries)`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return await idleLoad(redis, windowMs);
  } finally {
    await sweeper.stop();
    await relay.stop();
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const rows: { n: number; mode: string; load: IdleLoad }[] = [];
  for (const retiring of [true, false]) {
    for (const n of counts) {
      const load = await measure(n, retiring);
      rows.push({ n, mode: retiring ? 'retiring' : 'kept', load });
      process.stdout.write(`${retiring ? 'retiring' : 'kept    '} ${String(n).padStart(5)} finished items: ${load.commandsPerSecond.toFixed(1)} commands/s, ${load.keys} keys\n`);
    }
  }
  process.stdout.write(`\nidle Redis load of the sweeper and the relay (window ${windowMs} ms, sweep every ${config.sweepIntervalMs} ms):\n`);
  process.stdout.write('mode      items   commands/s   ratio to 0   keys\n');
  for (const r of rows) {
    const base = rows.find((x) => x.mode === r.mode && x.n === 0)?.load.commandsPerSecond ?? Number.NaN;
    process.stdout.write(`${r.mode.padEnd(9)} ${String(r.n).padStart(5)}   ${r.load.commandsPerSecond.toFixed(1).padStart(10)}   ${(r.load.commandsPerSecond / base).toFixed(2).padStart(10)}   ${String(r.load.keys).padStart(4)}\n`);
  }
} finally {
  // Only this run's topics (nothing else of the shared stack is touched).
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(config.kafkaTopicPrefix));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}
process.exit(0);
