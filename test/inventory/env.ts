import type { Cluster, Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../../common/platform/config.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { GroupBuy } from '../../inventory/group-buy.ts';
import { Keys } from '../../common/contracts/keys.ts';
import type { Scripts } from '../../common/platform/lua-loader.ts';
import { Payments } from '../../inventory/payments.ts';
import { ensureTopics } from '../../common/platform/kafka.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

/** What the inventory suites run against: a Redis (single or Cluster) and the shared Kafka. */
export interface InventoryEnv {
  config: Config;
  redis: Redis | Cluster;
  keys: Keys;
  scripts: Scripts;
  flash: FlashSale;
  groups: GroupBuy;
  kafka: Kafka;
  payments: Payments;
  /** A fresh item id (unique in this run). */
  itemId(): string;
}

export async function inventoryEnv(config: Config, redis: Redis | Cluster): Promise<InventoryEnv & { close(): Promise<void> }> {
  const keys = new Keys(config.keyPrefix);
  const scripts = inventoryScripts(redis);
  const deps = { redis, keys, scripts };
  const kafka = new Kafka({ clientId: `test-${config.nodeId}`, brokers: [...config.kafkaBrokers], logLevel: logLevel.NOTHING });
  await ensureTopics(kafka, config);
  // Twice the production bound: suites run beside others, and a busy broker acknowledges slowly.
  const payments = new Payments({ ...deps, kafka, topic: config.topics.orders, confirmTimeoutMs: 10_000 });
  await payments.start();
  let seq = 0;
  return {
    config,
    redis,
    keys,
    scripts,
    flash: new FlashSale(deps),
    groups: new GroupBuy(deps),
    kafka,
    payments,
    itemId: () => `${Date.now().toString(36)}${++seq}`,
    async close() {
      await payments.stop();
    },
  };
}
