/**
 * Benchmark: the ledger writer's throughput, Kafka -> Postgres with the order state machine and
 * the per-minute figures, against a baseline that inserts the same rows with plain multi-row
 * INSERTs (no Kafka, no state machine, no figures), in the same run, same Postgres.
 *
 *   npm run bench:writer [-- --orders 60000 --concurrency 6]
 *
 * Each order gets a hold; 60 % are paid, 10 % cancelled, 10 % expired, 20 % stay held; 5 % of
 * the paid ones get a refund. Everything is produced to a fresh orders topic first; then the
 * writer consumes it from the beginning. Events/s counts from the end of the first committed
 * batch to the last one (the consumer group's join is not part of it).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { foldOrder, isOrderEvent, type OrderEvent } from '../orders/order-fold.ts';
import { auditRoomStats } from '../orders/stats-audit.ts';
import { Writer } from '../orders/writer.ts';
import { ensureStack } from '../scripts/stack/stack.ts';

const { values: args } = parseArgs({ options: { orders: { type: 'string', default: '60000' }, concurrency: { type: 'string', default: '6' }, batch: { type: 'string', default: '2000' } } });
const ORDERS = Number(args.orders);
const CONCURRENCY = Number(args.concurrency);
const BASELINE_BATCH = Number(args.batch);

const stack = await ensureStack({ say: (l, t) => !t && console.error(l) });
const run = `benchw${Date.now().toString(36)}`;
const config = loadConfig({ livesaleEnv: 'development', databaseSchema: run, kafkaTopicPrefix: `${run}.`, kafkaPartitions: 6, logLevel: 'warn', nodeId: run }, { ...process.env, REDIS_URL: stack.redisUrl, DATABASE_URL: stack.databaseUrl, KAFKA_BROKERS: stack.kafkaBrokers });
const log = createLogger({ level: 'warn', name: 'bench' });
const db = createDbFromConfig(config, 10);
await migrateToLatest(db, run);
const kafka = createKafka(config, log, 'bench');
await ensureTopics(kafka, config);

// ---- the events: 12 items in 2 rooms, item versions increasing per item
const rooms = ['901', '902'];
const items = Array.from({ length: 12 }, (_, i) => ({ id: String(7001 + i), room: rooms[i % 2]! }));
const ver = new Map(items.map((i) => [i.id, 0]));
const t0 = Date.now() - 3600_000;
const events: InventoryEvent[] = [];
for (let n = 0; n < ORDERS; n++) {
  const it = items[n % items.length]!;
  const order = randomUUID();
  const at = t0 + Math.floor((n / ORDERS) * 3000_000);
  const user = `u${n % 20_000}`;
  const qty = 1 + (n % 3);
  const price = 990 + (n % 7) * 100;
  const next = () => ver.set(it.id, ver.get(it.id)! + 1).get(it.id)!;
  const base = { order, item: it.id, room: it.room, user, qty };
  events.push({ ...base, id: `${order}:held`, type: 'order.held', kind: 'flash', price, amount: price * qty, at, deadline: at + 900_000, ver: next(), idem: `k${n}` });
  const fate = n % 10;
  if (fate < 6) {
    events.push({ ...base, id: `${order}:paid`, type: 'order.paid', amount: price * qty, at: at + 30_000, ver: next() });
    if (n % 20 === 0) events.push({ id: `${order}:refund`, type: 'refund.issued', order, item: it.id, room: it.room, user, amount: price, reason: 'tier_settlement', at: at + 60_000, ver: next() });
  } else if (fate === 6) {
    events.push({ ...base, id: `${order}:cancelled`, type: 'order.cancelled', reason: 'user', at: at + 10_000, ver: next() });
  } else if (fate === 7) {
    events.push({ ...base, id: `${order}:expired`, type: 'order.expired', at: at + 900_000, ver: next() });
  }
}
console.error(`producing ${events.length} events (${ORDERS} orders) to ${config.topics.orders} …`);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
for (let i = 0; i < events.length; i += 5000) {
  await producer.send({ topic: config.topics.orders, acks: -1, messages: events.slice(i, i + 5000).map((e) => ({ key: e.item, value: JSON.stringify(e) })) });
}
await producer.disconnect();

// ---- the writer
let firstCommit = 0;
let firstBatch = 0;
let lastCommit = 0;
let batches = 0;
let seen = 0;
let done!: () => void;
const finished = new Promise<void>((r) => (done = r));
const writer = new Writer({
  kafka,
  db,
  topic: config.topics.orders,
  deadLetterTopic: config.topics.deadLetter,
  groupId: `${run}.writer`,
  log,
  concurrency: CONCURRENCY,
  onCommit: (_rooms, info) => {
    batches++;
    seen += info.events.length;
    if (!firstCommit) {
      firstCommit = info.committedAt;
      firstBatch = info.events.length;
    }
    lastCommit = info.committedAt;
    if (seen >= events.length) done();
  },
});
console.error(`writer consuming (partitions at once: ${CONCURRENCY}) …`);
await writer.start();
await finished;
await writer.stop();
const writerRate = (events.length - firstBatch) / ((lastCommit - firstCommit) / 1000);

// Correctness after the run: every order row is the fold of its events; the figures equal a recomputation.
const byOrder = new Map<string, OrderEvent[]>();
for (const e of events) if (isOrderEvent(e)) byOrder.set(e.order, [...(byOrder.get(e.order) ?? []), e]);
const rows = await db.selectFrom('orders').select(['order_id', 'state', 'amount']).execute();
let wrong = 0;
for (const r of rows) {
  const want = foldOrder(byOrder.get(r.order_id)!);
  if (!want || want.state !== r.state || want.amount !== Number(r.amount)) wrong++;
}
const mismatches = (await Promise.all(rooms.map((room) => auditRoomStats(db, room)))).flat().length;

// ---- the baseline: the same event rows and final order rows, multi-row INSERT, same batch size
const base = `${run}_base`;
const baseDb = createDbFromConfig({ ...config, databaseSchema: base }, 2);
await migrateToLatest(baseDb, base);
const finalRows = [...byOrder.values()].map((evs) => foldOrder(evs)!);
const tb = Date.now();
for (let i = 0; i < events.length; i += BASELINE_BATCH) {
  const chunk = events.slice(i, i + BASELINE_BATCH);
  await baseDb
    .insertInto('order_events')
    .values(
      chunk.map((e) => ({
        event_id: e.id,
        order_id: isOrderEvent(e) ? e.order : null,
        type: e.type,
        item_id: e.item,
        room_id: e.room,
        occurred_at: new Date(e.at),
        payload: JSON.stringify(e),
        ver: String(e.ver),
      })),
    )
    .execute();
}
const orderBatch = Math.floor(BASELINE_BATCH / 2);
for (let i = 0; i < finalRows.length; i += orderBatch) {
  await baseDb
    .insertInto('orders')
    .values(
      finalRows.slice(i, i + orderBatch).map((r) => ({
        order_id: r.orderId,
        item_id: r.itemId,
        room_id: r.roomId,
        user_id: r.userId,
        qty: r.qty,
        unit_price: r.unitPrice,
        amount: r.amount,
        state: r.state,
        held_at: new Date(r.heldAt),
        deadline_at: r.deadlineAt === null ? null : new Date(r.deadlineAt),
        paid_at: r.paidAt === null ? null : new Date(r.paidAt),
      })),
    )
    .execute();
}
const baseRate = events.length / ((Date.now() - tb) / 1000);

console.log('');
console.log(`events: ${events.length} (${ORDERS} orders; holds, payments, cancellations, expiries, refunds) on 6 partitions`);
console.log(`${'path'.padEnd(70)}events/s`);
console.log(`${'baseline: multi-row INSERT of the event rows and the final order rows'.padEnd(70)}${baseRate.toFixed(0)}`);
console.log(`${`livesale writer: Kafka -> ledger + state machine + per-minute figures`.padEnd(70)}${writerRate.toFixed(0)}`);
console.log(`ratio writer/baseline: ${(writerRate / baseRate).toFixed(2)}x   (writer: ${batches} batches, ${CONCURRENCY} partitions at once)`);
console.log(`check: ${rows.length} order rows, ${wrong} differ from the fold of their events; ${mismatches} figure mismatches against a recomputation`);

await baseDb.destroy();
await sql`DROP SCHEMA IF EXISTS ${sql.id(run)} CASCADE`.execute(db);
await sql`DROP SCHEMA IF EXISTS ${sql.id(base)} CASCADE`.execute(db);
await db.destroy();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [config.topics.orders, config.topics.deadLetter, config.topics.activity] }).catch(() => {});
await admin.disconnect();
process.exit(wrong || mismatches ? 1 : 0);
