import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { FlashSale, type Held, type ReserveResult } from '../../inventory/flash-sale.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { LedgerFence } from '../../inventory/ledger-fence.ts';
import { Payments } from '../../inventory/payments.ts';
import { Promotions } from '../../inventory/promotions.ts';
import { Rebuilder } from '../../inventory/rebuild.ts';
import { Catalog } from '../../orders/catalog.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { redisNow } from './helpers.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

/**
 * The coupon ledger after Redis lost an item: the rebuild restores each hold's coupon (reserved,
 * spent, freed), each campaign's coupons left, issued and spent, the per-user counts and the
 * member-day rule from the events, so a payment after the rebuild is charged the discounted
 * price and no coupon is lost or given twice.
 */

const config = testConfig();
const log = createLogger({ level: config.logLevel, name: 'test' });
const redis = createRedis(config);
const db = createDbFromConfig(config, 4);
const kafka = createKafka(config, log);
const keys = new Keys(config.keyPrefix);
const scripts = inventoryScripts(redis);
const deps = { redis, keys, scripts };
const flash = new FlashSale(deps);
const promo = new Promotions(deps);
const catalog = new Catalog(db);
const fence = new LedgerFence({ kafka, topic: config.topics.orders, writerGroupId: `${config.kafkaTopicPrefix}writer` });
const rebuilder = new Rebuilder({ ...deps, db, fence, log, graceMs: 0, fenceTimeoutMs: 10_000 });
let payments: Payments;
let roomId: string;

beforeAll(async () => {
  await migrateToLatest(db, config.databaseSchema);
  await ensureTopics(kafka, config);
  payments = new Payments({ ...deps, kafka, topic: `${config.kafkaTopicPrefix}unused`, confirmTimeoutMs: 500 });
  roomId = (await catalog.createRoom('coupon rebuild', 'host-1')).id;
});

afterAll(async () => {
  await fence.close();
  redis.disconnect();
  await db.destroy();
  await dropNamespace(config);
});

const held = (r: ReserveResult): Held => {
  if (r.outcome !== 'held') throw new Error(`expected a hold, got ${JSON.stringify(r)}`);
  return r;
};

describe('the coupon ledger survives a Redis loss', () => {
  it('is rebuilt from the outbox as it was: holds’ coupons, campaign counters, per-user counts, answers', async () => {
    const now = await redisNow(redis);
    const row = await catalog.createItem({ roomId, kind: 'flash', title: 'f', price: 5000, totalStock: 20, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 600 });
    const id = row.id;
    await flash.createItem({ itemId: id, roomId, total: 20, price: 5000, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
    await promo.setMemberDay(id, { threshold: 6800, off: { regular: 600, silver: 800, gold: 1000 } });
    await promo.addCampaign(id, { id: 'c10', kind: 'percent', amount: 0, percent: 10, minSpend: 0, budget: 3, perUser: 1, startsAt: 0, endsAt: now + 600_000 });
    const a = held(await flash.reserve(id, 'a', 2, 'ka', { tier: 'gold', coupon: 'c10' })); // 10000 − 1000 − 900
    const b = held(await flash.reserve(id, 'b', 1, 'kb', { coupon: 'c10' })); // 5000 − 500
    const c = held(await flash.reserve(id, 'c', 2, 'kc', { tier: 'silver', coupon: 'c10' }));
    held(await flash.reserve(id, 'd', 2, 'kd', { tier: 'silver' })); // member-day only
    expect([a.amount, b.amount, c.amount]).toEqual([8100, 4500, 8280]);
    await flash.cancel(id, c.orderId, { userId: 'c' });
    await payments.start();
    await payments.pay(id, b.orderId, 'b').catch(() => {}); // Kafka refuses (no such topic); the sale stands in Redis
    await payments.stop();
    const k = keys.item(id);
    const before = { users: await redis.hgetall(k.users), holds: await redis.hgetall(k.holds) };
    expect(await promo.campaign(id, 'c10')).toEqual({ id: 'c10', left: 1, issued: 3, spent: 1 });

    await redis.del(k.item, k.users, k.holds, k.deadlines);
    expect(await rebuilder.rebuild(id)).toMatchObject({ outcome: 'rebuilt' });
    expect(await redis.hgetall(k.users)).toEqual(before.users);
    const after = await redis.hgetall(k.holds);
    for (const [field, v] of Object.entries(before.holds)) {
      if (field.endsWith(' p')) expect(JSON.parse(after[field]!)).toEqual(JSON.parse(v));
      else expect([field, after[field]]).toEqual([field, v]);
    }
    expect(Object.keys(after).sort()).toEqual(Object.keys(before.holds).sort());

    // After the rebuild: a's payment is the discounted price, the campaign counts on, a retry answers as before.
    expect(await flash.reserve(id, 'a', 2, 'ka', { tier: 'gold', coupon: 'c10' })).toMatchObject({ outcome: 'duplicate', first: { amount: 8100 } });
    await payments.start();
    const paid = await payments.pay(id, a.orderId, 'a').catch((e: unknown) => e);
    await payments.stop();
    expect((await flash.hold(id, a.orderId))!.state).toBe('paid');
    expect(JSON.parse((await redis.hget(k.holds, `${a.orderId} p`))!)).toMatchObject({ amount: 8100 });
    expect(paid).toBeDefined();
    expect(await promo.campaign(id, 'c10')).toEqual({ id: 'c10', left: 1, issued: 3, spent: 2 });
    expect(held(await flash.reserve(id, 'e', 1, 'ke', { coupon: 'c10' })).amount).toBe(4500);
    await expect(flash.reserve(id, 'f', 1, 'kf', { coupon: 'c10' })).rejects.toMatchObject({ code: 'COUPON_EXHAUSTED' });
  });
});
