import type { TestProject } from 'vitest/node';
import { buildWeb } from '../scripts/build/web.ts';
import { ensureStack, stopStack, type StackState } from '../scripts/stack/stack.ts';

let started: StackState = {};

/** Builds the pages and makes Redis, Postgres and Kafka reachable (starting whatever is missing) before any test runs. */
export async function setup(_project: TestProject): Promise<void> {
  // The gateway serves the built pages only.
  await buildWeb({ quiet: true });
  const s = await ensureStack({ say: (line, transient) => !transient && process.stderr.write(`${line}\n`) });
  started = s.started;
  process.env.REDIS_URL = s.redisUrl;
  process.env.DATABASE_URL = s.databaseUrl;
  process.env.KAFKA_BROKERS = s.kafkaBrokers;
}

/** Stops only what setup started. */
export async function teardown(): Promise<void> {
  await stopStack({ only: started, say: (line) => process.stderr.write(`${line}\n`) });
}
