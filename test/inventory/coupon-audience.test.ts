import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryEvent, type InventoryEvent } from '../../common/contracts/inventory-events.ts';
import { createDbFromConfig, type Database } from '../../common/contracts/ledger-schema.ts';
import { lifecycleStages, memberTiers, resolvePrice, type CouponAudience, type CouponCampaign, type LifecycleStage, type MemberTier } from '../../common/contracts/pricing.ts';
import { lifecycleStageSchema } from '../../common/contracts/protocol.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { ReserveResult } from '../../inventory/flash-sale.ts';
import { foldLedger, settingsFromCreated } from '../../inventory/ledger-fold.ts';
import { Promotions } from '../../inventory/promotions.ts';
import { restoreParts } from '../../inventory/rebuild.ts';
import { writeInventoryBatch } from '../../orders/ledger-write.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { StageRefresher, memberStage, purchasersOf, refreshStageCopy, stageCopyRefreshed, lifecycleStages as segmentStages } from '../../orders/segments.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { cancelled, held as heldEvent, paid as paidEvent, refund } from '../orders/events.ts';
import { inventoryEnv, type InventoryEnv } from './env.ts';
import { dumpItem, outbox, redisNow } from './helpers.ts';

/**
 * Coupon campaigns with an audience (member tiers, lifecycle stages): the reserve script refuses a
 * buyer outside it with COUPON_NOT_FOR_YOU and changes nothing; a stage audience reads the stage
 * copy refreshed from a real ledger; a storm of mixed tiers never gives a coupon to a shopper
 * outside the audience nor more than the budget.
 */

const config = testConfig();
let env: InventoryEnv & { close(): Promise<void> };
let promo: Promotions;
let db: Kysely<Database>;

beforeAll(async () => {
  env = await inventoryEnv(config, createRedis(config));
  promo = new Promotions({ redis: env.redis, keys: env.keys, scripts: env.scripts });
  db = createDbFromConfig(config, 4);
  await migrateToLatest(db, config.databaseSchema);
});

afterAll(async () => {
  await env?.close();
  env?.redis.disconnect();
  await db?.destroy();
  await dropNamespace(config);
});

async function flashItem(price: number, total: number, perUserLimit = 10): Promise<string> {
  const itemId = env.itemId();
  const now = await redisNow(env.redis);
  await env.flash.createItem({ itemId, roomId: 'r1', total, price, perUserLimit, startsAt: now - 60_000, endsAt: now + 3_600_000, holdMs: 600_000 });
  return itemId;
}

const campaign = (id: string, audience?: CouponAudience, over: Partial<CouponCampaign> = {}): CouponCampaign => ({
  id,
  kind: 'fixed',
  amount: 1000,
  percent: 0,
  minSpend: 0,
  budget: 10,
  perUser: 1,
  startsAt: 0,
  endsAt: 99_999_999_999_999,
  ...(audience ? { audience } : {}),
  ...over,
});

function refusedWith(p: Promise<ReserveResult>): Promise<{ code: string; reason: unknown }> {
  return p.then(
    (r) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => {
      if (!(e instanceof LivesaleError)) throw e;
      return { code: e.code, reason: e.details?.reason };
    },
  );
}

describe('one stage list', () => {
  it('the protocol, the segment rules and the pricing contract name the same stages', () => {
    expect(lifecycleStageSchema.options).toEqual([...lifecycleStages]);
    expect(segmentStages).toBe(lifecycleStages);
  });
});

