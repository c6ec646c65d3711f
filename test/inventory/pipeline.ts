import type { Cluster, Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Kysely } from 'kysely';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import type { Config } from '../../common/platform/config.ts';
import { createLogger, type Logger } from '../../common/platform/logger.ts';
import { Auditor } from '../../inventory/auditor.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { GroupBuy } from '../../inventory/group-buy.ts';
import { Keeper } from '../../inventory/keeper.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { LedgerFence } from '../../inventory/ledger-fence.ts';
import type { Scripts } from '../../common/platform/lua-loader.ts';
import { Payments } from '../../inventory/payments.ts';
import { Rebuilder, type RebuildReport } from '../../inventory/rebuild.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { Catalog } from '../../orders/catalog.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { Relay } from '../../orders/relay.ts';
import { Writer } from '../../orders/writer.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { waitFor } from '../helpers/wait.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

/**
 * The inventory with the whole ledger pipeline behind it, in this process: a Redis (often a
 * private one, so a test may wipe or restart it), the outbox relay and the ledger writer on the
 * shared Kafka and Postgres in a fresh namespace, payments, the rebuild and the auditor.
 */
export interface Pipeline {
  config: Config;
  log: Logger;
  redis: Redis | Cluster;
  db: Kysely<Database>;
  kafka: Kafka;
  keys: Keys;
  scripts: Scripts;
  flash: FlashSale;
  groups: GroupBuy;
  payments: Payments;
  catalog: Catalog;
  fence: LedgerFence;
  rebuilder: Rebuilder;
  auditor: Auditor;
  keeper: Keeper;
  sweeper: Sweeper;
  relay: Relay;
  /** Every rebuild the keeper made. */
  rebuilt: RebuildReport[];
  /** A catalog room to create items in. */
  roomId: string;
  /** Waits until every outbox is relayed and the writer has everything Kafka has. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPipeline(redis: Redis | Cluster, opts: { graceMs?: number; confirmTimeoutMs?: number } = {}): Promise<Pipeline> {
  const config = testConfig();
  const log = createLogger({ level: config.logLevel, name: 'test', nodeId: config.nodeId });
  const db = createDbFromConfig(config, 10);
  await migrateToLatest(db, config.databaseSchema);
  const kafka = createKafka(config, log);
  await ensureTopics(kafka, config);
  const keys = new Keys(config.keyPrefix);
  const scripts = inventoryScripts(redis);
  const deps = { redis, keys, scripts };
  const writerGroupId = `${config.kafkaTopicPrefix}writer`;
  const writer = new Writer({ kafka, db, topic: config.topics.orders, deadLetterTopic: config.topics.deadLetter, groupId: writerGroupId, log });
  await writer.start();
  const relay = new Relay({ redis, keys, kafka, topic: config.topics.orders, log, consumer: config.nodeId, idleMs: 5 });
  await relay.start();
  const confirmTimeoutMs = opts.confirmTimeoutMs ?? 1000;
  const payments = new Payments({ ...deps, kafka, topic: config.topics.orders, confirmTimeoutMs });
  await payments.start();
  const fence = new LedgerFence({ kafka, topic: config.topics.orders, writerGroupId });
  const rebuilder = new Rebuilder({ ...deps, db, fence, log, graceMs: opts.graceMs ?? confirmTimeoutMs + 200, fenceTimeoutMs: 30_000 });
  const auditor = new Auditor({ ...deps, db, fence, log });
  const rebuilt: RebuildReport[] = [];
  const keeper = new Keeper({ redis, keys, db, rebuilder, log, intervalMs: 100, settleMs: 0, onRebuilt: (r) => void rebuilt.push(r) });
  const sweeper = new Sweeper({ ...deps, log, intervalMs: 100, onUnavailable: (id) => keeper.notify(id) });
  const catalog = new Catalog(db);
  const room = await catalog.createRoom('inventory test', 'host-1');
  const p: Pipeline = {
    config,
    log,
    redis,
    db,
    kafka,
    keys,
    scripts,
    flash: new FlashSale(deps),
    groups: new GroupBuy(deps),
    payments,
    catalog,
    fence,
    rebuilder,
    auditor,
    keeper,
    sweeper,
    relay,
    rebuilt,
    roomId: room.id,
    async drain() {
      await waitFor(
        'every outbox relayed',
        async () => {
          const ids = await redis.smembers(keys.outboxRegistry);
          for (const id of ids) if ((await redis.xlen(keys.item(id).outbox)) > 0) return false;
          return true;
        },
        30_000,
        20,
      );
      await fence.wait(30_000);
    },
    async stop() {
      await keeper.stop();
      await sweeper.stop();
      await relay.stop();
      await payments.stop();
      await writer.stop();
      await fence.close();
      await db.destroy();
      await dropNamespace(config);
    },
  };
  return p;
}
