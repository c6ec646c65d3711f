import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../common/platform/config.ts';

/**
 * A fresh namespace for one test: its own Redis key prefix, Kafka topic prefix and Postgres
 * schema, so tests never see each other's data. `drop` removes all three.
 */
export function testConfig(overrides: Parameters<typeof loadConfig>[0] = {}): Config {
  const id = randomBytes(4).toString('hex');
  return loadConfig({
    keyPrefix: `t${id}:`,
    kafkaTopicPrefix: `t${id}.`,
    databaseSchema: `t_${id}`,
    kafkaPartitions: 3,
    port: 0,
    jwtSecret: 'test-secret-test-secret-test-secret-0123',
    logLevel: process.env.LOG_LEVEL ?? 'silent',
    nodeId: `test-${id}`,
    stockTickMs: 20,
    // The in-process test system has no relay or writer processes to beat.
    readyPipeline: false,
    ...overrides,
  });
}

// Creating and dropping a namespace is shared with the benchmarks and the production check.
export { createSchema, dropNamespace } from '../../scripts/stack/namespace.ts';
