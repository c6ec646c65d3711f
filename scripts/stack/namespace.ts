import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import type { Config } from '../../common/platform/config.ts';
import { ddlLockKey } from '../../orders/migrate.ts';

/*
 * A namespace is one run's own Redis key prefix, Kafka topic prefix and Postgres schema on the
 * shared services (tests, benchmarks and the production check each use their own).
 */

/**
 * Creates the namespace's Postgres schema on a connection of its own, before any pooled
 * connection opens with it in its search_path (a session that started while its schema did not
 * exist yet can fail parallel queries with "schema does not exist").
 */
export async function createSchema(config: Config): Promise<void> {
  const c = new pg.Client({ connectionString: config.databaseUrl });
  await c.connect();
  await c.query(`CREATE SCHEMA IF NOT EXISTS "${config.databaseSchema}"`);
  await c.end();
}

/** Deletes every key under `prefix` (a namespace's, never a bare pattern). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function dropNamespace(config: Config): Promise<void> {
  const redis = new Redis(config.redisUrl, { lazyConnect: true });
  await redis.connect();
  await deleteKeys(redis, config.keyPrefix);
  redis.disconnect();

  const c = new pg.Client({ connectionString: config.databaseUrl });
  await c.connect();
  // Under the DDL lock, so no migration of another test file reads the catalog meanwhile.
  await c.query('SELECT pg_advisory_lock($1)', [ddlLockKey]);
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${config.databaseSchema}" CASCADE`);
  } finally {
    await c.query('SELECT pg_advisory_unlock($1)', [ddlLockKey]).catch(() => {});
    await c.end();
  }

  const admin = new Kafka({ brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(config.kafkaTopicPrefix));
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}