describe('a tier audience', () => {
  it('refuses a gold-only coupon to a silver shopper (nothing changes) and gives it to a gold one', async () => {
    const itemId = await flashItem(10_000, 5);
    expect(await promo.addCampaign(itemId, campaign('gold-only', { tiers: ['gold'] }, { budget: 2 }))).toBe(true);
    expect(await promo.campaign(itemId, 'gold-only')).toMatchObject({ left: 2, issued: 0, spent: 0, audience: { tiers: ['gold'] } });
    const k = env.keys.item(itemId);
    const before = await dumpItem(env.redis, k);

    expect(await refusedWith(env.flash.reserve(itemId, 'sam', 1, 's1', { tier: 'silver', coupon: 'gold-only' }))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'tier' });
    expect(await refusedWith(env.flash.reserve(itemId, 'reg', 1, 'r1', { coupon: 'gold-only' }))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'tier' });
    // Stock, holds, the campaign's counts and the outbox are as they were (the refusals are kept for their keys only).
    const after = await dumpItem(env.redis, k);
    expect(after).toEqual(before);
    expect(await env.flash.view(itemId)).toMatchObject({ available: 5, held: 0 });
    expect(await promo.campaign(itemId, 'gold-only')).toMatchObject({ left: 2, issued: 0 });
    // The same key again answers the same refusal.
    expect(await refusedWith(env.flash.reserve(itemId, 'sam', 1, 's1', { tier: 'silver', coupon: 'gold-only' }))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'tier' });

    const r = await env.flash.reserve(itemId, 'gia', 1, 'g1', { tier: 'gold', coupon: 'gold-only' });
    expect(r).toMatchObject({ outcome: 'held', amount: 9000 });
    expect(await promo.campaign(itemId, 'gold-only')).toMatchObject({ left: 1, issued: 1 });
    expect(await env.flash.view(itemId)).toMatchObject({ available: 4, held: 1 });
    // The silver shopper may still buy without the coupon.
    expect(await env.flash.reserve(itemId, 'sam', 1, 's2', { tier: 'silver' })).toMatchObject({ outcome: 'held', amount: 10_000 });
  });

  it('keeps the audience with the campaign: the same audience in another order is the same campaign, another is refused', async () => {
    const itemId = await flashItem(1000, 5);
    expect(await promo.addCampaign(itemId, campaign('c', { tiers: ['gold', 'silver'], stages: ['active', 'new'] }))).toBe(true);
    expect(await promo.addCampaign(itemId, campaign('c', { tiers: ['silver', 'gold'], stages: ['new', 'active'] }))).toBe(false);
    await expect(promo.addCampaign(itemId, campaign('c', { tiers: ['gold'] }))).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(promo.addCampaign(itemId, campaign('c'))).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(promo.addCampaign(itemId, campaign('d', { tiers: [] }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(promo.addCampaign(itemId, campaign('d', { stages: ['vip' as LifecycleStage] }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await promo.campaign(itemId, 'c')).toMatchObject({ audience: { tiers: ['silver', 'gold'], stages: ['new', 'active'] } });
    expect(await promo.campaign(itemId, 'd')).toBeUndefined();
    // The ledger gets the audience in the campaign's config (a rebuild restores it as it was).
    const set = (await outbox(env.redis, env.keys.item(itemId))).filter((e) => e.type === 'promotion.set');
    expect(set.map((e) => e.config)).toEqual(['fixed,1000,0,0,1,0,99999999999999,10,silver|gold,new|active']);
    // A campaign without an audience keeps the config it always had.
    await promo.addCampaign(itemId, campaign('plain'));
    expect((await outbox(env.redis, env.keys.item(itemId))).at(-1)!.config).toBe('fixed,1000,0,0,1,0,99999999999999,10');
  });

  it('a rebuild from the ledger restores the audience with the campaign and its counts', async () => {
    const itemId = await flashItem(3000, 5);
    await promo.addCampaign(itemId, campaign('gold-rb', { tiers: ['gold'] }, { budget: 3 }));
    await env.flash.reserve(itemId, 'rb-gold', 1, 'g', { tier: 'gold', coupon: 'gold-rb' });
    const k = env.keys.item(itemId);
    const events = (await outbox(env.redis, k, { withCreated: true })).map((e) => inventoryEvent.parse(e));
    const created = events.find((e): e is Extract<InventoryEvent, { type: 'item.created' }> => e.type === 'item.created')!;
    const folded = foldLedger(settingsFromCreated(created), events);
    const holds = restoreParts(folded).find(([part]) => part === 'holds')![1];
    // What Redis lost, written back as the rebuild writes it: the campaign still refuses a silver shopper.
    await env.redis.del(k.holds);
    await env.redis.hset(k.holds, ...holds.map(String));
    expect(await promo.campaign(itemId, 'gold-rb')).toMatchObject({ left: 2, issued: 1, audience: { tiers: ['gold'] } });
    expect(await refusedWith(env.flash.reserve(itemId, 'rb-silver', 1, 's', { tier: 'silver', coupon: 'gold-rb' }))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'tier' });
    expect(await env.flash.reserve(itemId, 'rb-gold2', 1, 'g2', { tier: 'gold', coupon: 'gold-rb' })).toMatchObject({ outcome: 'held', amount: 2000 });
  });

  it('the script and the resolver agree on who is in an audience (random audiences, tiers and stages)', async () => {
    const itemId = await flashItem(2000, 10_000, 1);
    const audiences: CouponAudience[] = [];
    const arb = fc.record(
      {
        tiers: fc.subarray([...memberTiers], { minLength: 1 }),
        stages: fc.subarray([...lifecycleStages], { minLength: 1 }),
      },
      { requiredKeys: [] },
    );
    for (const a of fc.sample(arb, { numRuns: 12, seed: 7 })) audiences.push(a);
    for (let i = 0; i < audiences.length; i++) await promo.addCampaign(itemId, campaign(`a${i}`, audiences[i], { budget: 100_000, perUser: 100_000 }));
    let n = 0;
    const stageOrNone: (LifecycleStage | undefined)[] = [...lifecycleStages, undefined];
    for (let i = 0; i < audiences.length; i++) {
      for (const tier of memberTiers) {
        for (const stage of stageOrNone) {
          const c = campaign(`a${i}`, audiences[i]);
          const expected = resolvePrice({ unitPrice: 2000, qty: 1, tier, stage, coupon: c, now: 1 }).couponRefusal;
          const got = await env.flash.reserve(itemId, `u${n}`, 1, `k${n++}`, { tier, stage, coupon: `a${i}` }).then(
            () => undefined,
            (e: unknown) => (e as LivesaleError).code,
          );
          expect([audiences[i], tier, stage, got]).toEqual([audiences[i], tier, stage, expected === 'not_for_you' ? 'COUPON_NOT_FOR_YOU' : undefined]);
        }
      }
    }
  });
});

describe('a stage audience, from the ledger through the stage copy', () => {
  it('gives a coupon for new shoppers to one who first paid days ago, and refuses a churned one, one with no paid order and one whose order was refunded', async () => {
    const now = Date.now();
    const day = 86_400_000;
    let ver = 1;
    const events: InventoryEvent[] = [];
    const purchase = (user: string, daysAgo: number) => {
      const at = now - daysAgo * day;
      const h = heldEvent({ item: '9301', room: '9401', user, price: 5_000, at: at - 1000, ver: ver++ });
      events.push(h, paidEvent(h, at, ver++));
      return h;
    };
    purchase('st-new', 2);
    purchase('st-churned', 200);
    const r = purchase('st-refunded', 3);
    events.push(refund(r, 5_000, now - 2 * day, ver++, 'cancelled_after_payment'), cancelled(r, now - 2 * day, ver++, 'host'));
    events.push(heldEvent({ item: '9301', room: '9401', user: 'st-unpaid', at: now - day, ver: ver++ }));
    await db.transaction().execute((trx) => writeInventoryBatch(trx, events.map((event) => ({ event, raw: JSON.stringify(event) }))));

    const itemId = await flashItem(10_000, 10);
    await promo.addCampaign(itemId, campaign('welcome', { stages: ['new'] }, { budget: 5 }));
    const deps = { db, redis: env.redis, keys: env.keys };
    // Before any refresh nobody has a stage: the new shopper is refused too.
    expect(await memberStage(deps, 'st-new')).toBeUndefined();
    expect(await refusedWith(env.flash.reserve(itemId, 'st-new', 1, 'n0', { stage: await memberStage(deps, 'st-new'), coupon: 'welcome' }))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'stage' });

    // A stale field of a shopper who no longer has a purchase is taken out by the refresh.
    await env.redis.hset(env.keys.memberStages, 'st-refunded', 'new');
    const refresh = await refreshStageCopy(deps);
    expect(refresh).toMatchObject({ removed: 1 });
    expect(refresh.stages.new).toBeGreaterThanOrEqual(1);
    expect(await stageCopyRefreshed(deps)).toEqual({ at: refresh.at, shoppers: refresh.shoppers });
    expect(await memberStage(deps, 'st-new')).toBe('new');
    expect(await memberStage(deps, 'st-churned')).toBe('churned');
    expect(await memberStage(deps, 'st-refunded')).toBeUndefined();
    expect(await memberStage(deps, 'st-unpaid')).toBeUndefined();

    const buy = async (user: string, key: string) => env.flash.reserve(itemId, user, 1, key, { stage: await memberStage(deps, user), coupon: 'welcome' });
    expect(await buy('st-new', 'n1')).toMatchObject({ outcome: 'held', amount: 9_000 });
    for (const u of ['st-churned', 'st-refunded', 'st-unpaid', 'st-nobody']) expect(await refusedWith(buy(u, `${u}-1`))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'stage' });
    expect(await promo.campaign(itemId, 'welcome')).toMatchObject({ left: 4, issued: 1 });
    // A second refresh with nothing new changes nothing.
    expect(await refreshStageCopy(deps)).toMatchObject({ changed: 0, removed: 0, shoppers: refresh.shoppers });

    // After a ledger batch, the writer refreshes the stages of the shoppers it paid or refunded.
    const later: InventoryEvent[] = [];
    const h = heldEvent({ item: '9301', room: '9401', user: 'st-late', price: 5_000, at: now - 1000, ver: ver++ });
    later.push(h, paidEvent(h, now, ver++));
    const only = events.find((e) => e.type === 'order.held' && e.user === 'st-new')!;
    later.push(refund(only, 5_000, now, ver++, 'cancelled_after_payment'), cancelled(only, now, ver++, 'host'));
    await db.transaction().execute((trx) => writeInventoryBatch(trx, later.map((event) => ({ event, raw: JSON.stringify(event) }))));
    expect(purchasersOf(later).sort()).toEqual(['st-late', 'st-new']);
    const stages = new StageRefresher({ ...deps, intervalMs: 3_600_000 });
    stages.note(purchasersOf(later));
    await stages.settled();
    expect(await memberStage(deps, 'st-late')).toBe('new');
    expect(await memberStage(deps, 'st-new')).toBeUndefined();
    expect(await memberStage(deps, 'st-churned')).toBe('churned');
    expect(await buy('st-late', 'l1')).toMatchObject({ outcome: 'held', amount: 9_000 });
    expect(await refusedWith(buy('st-new', 'n2'))).toEqual({ code: 'COUPON_NOT_FOR_YOU', reason: 'stage' });
    await stages.stop();
  });
});

