import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { GroupBuy, type Joined } from '../../inventory/group-buy.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { LedgerFence } from '../../inventory/ledger-fence.ts';
import { Payments } from '../../inventory/payments.ts';
import { Rebuilder } from '../../inventory/rebuild.ts';
import { Catalog } from '../../orders/catalog.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { outbox, redisNow } from './helpers.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

/**
 * The rebuild on its own, without a relay (nothing reaches the ledger): from a surviving outbox,
 * and, when everything was lost, from the catalog's settings.
 */

const config = testConfig();
const log = createLogger({ level: config.logLevel, name: 'test' });
const redis = createRedis(config);
const db = createDbFromConfig(config, 4);
const kafka = createKafka(config, log);
const keys = new Keys(config.keyPrefix);
const scripts = inventoryScripts(redis);
const deps = { redis, keys, scripts };
const groups = new GroupBuy(deps);
const catalog = new Catalog(db);
const fence = new LedgerFence({ kafka, topic: config.topics.orders, writerGroupId: `${config.kafkaTopicPrefix}writer` });
const rebuilder = new Rebuilder({ ...deps, db, fence, log, graceMs: 0, fenceTimeoutMs: 10_000 });
let payments: Payments;
let roomId: string;
const tiers = [{ threshold: 2, price: 400 }, { threshold: 3, price: 300 }];

beforeAll(async () => {
  await migrateToLatest(db, config.databaseSchema);
  await ensureTopics(kafka, config);
  payments = new Payments({ ...deps, kafka, topic: `${config.kafkaTopicPrefix}unused`, confirmTimeoutMs: 500 });
  roomId = (await catalog.createRoom('rebuild', 'host-1')).id;
});

afterAll(async () => {
  await fence.close();
  redis.disconnect();
  await db.destroy();
  await dropNamespace(config);
});

async function group(): Promise<string> {
  const now = await redisNow(redis);
  const row = await catalog.createItem({
    roomId,
    kind: 'group',
    title: 'g',
    price: 500,
    totalStock: 20,
    perUserLimit: 3,
    startsAt: now - 1000,
    endsAt: now + 600_000,
    holdSeconds: 600,
    group: { tiers, countBy: 'people', belowFirstTier: 'fail' },
  });
  await groups.create({ itemId: row.id, roomId, capacity: 20, basePrice: 500, tiers, countBy: 'people', belowFirstTier: 'fail', perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
  return row.id;
}

describe('rebuild', () => {
  it('from a surviving outbox: the same counters, holds, users, count, versions and idempotency answers', async () => {
    const id = await group();
    const k = keys.item(id);
    const joins: Joined[] = [];
    for (const u of ['a', 'b', 'c', 'a']) {
      const r = await groups.join(id, u, 1, `k-${u}-${joins.length}`);
      if (r.outcome === 'held') joins.push(r);
    }
    await groups.cancel(id, joins[1]!.orderId, { userId: 'b' });
    // The payment's Kafka send fails (no such topic) but the sale stands in Redis and its outbox.
    await payments.start();
    await payments.pay(id, joins[0]!.orderId, 'a').catch(() => {});
    await payments.stop();
    const before = { item: await redis.hgetall(k.item), users: await redis.hgetall(k.users), holds: await redis.hgetall(k.holds), deadlines: await redis.zrange(k.deadlines, 0, -1, 'WITHSCORES') };
    await redis.del(k.item, k.users, k.holds, k.deadlines);
    const unavailable = await groups.join(id, 'd', 1, 'x').then(
      () => undefined,
      (e: { code: string }) => e.code,
    );
    expect(unavailable).toBe('ITEM_UNAVAILABLE');

    const r = await rebuilder.rebuild(id);
    expect(r).toMatchObject({ outcome: 'rebuilt', fromOutbox: (await outbox(redis, k, { withCreated: true })).length, held: 2, sold: 1, available: 17 });
    const after = await redis.hgetall(k.item);
    const { ver: verBefore, rem: _r1, ...restBefore } = before.item;
    const { ver: verAfter, rem: _r2, ...restAfter } = after;
    expect(restAfter).toEqual(restBefore);
    expect(Number(verAfter)).toBe(Number(verBefore) + 1_000_000);
    expect(await redis.hgetall(k.users)).toEqual(before.users);
    expect(await redis.zrange(k.deadlines, 0, -1, 'WITHSCORES')).toEqual(before.deadlines);
    const holdsAfter = await redis.hgetall(k.holds);
    for (const [field, v] of Object.entries(before.holds)) {
      if (field.includes(' ')) expect(JSON.parse(holdsAfter[field]!)).toEqual(JSON.parse(v));
      else expect(holdsAfter[field]).toBe(v);
    }
    // A replayed join answers as the first time; the group goes on where it was.
    expect(await groups.join(id, 'c', 1, 'k-c-2')).toMatchObject({ outcome: 'duplicate', first: { orderId: joins[2]!.orderId, count: 3 } });
    expect(await groups.join(id, 'd', 1, 'new')).toMatchObject({ outcome: 'held', count: 3, unitPrice: 300 });
  });

  it('when everything was lost: from the catalog settings, writing item.created again', async () => {
    const id = await group();
    const k = keys.item(id);
    await redis.del(...k.all);
    const r = await rebuilder.rebuild(id);
    expect(r).toMatchObject({ outcome: 'rebuilt', events: 0, available: 20 });
    const v = (await groups.view(id))!;
    expect(v.group).toMatchObject({ tiers, countBy: 'people', belowFirstTier: 'fail', count: 0, state: 'open' });
    const [created] = await outbox(redis, k, { withCreated: true });
    expect(created).toMatchObject({ type: 'item.created', kind: 'group', tiers, total: 20, price: 500 });
    expect(await rebuilder.rebuild(id)).toEqual({ itemId: id, outcome: 'present' });
  });

  it('one rebuilder at a time per item', async () => {
    const id = await group();
    await redis.del(keys.item(id).item);
    const [a, b] = await Promise.all([rebuilder.rebuild(id), rebuilder.rebuild(id)]);
    expect([a.outcome, b.outcome].sort()).toEqual(['busy', 'rebuilt']);
  });
});
