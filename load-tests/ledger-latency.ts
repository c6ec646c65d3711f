/**
 * Benchmark: end-to-end hold-to-ledger latency at a steady reservation rate (default 5,000
 * holds/s): from the moment the reserve script made the hold (the event's Redis-clock `at`) to
 * the moment the writer's transaction holding it committed in Postgres, through the outbox
 * stream, the relay (its own process) and Kafka.
 *
 *   npm run bench:ledger [-- --rate 5000 --duration 20 --items 12 --concurrency 6]
 *
 * Baseline, in the same run on the same topic: a plain Kafka consumer that does nothing but note
 * when each hold arrives (the floor set by the outbox, the relay and Kafka). The ratio is
 * ledger p99 / transit p99. The load comes from its own process (load-tests/ledger-load.ts).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { FlashSale } from '../inventory/flash-sale.ts';
import { Keys } from '../common/contracts/keys.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { Writer } from '../orders/writer.ts';
import { deleteKeys } from '../scripts/stack/namespace.ts';
import { ensureStack } from '../scripts/stack/stack.ts';
import { repoRoot } from './lib.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const { values: args } = parseArgs({ options: { rate: { type: 'string', default: '5000' }, duration: { type: 'string', default: '20' }, items: { type: 'string', default: '12' }, concurrency: { type: 'string', default: '6' } } });
const RATE = Number(args.rate);
const DURATION = Number(args.duration);
const ITEMS = Number(args.items);
const CONCURRENCY = Number(args.concurrency);

const stack = await ensureStack({ say: (l, t) => !t && console.error(l) });
const run = `benchl${Date.now().toString(36)}`;
const env = {
  REDIS_URL: stack.redisUrl,
  DATABASE_URL: stack.databaseUrl,
  KAFKA_BROKERS: stack.kafkaBrokers,
  KEY_PREFIX: `${run}:`,
  KAFKA_TOPIC_PREFIX: `${run}.`,
  DATABASE_SCHEMA: run,
  KAFKA_PARTITIONS: '6',
  LOG_LEVEL: 'warn',
  // A benchmark is a local run: its processes may share a secret they invent.
  LIVESALE_ENV: 'development',
};
const config = loadConfig({}, { ...process.env, ...env, NODE_ID: `${run}-bench` });
const log = createLogger({ level: 'warn', name: 'bench' });
const db = createDbFromConfig(config, 10);
await migrateToLatest(db, run);
const kafka = createKafka(config, log, 'bench');
await ensureTopics(kafka, config);
const redis = new Redis(stack.redisUrl);
const flash = new FlashSale({ redis, keys: new Keys(config.keyPrefix), scripts: inventoryScripts(redis) });
const now = Date.now();
const itemIds = Array.from({ length: ITEMS }, (_, i) => String(8001 + i));
for (const id of itemIds) {
  await flash.createItem({ itemId: id, roomId: '900', total: 10_000_000, price: 990, perUserLimit: 10, startsAt: now - 1000, endsAt: now + 3600_000, holdMs: 3600_000 });
}

// ---- the baseline consumer: arrival of each hold on the topic
const transit = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
const probe = kafka.consumer({ groupId: `${run}.probe`, maxWaitTimeInMs: 10 });
await probe.connect();
await probe.subscribe({ topic: config.topics.orders, fromBeginning: true });
await probe.run({
  eachBatch: async ({ batch }) => {
    const t = Date.now();
    for (const m of batch.messages) {
      const v = m.value?.toString() ?? '';
      if (!v.includes('"order.held"')) continue;
      const at = Number(/"at":(\d+)/.exec(v)?.[1]);
      if (at) transit.recordValue(Math.max(1, t - at));
    }
  },
});

// ---- the writer (here, to see each commit) and the relay (its own process)
const ledger = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
let ledgered = 0;
const writer = new Writer({
  kafka,
  db,
  topic: config.topics.orders,
  deadLetterTopic: config.topics.deadLetter,
  groupId: `${run}.writer`,
  log,
  concurrency: CONCURRENCY,
  onCommit: (_rooms, info) => {
    for (const e of info.events) {
      if (e.type !== 'order.held') continue;
      ledger.recordValue(Math.max(1, info.committedAt - e.at));
      ledgered++;
    }
  },
});
await writer.start();
const relay = spawn(process.execPath, ['--import', 'tsx', 'scripts/relay.ts'], { cwd: repoRoot, env: { ...process.env, ...env, NODE_ID: `${run}-relay` }, stdio: ['ignore', 'ignore', 'inherit'] });
// Let the consumer groups settle before the load starts.
await new Promise((r) => setTimeout(r, 3000));

console.error(`load: ${RATE} holds/s for ${DURATION} s over ${ITEMS} items …`);
const load = spawn(process.execPath, ['--import', 'tsx', 'load-tests/ledger-load.ts'], {
  cwd: repoRoot,
  env: { ...process.env, ...env, ITEM_IDS: itemIds.join(','), RATE: String(RATE), DURATION_S: String(DURATION) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
load.stdout!.on('data', (d) => (out += d));
await new Promise((r) => load.once('exit', r));
const result = JSON.parse(out.trim()) as { attempts: number; held: number; errors: number; seconds: number };
const deadline = Date.now() + 120_000;
while (ledgered < result.held && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

const rows = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM orders`.execute(db)).rows[0]!.n);
console.log('');
console.log(`holds: ${result.held} made at ${(result.held / result.seconds).toFixed(0)} holds/s (target ${RATE}), ${result.errors} refused or failed; ${rows} in the ledger`);
console.log(`${'path'.padEnd(58)}${'p50 ms'.padEnd(9)}${'p99 ms'.padEnd(9)}max ms`);
const line = (name: string, h: hdr.Histogram) => console.log(`${name.padEnd(58)}${String(h.getValueAtPercentile(50)).padEnd(9)}${String(h.getValueAtPercentile(99)).padEnd(9)}${h.maxValue}`);
line('baseline: hold -> Kafka consumer (outbox, relay, Kafka)', transit);
line('livesale: hold -> committed in the Postgres ledger', ledger);
console.log(`ratio ledger/baseline p99: ${(ledger.getValueAtPercentile(99) / Math.max(1, transit.getValueAtPercentile(99))).toFixed(2)}x`);

relay.kill('SIGTERM');
await new Promise((r) => relay.once('exit', r));
await writer.stop();
await probe.disconnect();
await deleteKeys(redis, config.keyPrefix);
redis.disconnect();
await sql`DROP SCHEMA IF EXISTS ${sql.id(run)} CASCADE`.execute(db);
await db.destroy();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [config.topics.orders, config.topics.deadLetter, config.topics.activity] }).catch(() => {});
await admin.disconnect();
process.exit(rows === result.held ? 0 : 1);
