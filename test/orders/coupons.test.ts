import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedPromotions, demoPromotion, type SeededPromotions } from '../../scripts/seed-promotions.ts';
import { ApiError, type HttpClient } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Member tiers, member-day rules and coupons through the whole system (gateway, Redis, relay,
 * Kafka, writer, Postgres): the demo seed's item, the breakdown in the buy reply and in each
 * shopper's orders, refusals that change nothing, a refund that restores the coupon, and the
 * report's coupon figures reconciled with the ledger to the fen.
 */

let sys: System;
let host: HttpClient;
let roomId: string;
let showId: string;
let seeded: SeededPromotions;
const shopper = async (sub: string) => sys.http(await sys.token('shopper', sub));

beforeAll(async () => {
  sys = await startSystem();
  host = sys.http(await sys.token('host', 'promo-host'));
  roomId = (await host.createRoom('Member day')).id;
  const now = Date.now();
  const show = await host.request('POST', '/shows', { roomId, title: 'Member day', plannedStart: now, plannedEnd: now + 3_600_000 });
  showId = show.body.show.id;
  seeded = await seedPromotions(host, shopper, roomId);
  await sql`update campaign_items set show_id = ${showId} where room_id = ${roomId}`.execute(sys.db);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

describe('the one explained price through the system', () => {
  it('prices the seed: 3 × 39.90 = 119.70, the tier off (over 68), then 15 off (from 100)', async () => {
    const base = 3 * demoPromotion.item.price;
    expect(seeded.buyers.map((b) => [b.tier, b.amount])).toEqual([
      ['gold', base - 1000 - 1500],
      ['silver', base - 800 - 1500],
    ]);
    // Set by the host's commands, the rule and the campaign are in the item's offers.
    expect((await host.snapshot(roomId)).room.items[seeded.itemId]!.offers).toMatchObject({
      memberDay: demoPromotion.memberDay,
      coupons: [{ id: demoPromotion.coupon.id, kind: 'spend', amount: 1500, minSpend: 10_000, perUser: 1 }],
    });
  });

  it('shows the breakdown in the buy reply, over HTTP and WebSocket, and in each shopper’s orders', async () => {
    const http = await shopper('promo-regular');
    const r = await http.buy(roomId, seeded.itemId, 2, 'r1');
    // 2 × 3990 = 7980: the regular member-day 600 off; no coupon asked
    expect(r.outcome).toBe('held');
    if (r.outcome !== 'held') return;
    expect(r.breakdown).toEqual([
      { step: 'base', rule: 'unit 3990 x 2', amount: 7980 },
      { step: 'member', rule: 'member-day:regular', amount: -600 },
    ]);
    expect(r.amount).toBe(7380);
    // over the socket: the same price for the same rules
    const ws = await sys.connect(roomId, await sys.token('shopper', 'promo-ws'));
    const w = await ws.buy(seeded.itemId, 3, 'w1', seeded.campaignId);
    expect(w).toMatchObject({ outcome: 'held', amount: 11970 - 600 - 1500 });

    for (const b of seeded.buyers) {
      const client = await shopper(b.sub);
      // A paid order can reach the ledger from its payment before its hold: its steps come with the hold.
      await waitFor(`${b.sub}'s hold in the ledger`, async () => (await client.myOrders({ roomId })).orders.some((o) => o.source === 'ledger' && o.breakdown.length === 3));
      const o = (await client.myOrders({ roomId })).orders.find((x) => x.orderId === b.orderId)!;
      expect(o.amount).toBe(b.amount);
      expect(o.breakdown.map((s) => s.rule)).toEqual(['unit 3990 x 3', `member-day:${b.tier}`, `coupon:${seeded.campaignId}`]);
      expect(o.breakdown.reduce((s, x) => s + x.amount, 0)).toBe(o.amount);
      if (b.paid) expect(o.paidAmount).toBe(b.amount);
    }
  });

  it('refuses an unknown, a second or an inapplicable coupon with its code, and nothing changes', async () => {
    const gold = await shopper('demo-member-gold');
    const again = await apiError(gold.buy(roomId, seeded.itemId, 3, 'g-again', seeded.campaignId));
    expect([again.status, again.code]).toEqual([409, 'COUPON_EXHAUSTED']);
    const unknown = await apiError(gold.buy(roomId, seeded.itemId, 3, 'g-unknown', 'nope'));
    expect(unknown.code).toBe('COUPON_NOT_APPLICABLE');
    const small = await apiError((await shopper('promo-small')).buy(roomId, seeded.itemId, 1, 's1', seeded.campaignId));
    expect(small.code).toBe('COUPON_NOT_APPLICABLE');
    const bad = await host.request('POST', `/rooms/${roomId}/items/${seeded.itemId}/coupons`, { id: 'x', kind: 'percent', percent: 0, budget: 1, startsAt: 1, endsAt: 2 });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const shopperTier = await (await shopper('promo-x')).request('PUT', '/members/promo-x/tier', { tier: 'gold' });
    expect(shopperTier.status).toBe(403);
  });

  it('a refund restores the coupon, and the report reconciles coupons and discounts with the ledger', async () => {
    const gold = seeded.buyers.find((b) => b.tier === 'gold')!;
    // a cancellation after payment (the inventory's host cancel: a full refund of what was paid)
    const refund = await sys.gateway.context.flash.cancel(seeded.itemId, gold.orderId, { host: 'promo-host' });
    expect(refund).toMatchObject({ outcome: 'refunded', refund: gold.amount });
    // the coupon is back: the gold member may use it again
    const client = await shopper(gold.sub);
    const r = await client.buy(roomId, seeded.itemId, 3, 'g-after-refund', seeded.campaignId);
    expect(r).toMatchObject({ outcome: 'held', amount: gold.amount });
    if (r.outcome !== 'held') return;
    await client.pay(roomId, seeded.itemId, r.orderId);

    // In the ledger: 5 holds with a discount, 4 with the coupon; paid and not refunded: 1 (the new gold order).
    await waitFor('every order in the ledger', async () => {
      const n = await sql<{ n: string }>`select count(*) as n from order_prices p join orders o using (order_id) where p.room_id = ${roomId}::bigint and (o.state <> 'held' or o.paid_at is null)`.execute(sys.db);
      const paid = await sql<{ n: string }>`select count(*) as n from orders where order_id = ${r.orderId} and state = 'paid'`.execute(sys.db);
      const refunded = await sql<{ n: string }>`select count(*) as n from orders where order_id = ${gold.orderId} and state = 'refunded'`.execute(sys.db);
      return Number(n.rows[0]!.n) === 5 && Number(paid.rows[0]!.n) === 1 && Number(refunded.rows[0]!.n) === 1;
    }, 60_000);
    const report = (await host.request('GET', `/shows/${showId}/report`)).body as { metrics: { metric: string; value: number }[]; products: { itemId: string; metrics: { metric: string; value: number }[] }[] };
    const v = (name: string) => report.metrics.find((m) => m.metric === name)?.value;
    const ledger = await sql<{ paid: string; refunded: string; coupon: string; member: string; base: string }>`
      select coalesce(sum(o.paid_amount), 0) as paid, coalesce(sum(o.refunded_amount), 0) as refunded,
        coalesce(sum(p.coupon_off) filter (where o.state = 'paid'), 0) as coupon,
        coalesce(sum(p.member_off) filter (where o.state = 'paid'), 0) as member,
        coalesce(sum(p.base) filter (where o.state = 'paid'), 0) as base
      from orders o join order_prices p using (order_id) where o.room_id = ${roomId}::bigint`.execute(sys.db);
    const l = ledger.rows[0]!;
    expect({ issued: v('coupons_issued'), used: v('coupons_used'), discount: v('coupon_discount'), member: v('member_discount') }).toEqual({
      issued: 4,
      used: 1,
      discount: 1500,
      member: 1000,
    });
    // paid − refunded is the one paid order: its base less its member-day and coupon discounts
    expect(Number(l.paid) - Number(l.refunded)).toBe(Number(l.base) - Number(l.member) - Number(l.coupon));
    expect(Number(l.paid) - Number(l.refunded)).toBe(gold.amount);
    const product = report.products.find((p) => p.itemId === seeded.itemId)!;
    expect(product.metrics.find((m) => m.metric === 'coupons_issued')?.value).toBe(4);
    const stats = (await host.request('GET', `/shows/${showId}/stats`)).body as { metrics: unknown[] };
    expect(stats.metrics).toEqual(report.metrics);
    console.log(
      `coupon reconciliation: paid ${l.paid} fen, refunded ${l.refunded} fen, net ${Number(l.paid) - Number(l.refunded)} fen = base ${l.base} − member-day ${l.member} − coupon ${l.coupon}; ` +
        `coupons issued ${v('coupons_issued')}, used ${v('coupons_used')}, discount ${v('coupon_discount')} fen`,
    );
  });
});
