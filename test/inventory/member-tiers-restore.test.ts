import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuyResult } from '../../common/contracts/protocol.ts';
import { LedgerFence } from '../../inventory/ledger-fence.ts';
import { Rebuilder } from '../../inventory/rebuild.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { ensureMemberTiers, tiersRestoredField } from '../../orders/members.ts';
import type { HttpClient } from '../../web/client.ts';
import { hostWithRoom, openWindow } from '../gateway/support.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Member tiers after Redis lost its data: the serving copy comes back from the ledger before any
 * buy is priced. Through the rebuild of a lost item (its beforeReopen, as the sweeper process
 * wires it), and through the buy itself when the copy alone was lost (the item survived). A gold
 * member is priced gold, a silver one silver, a member demoted to regular stays regular.
 */

let sys: System;
let fence: LedgerFence;
let rebuilder: Rebuilder;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
  fence = new LedgerFence({ kafka: sys.kafka, topic: sys.config.topics.orders, writerGroupId: `${sys.config.kafkaTopicPrefix}writer` });
  const deps = { redis: sys.redis, keys: sys.keys, db: sys.db };
  rebuilder = new Rebuilder({ ...deps, scripts: inventoryScripts(sys.redis), fence, log: sys.log, graceMs: 0, fenceTimeoutMs: 30_000, beforeReopen: () => ensureMemberTiers(deps) });
}, 120_000);
afterAll(async () => {
  await fence?.close();
  await sys?.stop();
});

const amountOf = (r: BuyResult): number => {
  if (r.outcome !== 'held') throw new Error(`expected a hold, got ${JSON.stringify(r)}`);
  return r.amount;
};

describe('member tiers come back from the ledger after a Redis loss', () => {
  let roomId: string;
  let itemId: string;
  const buyers = new Map<string, HttpClient>();
  const buy = (user: string, key: string) => buyers.get(user)!.buy(roomId, itemId, 1, key);

  beforeAll(async () => {
    const host = await hostWithRoom(sys, 'tiers-host');
    roomId = host.roomId;
    itemId = (await host.http.addItem(roomId, { title: 'Tea', price: 10_000, stock: 50, perUserLimit: 10, ...openWindow() })).id;
    expect((await host.http.request('PUT', `/rooms/${roomId}/items/${itemId}/member-day`, { threshold: 5000, off: { regular: 100, silver: 500, gold: 1000 } })).status).toBe(200);
    const ops = sys.http(await sys.token('ops', 'tiers-ops'));
    for (const [user, tier] of [
      ['t-gold', 'gold'],
      ['t-silver', 'silver'],
      ['t-demoted', 'gold'],
      ['t-demoted', 'regular'],
    ] as const) {
      expect((await ops.request('PUT', `/members/${user}/tier`, { tier })).status).toBe(200);
    }
    for (const u of ['t-gold', 't-silver', 't-demoted', 't-plain']) buyers.set(u, sys.http(await sys.token('shopper', u)));
  });

  const priced = async (round: string) => ({
    gold: amountOf(await buy('t-gold', `${round}-g`)),
    silver: amountOf(await buy('t-silver', `${round}-s`)),
    demoted: amountOf(await buy('t-demoted', `${round}-d`)),
    plain: amountOf(await buy('t-plain', `${round}-p`)),
  });
  const expected = { gold: 9000, silver: 9500, demoted: 9900, plain: 9900 };

  it('the rebuild of a lost item restores every tier before the item sells again', async () => {
    expect(await priced('before')).toEqual(expected);
    // Everything of the item is in the ledger; then Redis loses it all, tiers included.
    await waitFor('the holds in the ledger', async () => (await sys.db.selectFrom('orders').select('order_id').where('item_id', '=', itemId as never).execute()).length === 4);
    await fence.wait(30_000);
    const copy = await sys.redis.hgetall(sys.keys.memberTiers);
    expect(copy).toMatchObject({ 't-gold': 'gold', 't-silver': 'silver', 't-demoted': 'regular' });
    await sys.redis.del(sys.keys.memberTiers, ...sys.keys.item(itemId).all);

    // Closed until rebuilt; the rebuild puts the copy back before it reopens the item.
    expect(await rebuilder.rebuild(itemId)).toMatchObject({ outcome: 'rebuilt', orders: 4 });
    const back = await sys.redis.hgetall(sys.keys.memberTiers);
    expect(back[tiersRestoredField]).toBeDefined();
    expect({ ...back, [tiersRestoredField]: undefined }).toEqual({ ...copy, [tiersRestoredField]: undefined });
    expect(await priced('after-rebuild')).toEqual(expected);
  });

  it('a buy that finds the copy lost (the item survived) restores it from the ledger before it prices', async () => {
    await sys.redis.del(sys.keys.memberTiers);
    expect(await sys.redis.exists(sys.keys.item(itemId).item)).toBe(1);
    // Concurrent first buys share one restore; every one is priced at its tier.
    const [gold, silver, demoted] = await Promise.all([buy('t-gold', 'lost-g'), buy('t-silver', 'lost-s'), buy('t-demoted', 'lost-d')]);
    expect([amountOf(gold), amountOf(silver), amountOf(demoted)]).toEqual([9000, 9500, 9900]);
    expect(await sys.redis.hmget(sys.keys.memberTiers, 't-gold', 't-silver', 't-demoted')).toEqual(['gold', 'silver', 'regular']);
    expect(await sys.redis.hexists(sys.keys.memberTiers, tiersRestoredField)).toBe(1);
  });

  it('a tier written to the copy after the ledger was read is kept by the restore', async () => {
    // The ledger says gold; the copy already holds a later change (silver) while it is unmarked.
    await sys.redis.del(sys.keys.memberTiers);
    await sys.redis.hset(sys.keys.memberTiers, 't-gold', 'silver');
    expect(await ensureMemberTiers({ db: sys.db, redis: sys.redis, keys: sys.keys })).toBeGreaterThanOrEqual(3);
    expect(await sys.redis.hmget(sys.keys.memberTiers, 't-gold', 't-silver', 't-demoted')).toEqual(['silver', 'silver', 'regular']);
    // Marked complete: nothing more to restore.
    expect(await ensureMemberTiers({ db: sys.db, redis: sys.redis, keys: sys.keys })).toBeUndefined();
  });
});
