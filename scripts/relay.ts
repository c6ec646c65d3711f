/** The outbox relay process: Redis outbox streams -> Kafka orders topic. */
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { Keys } from '../common/contracts/keys.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { Relay } from '../orders/relay.ts';
import { startHeartbeat } from '../common/platform/heartbeat.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'relay', nodeId: config.nodeId });
const life = createLifecycle({ log, name: 'relay' });
const redis = life.use('redis', createRedis(config, `relay-${config.nodeId}`), (r) => r.disconnect());
await assertNoEviction(redis);
const kafka = createKafka(config, log, 'relay');
await ensureTopics(kafka, config);
const relay = new Relay({ redis, keys: new Keys(config.keyPrefix), kafka, topic: config.topics.orders, log, consumer: config.nodeId, claimIdleMs: config.relayClaimIdleMs });
await relay.start();
life.add('relay', () => relay.stop());
const keys = new Keys(config.keyPrefix);
const heartbeat = startHeartbeat({ redis, key: keys.heartbeats('relay'), member: config.nodeId, intervalMs: config.heartbeatMs, log });
life.add('heartbeat', () => heartbeat.stop());
log.info({ topic: config.topics.orders }, 'relay running');
