/**
 * The inventory sweeper process: expires unpaid holds (exactly once, safe beside other sweepers),
 * sends payment and pre-heat reminders, applies scheduled prices, closes and settles group buys
 * at their end, retires items whose sale is over and fully relayed (their keys then expire after
 * ITEM_RETENTION_SECONDS); watches for items Redis lost and rebuilds them from the ledger (keeper); audits
 * Redis against the ledger every AUDIT_INTERVAL_MS. What viewers must see goes to their rooms.
 */
import { createServer } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { RoomStore } from '../gateway/room-store.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { ensureMemberTiers } from '../orders/members.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { Auditor } from '../inventory/auditor.ts';
import { Keeper } from '../inventory/keeper.ts';
import { Keys } from '../common/contracts/keys.ts';
import { LedgerFence } from '../inventory/ledger-fence.ts';
import { Rebuilder } from '../inventory/rebuild.ts';
import { recordRetired } from '../inventory/retirement.ts';
import { RoomPublisher } from '../gateway/room-publisher.ts';
import { Sweeper } from '../inventory/sweeper.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'sweeper', nodeId: config.nodeId });
const life = createLifecycle({ log, name: 'sweeper' });
const redis = life.use('redis', createRedis(config, `sweeper-${config.nodeId}`), (r) => r.disconnect());
await assertNoEviction(redis);
const db = life.use('postgres', createDbFromConfig(config, 4), (d) => d.destroy());
await migrateToLatest(db, config.databaseSchema);
const kafka = createKafka(config, log, 'sweeper');
await ensureTopics(kafka, config);
const keys = new Keys(config.keyPrefix);
const scripts = inventoryScripts(redis);
const deps = { redis, keys, scripts };
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const fence = life.use('ledger fence', new LedgerFence({ kafka, topic: config.topics.orders, writerGroupId: `${config.kafkaTopicPrefix}ledger-writer` }), (f) => f.close());
// A rebuilt item reopens only once the member tiers' serving copy is back (no gold member priced as regular).
const rebuilder = new Rebuilder({ ...deps, db, fence, log, beforeReopen: () => ensureMemberTiers({ db, redis, keys }) });
const keeper = new Keeper({ redis, keys, db, rebuilder, log });
const rooms = new RoomPublisher({ store: new RoomStore({ redis, keys }), log, signal: life.signal });
const sweeper = new Sweeper({
  ...deps,
  log,
  intervalMs: config.sweepIntervalMs,
  onChange: (s) => rooms.publish(s),
  onUnavailable: (itemId) => keeper.notify(itemId),
  retentionMs: config.itemRetentionSeconds * 1000,
  retireGraceMs: config.itemRetireGraceSeconds * 1000,
  onRetired: (items) => recordRetired(db, items),
});
const auditor = new Auditor({ ...deps, db, fence, log, registry });
let auditTimer: NodeJS.Timeout | undefined;
const audit = async () => {
  try {
    const reports = await auditor.audit();
    const drifted = reports.filter((r) => !r.ok && !r.skipped);
    log.info({ items: reports.length, drifted: drifted.length }, 'inventory audit done');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'inventory audit could not run');
  } finally {
    if (config.auditIntervalMs > 0 && !life.signal.aborted) auditTimer = setTimeout(audit, config.auditIntervalMs);
  }
};

// GET /metrics: the audit's drift gauges and counters, for Prometheus.
const metricsServer = createServer((req, res) => {
  if (req.method !== 'GET' || req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
    (err: unknown) => res.writeHead(500).end(String(err)),
  );
});
if (config.sweeperMetricsPort > 0) {
  metricsServer.on('error', (err) => log.warn({ err: err.message, port: config.sweeperMetricsPort }, 'cannot serve /metrics'));
  metricsServer.listen(config.sweeperMetricsPort, config.host);
  life.add('metrics server', () => {
    const closed = new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    metricsServer.closeAllConnections(); // a scraper's keep-alive connection would hold it open
    return closed;
  });
}

keeper.start();
life.add('keeper', () => keeper.stop());
sweeper.start();
life.add('sweeper', () => sweeper.stop());
if (config.auditIntervalMs > 0) auditTimer = setTimeout(audit, config.auditIntervalMs);
life.add('audit timer', () => clearTimeout(auditTimer));
log.info({ sweepIntervalMs: config.sweepIntervalMs, auditIntervalMs: config.auditIntervalMs }, 'sweeper running');
