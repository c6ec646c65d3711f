import type { Admin, Kafka, Producer } from 'kafkajs';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import type { Config } from '../../common/platform/config.ts';
import { createLogger } from '../../common/platform/logger.ts';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import type { ActivityEvent } from '../../common/contracts/activity-events.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { auditRoomStats } from '../../orders/stats-audit.ts';
import { explainFigures, minuteSeries, productFigures, showFigures, showMetrics } from '../../orders/stats.ts';
import { Writer } from '../../orders/writer.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { waitFor } from '../helpers/wait.ts';
import { activity, held, paid } from './events.ts';

let config: Config;
let db: Kysely<Database>;
let kafka: Kafka;
let producer: Producer;
let admin: Admin;
const log = createLogger({ level: 'silent', name: 'test' });

beforeAll(async () => {
  config = testConfig();
  db = createDbFromConfig(config, 6);
  await migrateToLatest(db, config.databaseSchema);
  kafka = createKafka(config, log);
  await ensureTopics(kafka, config);
  producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await db?.destroy();
  if (config) await dropNamespace(config);
});

function writer(group: string): Writer {
  return new Writer({ kafka, db, topic: config.topics.orders, activityTopic: config.topics.activity, deadLetterTopic: config.topics.deadLetter, groupId: group, log });
}

async function produce(events: (InventoryEvent | string)[], key = (e: InventoryEvent | string) => (typeof e === 'string' ? 'x' : e.item)): Promise<void> {
  await producer.send({ topic: config.topics.orders, acks: -1, messages: events.map((e) => ({ key: key(e), value: typeof e === 'string' ? e : JSON.stringify(e) })) });
}

async function produceActivity(events: ActivityEvent[]): Promise<void> {
  await producer.send({ topic: config.topics.activity, acks: -1, messages: events.map((e) => ({ key: e.room, value: JSON.stringify(e) })) });
}

async function countOrders(room: string): Promise<number> {
  const r = await db.selectFrom('orders').select(db.fn.countAll<string>().as('n')).where('room_id', '=', room).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Committed offsets of the group equal the end of every partition. */
async function committedToEnd(group: string, topic: string): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return ends.every((p) => committed!.partitions.find((c) => c.partition === p.partition)?.offset === p.high || p.high === '0');
}