describe('a storm of mixed tiers on a targeted campaign', () => {
  it('500 concurrent buys: no coupon to a shopper outside the audience, never over budget, stock exact', { timeout: 240_000 }, async () => {
    const stock = 400;
    const budget = 120;
    const itemId = await flashItem(10_000, stock, 2);
    await promo.addCampaign(itemId, campaign('vip', { tiers: ['silver', 'gold'] }, { budget, perUser: 1 }));
    const tierOf = (i: number): MemberTier => memberTiers[i % 3]!;
    const buys = Array.from({ length: 500 }, (_, i) => ({ user: `m${i % 250}`, key: `m${i}`, tier: tierOf(i % 250) }));
    const results = await Promise.all(
      buys.map((b) =>
        env.flash.reserve(itemId, b.user, 1, b.key, { tier: b.tier, coupon: 'vip' }).then(
          (r) => ({ b, r }),
          (e: unknown) => ({ b, e }),
        ),
      ),
    );
    const holds = results.flatMap((x) => ('r' in x && x.r.outcome === 'held' ? [{ b: x.b, h: x.r }] : []));
    const refusals = results.flatMap((x) => ('e' in x ? [{ b: x.b, code: (x.e as LivesaleError).code }] : []));
    // Every hold is a matching shopper's with the coupon; every regular shopper was refused COUPON_NOT_FOR_YOU.
    for (const { b, h } of holds) {
      expect(b.tier).not.toBe('regular');
      expect(h.breakdown.some((s) => s.step === 'coupon')).toBe(true);
    }
    const byCode = new Map<string, number>();
    for (const r of refusals) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    for (const r of refusals) expect(r.b.tier === 'regular' ? 'COUPON_NOT_FOR_YOU' : 'COUPON_EXHAUSTED').toBe(r.code);
    const regularBuys = buys.filter((b) => b.tier === 'regular').length;
    expect(byCode.get('COUPON_NOT_FOR_YOU')).toBe(regularBuys);
    expect(holds.length).toBe(budget);
    const state = await promo.campaign(itemId, 'vip');
    expect(state).toMatchObject({ left: 0, issued: budget });
    let perUser = 0;
    for (const u of new Set(buys.map((b) => b.user))) {
      const n = await promo.userCoupons(itemId, 'vip', u);
      expect(n).toBeLessThanOrEqual(1);
      perUser += n;
    }
    expect(perUser).toBe(budget);
    const view = await env.flash.view(itemId);
    expect(view).toMatchObject({ held: budget, available: stock - budget });
    expect(view!.available + view!.held + view!.sold).toBe(stock);
    console.log(
      `targeted coupon storm: ${buys.length} buys (${regularBuys} by regular shoppers) for a silver|gold campaign of ${budget} -> ${holds.length} holds with the coupon, ` +
        `${byCode.get('COUPON_NOT_FOR_YOU') ?? 0} COUPON_NOT_FOR_YOU, ${byCode.get('COUPON_EXHAUSTED') ?? 0} COUPON_EXHAUSTED; left ${state!.left}`,
    );
  });
});
