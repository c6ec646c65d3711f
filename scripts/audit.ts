/**
 * The inventory audit command: compares each item's Redis counters with the Postgres ledger and
 * prints every drift. Exit code 0: all agree; 1: drift found; 2: the audit could not run.
 *
 *   npm run audit                          every item Redis knows
 *   npm run audit -- --item 42 --item 43   these items
 *   npm run audit -- --json                one JSON report per line
 *   npm run audit -- --writer-group g      the ledger writer's consumer group (default <prefix>ledger-writer)
 */
import { parseArgs } from 'node:util';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createKafka } from '../common/platform/kafka.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { Auditor } from '../inventory/auditor.ts';
import { Keys } from '../common/contracts/keys.ts';
import { LedgerFence } from '../inventory/ledger-fence.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const { values: args } = parseArgs({
  options: { item: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, 'writer-group': { type: 'string' } },
});
const config = loadConfig();
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'audit', nodeId: config.nodeId, stderr: true });
const life = createLifecycle({ log, name: 'audit' });
const redis = life.use('redis', createRedis(config, 'audit'), (r) => r.disconnect());
const db = life.use('postgres', createDbFromConfig(config, 2), (d) => d.destroy());
const kafka = createKafka(config, log, 'audit');
const fence = life.use('ledger fence', new LedgerFence({ kafka, topic: config.topics.orders, writerGroupId: args['writer-group'] ?? `${config.kafkaTopicPrefix}ledger-writer` }), (f) => f.close());
const auditor = new Auditor({ redis, keys: new Keys(config.keyPrefix), scripts: inventoryScripts(redis), db, fence, log });

// Closing the clients (in reverse order) and exiting with the audit's code is the lifecycle's.
await life.run(async () => {
  try {
    await assertNoEviction(redis);
    const reports = await auditor.audit(args.item);
    for (const r of reports) {
      if (args.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
      } else if (r.skipped) {
        process.stdout.write(`item ${r.itemId}: skipped (${r.skipped})\n`);
      } else if (r.ok) {
        process.stdout.write(`item ${r.itemId}: ok (version ${r.redisVer})\n`);
      } else {
        const d = r.drift.map((x) => `${x.field} redis=${x.redis} ledger=${x.ledger}`).join(', ');
        process.stdout.write(`item ${r.itemId}: DRIFT ${d}${r.behind ? ' (Redis is behind the ledger: rebuild it)' : ''}\n`);
      }
    }
    const drifted = reports.filter((r) => !r.ok && !r.skipped).length;
    if (!args.json) process.stdout.write(`${reports.length} items audited, ${drifted} with drift\n`);
    return drifted > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`audit failed: ${(err as Error).message}\n`);
    return 2;
  }
});
