import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { retry, retryPolicy } from './retry.ts';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const transientKafka = /coordinator is loading|coordinator is not available|Restarting the consumer/;

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A KafkaJS client whose logs go to our pino logger (warnings and errors only by default). */
export function createKafka(config: Pick<Config, 'kafkaBrokers' | 'nodeId'>, log: Logger, clientId = 'livesale'): Kafka {
  return new Kafka({
    clientId: `${clientId}-${config.nodeId}`,
    brokers: [...config.kafkaBrokers],
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      // The payments producer bounds its retries on purpose (a payer gets an answer in time) and
      // is replaced after any failed send; duplicates are dropped by event id downstream. kafkajs
      // warns about that at every start, which would read as a fault: keep it at debug.
      // While a broker warms up (coordinator loading or not yet elected) kafkajs logs errors
      // that it retries itself: those are not faults of ours, so they are kept at info.
      const warmingUp = transientKafka.test(`${message} ${String(rest.error ?? '')} ${String(rest.stack ?? '').split('\n')[0]}`);
      const level = message.startsWith('Limiting retries for the idempotent producer') ? 'debug' : warmingUp ? 'info' : (levels[entry.level] ?? 'info');
      log[level]({ kafka: entry.namespace, ...rest }, message);
    },
  });
}

/** Creates the service's topics when missing (orders keyed by item, dead letters, room activity). */
export async function ensureTopics(kafka: Kafka, config: Pick<Config, 'topics' | 'kafkaPartitions'>): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: config.topics.orders, numPartitions: config.kafkaPartitions },
      { topic: config.topics.deadLetter, numPartitions: 1 },
      { topic: config.topics.activity, numPartitions: config.kafkaPartitions },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length) {
      await admin.createTopics({ topics: wanted, waitForLeaders: true });
      // A partition's leader can be known before its log answers (NOT_LEADER_FOR_PARTITION for a
      // moment): the topics are ready once every partition answers a ListOffsets.
      await retry(
        async () => {
          for (const t of wanted) await admin.fetchTopicOffsets(t.topic);
        },
        { policy: retryPolicy({ initialMs: 50, maxMs: 1000, retries: 40 }) },
      );
    }
  } finally {
    await admin.disconnect();
  }
}
