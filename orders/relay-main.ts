/** The outbox relay process: Redis outbox streams -> Kafka orders topic. */
import { createRedis } from '../common/clients.ts';
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdown } from '../common/shutdown.ts';
import { Keys } from '../inventory/keys.ts';
import { createKafka, ensureTopics } from './kafka.ts';
import { Relay } from './relay.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'relay', nodeId: config.nodeId });
const redis = createRedis(config, `relay-${config.nodeId}`);
const kafka = createKafka(config, log, 'relay');
await ensureTopics(kafka, config);
const relay = new Relay({ redis, keys: new Keys(config.keyPrefix), kafka, topic: config.topics.orders, log, consumer: config.nodeId, claimIdleMs: config.relayClaimIdleMs });
await relay.start();
log.info({ topic: config.topics.orders }, 'relay running');
onShutdown(log, async () => {
  await relay.stop();
  redis.disconnect();
});