async function readDeadLetters(n: number): Promise<{ value: string; error: string; sourceOffset: string }[]> {
  const consumer = kafka.consumer({ groupId: `${config.kafkaTopicPrefix}dlq-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topics.deadLetter, fromBeginning: true });
  const got: { value: string; error: string; sourceOffset: string }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push({ value: message.value?.toString() ?? '', error: String(message.headers?.error ?? ''), sourceOffset: String(message.headers?.['source-offset'] ?? '') });
    },
  });
  await waitFor(`${n} dead letters`, () => got.length >= n);
  await consumer.disconnect();
  return got;
}

const T0 = Date.UTC(2026, 10, 24, 20, 0, 0);

describe('the writer over Kafka', () => {
  it('poison messages go to the dead-letter topic with their error; the partition keeps moving; offsets are committed after the ledger', async () => {
    const room = '501';
    const group = `${config.kafkaTopicPrefix}w1`;
    const w = writer(group);
    await w.start();
    try {
      // Everything on one partition (one key), the poison in the middle.
      const h1 = held({ item: '77', room, user: 'a', at: T0, ver: 1 });
      const bad = held({ item: '77', room, user: 'nul\u0000user', at: T0, ver: 2 }); // Postgres text cannot hold NUL: refused as data
      const h3 = held({ item: '77', room, user: 'c', at: T0, ver: 3 });
      await produce([h1, '{"not json', bad, JSON.stringify({ type: 'order.held', id: 'x' }), h3, paid(h1, T0 + 1000, 4)], () => 'item-77');
      await waitFor('two orders in the ledger', async () => (await countOrders(room)) === 2);
      await waitFor('the paid state', async () => (await db.selectFrom('orders').select('state').where('order_id', '=', (h1 as { order: string }).order).executeTakeFirst())?.state === 'paid');
      const dead = await readDeadLetters(3);
      expect(dead.some((d) => d.error.includes('invalid JSON'))).toBe(true);
      expect(dead.some((d) => d.error.startsWith('refused by the ledger') && d.value.includes('nul'))).toBe(true);
      expect(dead.some((d) => !d.error.includes('invalid JSON') && !d.error.startsWith('refused'))).toBe(true);
      expect(w.deadLettered).toBe(3);
      await waitFor('offsets committed to the end', () => committedToEnd(group, config.topics.orders));
    } finally {
      await w.stop();
    }

    // A second writer in the same group resumes after the committed offsets: only new events arrive.
    const w2 = writer(group);
    await w2.start();
    try {
      await produce([held({ item: '77', room, user: 'd', at: T0, ver: 5 })]);
      await waitFor('the third order', async () => (await countOrders(room)) === 3 && w2.written > 0);
      await waitFor('offsets committed to the end', () => committedToEnd(group, config.topics.orders));
      expect(w2.written).toBe(1);
      expect(w2.deadLettered).toBe(0);
      expect(await auditRoomStats(db, room)).toEqual([]);
    } finally {
      await w2.stop();
    }
  });

  it('room activity and orders give every dictionary metric, per show, per product and per minute', async () => {
    const room = '601';
    const [A, B] = ['81', '82'];
    const m = (i: number, s = 0) => T0 + i * 60_000 + s * 1000;
    const w = writer(`${config.kafkaTopicPrefix}w2`);
    await w.start();
    try {
      // Viewers: u1, u2, u3 enter (u1 twice); u4 enters in minute 2. Watch: 60 s + 30 s + 90 s.
      // A on air minute 0 to 2, B from minute 2 on.
      const act = [
        activity.onAir(room, A, m(0)),
        activity.joined(room, 'u1', m(0, 1)),
        activity.joined(room, 'u2', m(0, 2)),
        activity.joined(room, 'u3', m(0, 3)),
        activity.online(room, 3, m(0, 4)),
        activity.clicked(room, 'u1', A, m(0, 5)),
        activity.clicked(room, 'u1', A, m(0, 6)),
        activity.clicked(room, 'u2', A, m(0, 7)),
        activity.clicked(room, 'u2', B, m(1, 7)),
        activity.followed(room, 'u2', m(1, 8)),
        activity.left(room, 'u1', m(1, 1), 60_000),
        activity.joined(room, 'u1', m(1, 2)),
        activity.online(room, 2, m(1, 3)),
        activity.onAir(room, B, m(2)),
        activity.joined(room, 'u4', m(2, 1)),
        activity.online(room, 4, m(2, 2)),
        activity.online(room, 3, m(2, 30)),
        activity.left(room, 'u2', m(2, 3), 30_000),
        activity.left(room, 'u3', m(2, 4), 90_000),
        activity.clicked(room, 'u4', B, m(2, 5)),
        activity.followed(room, 'u4', m(2, 6)),
        activity.followed(room, 'u4', m(2, 7)), // again: still one follower
      ];
      // u1 buys A on air (paid); u2 buys A after its slot (held only) and B on air (paid).
      const o1 = held({ item: A, room, user: 'u1', price: 1000, at: m(0, 10), ver: 1 });
      const o2 = held({ item: A, room, user: 'u2', price: 1000, qty: 2, at: m(2, 10), ver: 2 });
      const o3 = held({ item: B, room, user: 'u2', price: 3000, at: m(2, 11), ver: 1 });
      const o4 = held({ item: B, room, user: 'u5', price: 3000, at: m(1, 0), ver: 2 }); // before B was on air
      await produceActivity(act);
      // Activity the ledger cannot take goes to the dead-letter topic too: a room that is not an id, an unknown type.
      await producer.send({
        topic: config.topics.activity,
        acks: -1,
        messages: [
          { key: room, value: JSON.stringify({ ...activity.joined('not-a-room', 'u9', m(0)) }) },
          { key: room, value: JSON.stringify({ id: 'x1', type: 'viewer.teleported', room, at: m(0) }) },
        ],
      });
      await produce([o1, o2, o3, o4, paid(o1, m(1, 20), 3), paid(o3, m(2, 20), 3)]);
      // Dead letters: these two, and the first test's three poison messages (this new group reads the orders topic from its start).
      await waitFor('activity and orders written', async () => w.activityWritten === act.length && w.written === 6 && w.deadLettered === 5, 30_000);

      const f = await showFigures(db, room);
      expect(f).toEqual({
        placedOrders: 4,
        orderedGmv: 1000 + 2000 + 3000 + 3000,
        paidOrders: 2,
        paidGmv: 4000,
        refunds: 0,
        refunded: 0,
        buyers: 2,
        uv: 4,
        pv: 5,
        watchMs: 180_000,
        online: 3,
        peakOnline: 4,
        productVisitors: 3,
        newFollowers: 2,
      });
      const metrics = Object.fromEntries(showMetrics(f, { onAir: 0, after: 0, before: 0 }).map((x) => [x.metric, x]));
      expect(metrics.avg_watch_seconds).toMatchObject({ value: 45, numerator: 180_000, denominator: 4, unit: 'seconds', version: 1 });
      expect(metrics.click_conversion).toMatchObject({ value: 3 / 4, numerator: 3, denominator: 4, unit: 'ratio' });
      expect(metrics.order_conversion).toMatchObject({ value: 2 / 3, numerator: 2, denominator: 3 });
      expect(metrics.net_paid_gmv!.value).toBe(4000);

      const products = await productFigures(db, room);
      expect(products.get(A)).toMatchObject({ placedOrders: 2, orderedGmv: 3000, paidOrders: 1, paidGmv: 1000, buyers: 1, productVisitors: 2 });
      expect(products.get(B)).toMatchObject({ placedOrders: 2, orderedGmv: 6000, paidOrders: 1, paidGmv: 3000, buyers: 1, productVisitors: 2 });

      const explain = await explainFigures(db, room);
      expect(explain.get(A)).toEqual({ onAir: 1000, after: 2000, before: 0 });
      expect(explain.get(B)).toEqual({ onAir: 3000, after: 0, before: 3000 });

      const series = await minuteSeries(db, room);
      expect(series.map((s) => s.minute)).toEqual([m(0), m(1), m(2)]);
      expect(series.map((s) => [s.placedOrders, s.orderedGmv, s.paidOrders, s.paidGmv, s.buyers])).toEqual([
        [1, 1000, 0, 0, 0],
        [1, 3000, 1, 1000, 1],
        [2, 5000, 1, 3000, 1],
      ]);
      expect(series.map((s) => [s.uv, s.pv, s.productVisitors, s.newFollowers, s.online, s.peakOnline])).toEqual([
        [3, 3, 2, 0, 3, 3],
        [1, 1, 1, 1, 2, 2],
        [1, 1, 1, 1, 3, 4],
      ]);
      // Re-delivering the activity changes nothing.
      await produceActivity(act);
      await produce([o1]);
      await waitFor('the re-delivery to be consumed', () => committedToEnd(`${config.kafkaTopicPrefix}w2`, config.topics.orders));
      await waitFor('the activity re-delivery to be consumed', () => committedToEnd(`${config.kafkaTopicPrefix}w2.activity`, config.topics.activity));
      expect(await showFigures(db, room)).toEqual(f);
      expect(await auditRoomStats(db, room)).toEqual([]);
      // The audit notices a kept figure that drifted from its events, and a fen off in the ledger figures.
      await db.updateTable('room_viewers').set({ entries: 3 }).where('room_id', '=', room).where('user_id', '=', 'u1').execute();
      await db.updateTable('stats_minute').set({ ordered_gmv: sql`ordered_gmv + 1` }).where('room_id', '=', room).where('item_id', '=', A).where('minute', '=', new Date(m(0))).execute();
      expect(await auditRoomStats(db, room)).toEqual([
        { itemId: '*', minute: '*', field: 'pv', kept: 6, recomputed: 5 },
        { itemId: A, minute: new Date(m(0)).toISOString(), field: 'ordered_gmv', kept: 1001, recomputed: 1000 },
      ]);
    } finally {
      await w.stop();
    }
  });
});
