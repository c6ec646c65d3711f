/**
 * The local stack: Redis, Postgres and Kafka on loopback.
 *
 *   npm run stack           start what is missing (harmless to run twice)
 *   npm run stack -- status show what answers and what the stack started
 *   npm run stack -- down   stop only what the stack started, delete its throwaway data
 */
import { ensureStack, stackStatus, stopStack } from './stack/stack.ts';

const cmd = process.argv[2] ?? 'up';
try {
  if (cmd === 'up') {
    const s = await ensureStack();
    console.log(`\nREDIS_URL=${s.redisUrl}\nDATABASE_URL=${s.databaseUrl}\nKAFKA_BROKERS=${s.kafkaBrokers}`);
  } else if (cmd === 'down') {
    await stopStack();
    console.log('[stack] stopped what the stack had started');
  } else if (cmd === 'status') {
    for (const line of await stackStatus()) console.log(line);
  } else {
    console.error(`unknown command "${cmd}"; use up, down or status`);
    process.exitCode = 2;
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
