/**
 * The ledger writer process: the Kafka orders topic -> the order ledger in Postgres, the
 * room-activity topic -> the activity tables, and live figures to ops dashboards after each
 * committed batch (through the rooms' backplane channels in Redis); every SEGMENT_REFRESH_SECONDS
 * each shopper's lifecycle stage from the ledger to its serving copy in Redis, and after each
 * batch the stages of the shoppers it paid, cancelled or refunded.
 */
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { RoomStore } from '../gateway/room-store.ts';
import { Keys } from '../common/contracts/keys.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { StatsPusher } from '../orders/stats-push.ts';
import { Writer } from '../orders/writer.ts';
import { startHeartbeat } from '../common/platform/heartbeat.ts';
import { StageRefresher, purchasersOf } from '../orders/segments.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'writer', nodeId: config.nodeId });
const life = createLifecycle({ log, name: 'writer' });
const db = life.use('postgres', createDbFromConfig(config), (d) => d.destroy());
await migrateToLatest(db, config.databaseSchema);
const kafka = createKafka(config, log, 'writer');
await ensureTopics(kafka, config);
const redis = life.use('redis', createRedis(config, `writer-${config.nodeId}`), (r) => r.disconnect());
await assertNoEviction(redis);
const store = new RoomStore({ redis, keys: new Keys(config.keyPrefix) });
const pusher = life.use('stats push', new StatsPusher({ db, log, minIntervalMs: config.statsPushMs, publish: (roomId, payload) => store.publishEphemeral(roomId, 'stats', payload) }), (p) => p.close());
// The lifecycle stages buys and reminders read (Keys.memberStages), recomputed from the ledger:
// every shopper each round, and the shoppers of each committed batch's payments and refunds.
const stages =
  config.segmentRefreshSeconds > 0 ? new StageRefresher({ db, redis, keys: new Keys(config.keyPrefix), intervalMs: config.segmentRefreshSeconds * 1000, log }) : undefined;
// Stopped after the writer (the lifecycle closes in reverse), so a last batch's shoppers are refreshed too.
if (stages) {
  stages.start();
  life.add('stage refresh', () => stages.stop());
}
const writer = new Writer({
  kafka,
  db,
  topic: config.topics.orders,
  activityTopic: config.topics.activity,
  deadLetterTopic: config.topics.deadLetter,
  groupId: `${config.kafkaTopicPrefix}ledger-writer`,
  log,
  onCommit: (rooms, info) => {
    pusher.notify(rooms, info.committedAt);
    stages?.note(purchasersOf(info.events));
  },
});
await writer.start();
life.add('writer', () => writer.stop());
const heartbeat = startHeartbeat({ redis, key: new Keys(config.keyPrefix).heartbeats('writer'), member: config.nodeId, intervalMs: config.heartbeatMs, log });
life.add('heartbeat', () => heartbeat.stop());
log.info({ topics: [config.topics.orders, config.topics.activity] }, 'writer running');
