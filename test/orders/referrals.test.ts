import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import type { MyCommissionsReply } from '../../common/contracts/protocol.ts';
import { writeInventoryBatch } from '../../orders/ledger-write.ts';
import { buildReport } from '../../orders/report.ts';
import { commissionOf, netCommission, postCommissions, referrerTotals } from '../../orders/referrals.ts';
import { requireShow } from '../../orders/shows.ts';
import { seedReferral } from '../../scripts/seed-referral.ts';
import { ApiError, type HttpClient } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { cancelled, held, paid, refund } from './events.ts';

/**
 * Referral commissions on the whole pipeline (gateway, Redis, relay, Kafka, writer, Postgres):
 * share links opened through the gateway, orders bought and paid through it, refunds by a host
 * cancelling paid orders and by a tiered group settling at a tier (partial refunds); the
 * commissions in the ledger reconcile with the paid and refunded orders to the fen.
 */

let sys: System;
let host: HttpClient;
let roomId: string;
let otherRoomId: string;
let showId: string;
const hostId = 'rf-host';

beforeAll(async () => {
  sys = await startSystem();
  host = sys.http(await sys.token('host', hostId));
  roomId = (await host.createRoom('Referrals')).id;
  otherRoomId = (await host.createRoom('Another room')).id;
  const now = Date.now();
  const show = await host.request('POST', '/shows', { roomId, title: 'Tonight', plannedStart: now, plannedEnd: now + 3_600_000 });
  expect(show.status).toBe(201);
  showId = show.body.show.id;
}, 60_000);

afterAll(async () => {
  await sys?.stop();
});

const window = () => ({ startsAt: Date.now() - 1000, endsAt: Date.now() + 600_000 });

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

async function shopper(name: string): Promise<HttpClient> {
  return sys.http(await sys.token('shopper', name));
}

/** The order's state once the ledger has both its hold and its payment (or undefined). */
async function ledgerState(orderId: string): Promise<string | undefined> {
  return (await sys.db.selectFrom('orders').select('state').where('order_id', '=', orderId).where('held_ver', 'is not', null).executeTakeFirst())?.state;
}

async function entriesOf(orderId: string): Promise<{ kind: string; amount: number; referrer: string }[]> {
  const rows = await sys.db.selectFrom('referral_commission_entries').select(['kind', 'amount', 'referrer_id']).where('order_id', '=', orderId).orderBy('id').execute();
  return rows.map((r) => ({ kind: r.kind, amount: Number(r.amount), referrer: r.referrer_id }));
}

async function allCommissions(http: HttpClient): Promise<MyCommissionsReply['commissions']> {
  const out: MyCommissionsReply['commissions'] = [];
  let cursor: string | undefined;
  do {
    const p = await http.myCommissions({ limit: 7, ...(cursor ? { cursor } : {}) });
    out.push(...p.commissions);
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

describe('attribution: last click within the window, in the room, before the hold; self-referral refused', () => {
  let itemId: string;
  const rate = 737;
  const price = 9_999;

  beforeAll(async () => {
    itemId = (await host.addItem(roomId, { title: 'Tea tin', price, stock: 100, perUserLimit: 5, ...window() })).id;
    expect(await host.setCommissionRate(roomId, itemId, rate)).toEqual({ itemId, rateBp: rate });
  });

  it('a self-referral is refused with SELF_REFERRAL and records nothing', async () => {
    const me = await shopper('rf-self');
    const e = await apiError(me.referralClick(roomId, 'rf-self', itemId));
    expect(e.status).toBe(409);
    expect(e.code).toBe('SELF_REFERRAL');
    const n = await sys.db.selectFrom('referral_clicks').select(sql<string>`count(*)`.as('n')).where('user_id', '=', 'rf-self').executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(0);
  });

  it('an unknown room or an item of another room is refused; a bad body is a validation error', async () => {
    const me = await shopper('rf-lost');
    expect((await apiError(me.referralClick('999999999', 'rf-a'))).code).toBe('ROOM_NOT_FOUND');
    expect((await apiError(me.referralClick(otherRoomId, 'rf-a', itemId))).code).toBe('ITEM_NOT_FOUND');
    const bad = await me.request('POST', `/rooms/${roomId}/referrals`, { referrer: 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('the rate is set by the room host or ops only, within 0..10000 bp', async () => {
    const s = await shopper('rf-nosy');
    expect((await apiError(s.setCommissionRate(roomId, itemId, 100))).status).toBe(403);
    const otherHost = sys.http(await sys.token('host', 'rf-other-host'));
    expect((await apiError(otherHost.setCommissionRate(roomId, itemId, 100))).status).toBe(403);
    expect((await apiError(host.setCommissionRate(roomId, itemId, 10_001))).code).toBe('VALIDATION_FAILED');
    expect((await apiError(host.setCommissionRate(otherRoomId, itemId, 100))).code).toBe('ITEM_NOT_FOUND');
    const rate = await sys.db.selectFrom('referral_rates').select('rate_bp').where('item_id', '=', itemId).executeTakeFirstOrThrow();
    expect(rate.rate_bp).toBe(737);
  });

  it('the last link opened before the hold wins; a link opened after the hold, an expired one or one of another room credits nobody', async () => {
    // Last click: A then B, then the buy: B is credited.
    const s1 = await shopper('rf-last');
    await s1.referralClick(roomId, 'rf-a', itemId);
    await s1.referralClick(roomId, 'rf-b');
    const b1 = await s1.buy(roomId, itemId, 1, 'rf-last-1');
    if (b1.outcome !== 'held') throw new Error(b1.outcome);
    // A click after the hold does not take the order over.
    await s1.referralClick(roomId, 'rf-c', itemId);
    await s1.pay(roomId, itemId, b1.orderId);

    // A click whose window closed before the hold (opened two days ago with a one-day window).
    const s2 = await shopper('rf-expired');
    const c2 = await s2.referralClick(roomId, 'rf-a', itemId);
    await sql`update referral_clicks set clicked_at = now() - interval '2 days', expires_at = now() - interval '1 day' where id = ${c2.clickId}`.execute(sys.db);
    const b2 = await s2.buy(roomId, itemId, 1, 'rf-expired-1');
    if (b2.outcome !== 'held') throw new Error(b2.outcome);
    await s2.pay(roomId, itemId, b2.orderId);

    // A click in another room.
    const s3 = await shopper('rf-elsewhere');
    await s3.referralClick(otherRoomId, 'rf-a');
    const b3 = await s3.buy(roomId, itemId, 1, 'rf-elsewhere-1');
    if (b3.outcome !== 'held') throw new Error(b3.outcome);
    await s3.pay(roomId, itemId, b3.orderId);

    // Only clicked after the hold.
    const s4 = await shopper('rf-late');
    const b4 = await s4.buy(roomId, itemId, 2, 'rf-late-1');
    if (b4.outcome !== 'held') throw new Error(b4.outcome);
    await s4.referralClick(roomId, 'rf-a', itemId);
    await s4.pay(roomId, itemId, b4.orderId);

    const ids = [b1.orderId, b2.orderId, b3.orderId, b4.orderId];
    await waitFor('four paid orders in the ledger', async () => (await Promise.all(ids.map(ledgerState))).every((s) => s === 'paid'), 60_000);
    const rows = await sys.db.selectFrom('referral_commissions').selectAll().where('order_id', 'in', ids).execute();
    expect(rows.map((r) => ({ order: r.order_id, referrer: r.referrer_id, base: Number(r.base), amount: Number(r.amount), rate: r.rate_bp }))).toEqual([
      { order: b1.orderId, referrer: 'rf-b', base: price, amount: commissionOf(price, rate), rate },
    ]);
    expect(commissionOf(price, rate)).toBe(736); // 9999 × 7.37% = 736.93 → 736 fen
    expect(await entriesOf(b1.orderId)).toEqual([{ kind: 'credit', amount: 736, referrer: 'rf-b' }]);
  }, 120_000);
});

describe('commissions reconcile with paid and refunded orders to the fen', () => {
  const referrers = ['rf-r1', 'rf-r2', 'rf-r3', 'rf-r4'];
  const flashRate = 1_234;
  const groupRate = 999;
  let flashId: string;
  let groupId: string;
  /** Every order placed here: who bought it, through whom (null: no link), and on which item. */
  const placed: { orderId: string; itemId: string; user: string; referrer: string | null; qty: number }[] = [];

  beforeAll(async () => {
    flashId = (await host.addItem(roomId, { title: 'Rice 5 kg', price: 6_789, stock: 500, perUserLimit: 5, ...window() })).id;
    const g = await host.command(roomId, {
      command: 'openGroup',
      title: 'Cherries 2 kg',
      basePrice: 10_001,
      stock: 200,
      perUserLimit: 3,
      tiers: [
        { threshold: 5, price: 9_003 },
        { threshold: 10, price: 8_007 },
      ],
      endsAt: Date.now() + 600_000,
    });
    groupId = (g.data as { item: { id: string } }).item.id;
    await sql`update campaign_items set show_id = ${showId} where room_id = ${roomId}`.execute(sys.db);
    await host.setCommissionRate(roomId, flashId, flashRate);
    await host.setCommissionRate(roomId, groupId, groupRate);

    // 40 flash shoppers at once: most open a link (a quarter of them two, the later one wins), some none.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const user = `rf-flash-${String(i).padStart(2, '0')}`;
        const http = await shopper(user);
        let referrer: string | null = null;
        if (i % 5 !== 4) {
          if (i % 4 === 0) await http.referralClick(roomId, referrers[(i + 1) % 4]!, flashId);
          referrer = referrers[i % 4]!;
          await http.referralClick(roomId, referrer, i % 2 ? flashId : undefined);
        }
        const qty = 1 + (i % 3);
        const b = await http.buy(roomId, flashId, qty, `rf-flash-buy-${i}`);
        if (b.outcome !== 'held') throw new Error(`buy ${i}: ${b.outcome}`);
        await http.pay(roomId, flashId, b.orderId);
        placed.push({ orderId: b.orderId, itemId: flashId, user, referrer, qty });
      }),
    );
    // 12 group shoppers, one after another (the tier each joins at depends on the order).
    for (let i = 0; i < 12; i++) {
      const user = `rf-group-${String(i).padStart(2, '0')}`;
      const http = await shopper(user);
      const referrer = i % 6 === 5 ? null : referrers[(i * 3) % 4]!;
      if (referrer) await http.referralClick(roomId, referrer, groupId);
      const j = await http.join(roomId, groupId, 1, `rf-group-join-${i}`);
      if (j.outcome !== 'held') throw new Error(`join ${i}: ${j.outcome}`);
      await http.pay(roomId, groupId, j.orderId, j.version);
      placed.push({ orderId: j.orderId, itemId: groupId, user, referrer, qty: 1 });
    }
    await waitFor(
      'every order paid in the ledger',
      async () => {
        const n = await sys.db
          .selectFrom('orders')
          .select(sql<string>`count(*)`.as('n'))
          .where('order_id', 'in', placed.map((p) => p.orderId))
          .where('state', '=', 'paid')
          .where('held_ver', 'is not', null)
          .executeTakeFirstOrThrow();
        return Number(n.n) === placed.length;
      },
      90_000,
    );

    // Refunds: the host cancels every seventh flash order after payment (a full refund) and the
    // group closes at its second tier (partial refunds of the difference to the joins before it).
    const flashOrders = placed.filter((p) => p.itemId === flashId).sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
    const cancelled = flashOrders.filter((_, i) => i % 7 === 3);
    for (const p of cancelled) {
      const r = await sys.gateway.context.flash.cancel(flashId, p.orderId, { host: hostId });
      expect(r.outcome).toBe('refunded');
    }
    const closed = await host.command(roomId, { command: 'closeGroup', itemId: groupId });
    expect(closed.data).toMatchObject({ count: 12, finalPrice: 8_007, outcome: 'succeeded' });
    const expectedRefunds = cancelled.length + 9; // joins 1-4 at the base, 5-9 at the first tier
    await waitFor(
      'every refund in the ledger',
      async () => {
        const n = await sys.db.selectFrom('refunds').select(sql<string>`count(*)`.as('n')).where('order_id', 'in', placed.map((p) => p.orderId)).executeTakeFirstOrThrow();
        return Number(n.n) === expectedRefunds;
      },
      90_000,
    );
    // The writer posts the reversals in the transaction that records the refunds: nothing more to wait for.
  }, 300_000);

  it('per order: credited = floor(paid × rate), net = floor((paid − refunded) × rate) (0 refunded), the entries add up to the net', async () => {
    const orders = await sys.db
      .selectFrom('orders')
      .select(['order_id', 'item_id', 'user_id', 'state', 'paid_amount', 'refunded_amount'])
      .where('order_id', 'in', placed.map((p) => p.orderId))
      .execute();
    const commissions = new Map((await sys.db.selectFrom('referral_commissions').selectAll().where('order_id', 'in', placed.map((p) => p.orderId)).execute()).map((c) => [c.order_id, c]));
    const entries = await sys.db
      .selectFrom('referral_commission_entries')
      .select(['order_id', 'referrer_id', sql<string>`sum(amount)`.as('sum'), sql<string>`count(*) filter (where kind = 'credit')`.as('credits')])
      .where('order_id', 'in', placed.map((p) => p.orderId))
      .groupBy(['order_id', 'referrer_id'])
      .execute();
    const entrySum = new Map(entries.map((e) => [e.order_id, { sum: Number(e.sum), credits: Number(e.credits), referrer: e.referrer_id }]));
    const byOrder = new Map(placed.map((p) => [p.orderId, p]));
    expect(orders.length).toBe(placed.length);

    const perReferrer = new Map<string, { orders: number; paid: number; refunded: number; credited: number; reversed: number; net: number }>();
    let paidTotal = 0;
    let refundedTotal = 0;
    let refundedOrders = 0;
    let partly = 0;
    for (const o of orders) {
      const p = byOrder.get(o.order_id)!;
      const paid = Number(o.paid_amount);
      const refunded = Number(o.refunded_amount);
      paidTotal += paid;
      refundedTotal += refunded;
      if (o.state === 'refunded') refundedOrders++;
      else if (refunded > 0) partly++;
      const c = commissions.get(o.order_id);
      if (!p.referrer) {
        expect(c, `order ${o.order_id} bought without a link`).toBeUndefined();
        expect(entrySum.get(o.order_id)).toBeUndefined();
        continue;
      }
      const rate = o.item_id === flashId ? flashRate : groupRate;
      const credited = commissionOf(paid, rate);
      const net = netCommission(paid, rate, refunded, o.state);
      expect(c, `order ${o.order_id}`).toBeDefined();
      expect({ referrer: c!.referrer_id, base: Number(c!.base), amount: Number(c!.amount), reversed: Number(c!.reversed), rate: c!.rate_bp }).toEqual({
        referrer: p.referrer,
        base: paid,
        amount: credited,
        reversed: credited - net,
        rate,
      });
      expect(entrySum.get(o.order_id)).toEqual({ sum: net, credits: 1, referrer: p.referrer });
      const t = perReferrer.get(p.referrer) ?? { orders: 0, paid: 0, refunded: 0, credited: 0, reversed: 0, net: 0 };
      t.orders++;
      t.paid += paid;
      t.refunded += refunded;
      t.credited += credited;
      t.reversed += credited - net;
      t.net += net;
      perReferrer.set(p.referrer, t);
    }
    expect(refundedOrders).toBeGreaterThan(0);
    expect(partly).toBe(9);

    // The ledger's totals per referrer (the report's) are the sums computed here from the orders.
    const totals = await referrerTotals(sys.db, roomId);
    for (const [referrer, t] of perReferrer) {
      expect(totals.find((x) => x.referrer === referrer)).toMatchObject({ orders: t.orders, paidGmv: t.paid, credited: t.credited, reversed: t.reversed, net: t.net });
    }
    const sum = [...perReferrer.values()].reduce((a, t) => ({ credited: a.credited + t.credited, reversed: a.reversed + t.reversed, net: a.net + t.net, orders: a.orders + t.orders }), { credited: 0, reversed: 0, net: 0, orders: 0 });
    console.log(
      [
        `referral reconciliation: ${orders.length} orders paid ${paidTotal} fen, ${refundedTotal} fen refunded (${refundedOrders} in full, ${partly} in part)`,
        `  attributed ${sum.orders} orders: credited ${sum.credited} fen, reversed ${sum.reversed} fen, net ${sum.net} fen (= Σ floor((paid − refunded) × rate / 10000), to the fen)`,
        ...[...perReferrer].sort(([a], [b]) => (a < b ? -1 : 1)).map(([r, t]) => `  ${r}: ${t.orders} orders, paid ${t.paid}, refunded ${t.refunded}, credited ${t.credited}, reversed ${t.reversed}, net ${t.net}`),
      ].join('\n'),
    );
    expect(sum.credited - sum.reversed).toBe(sum.net);
  });

  it('each referrer lists exactly its own commissions, in pages, with totals equal to the ledger', async () => {
    const totals = await referrerTotals(sys.db, roomId);
    for (const referrer of referrers) {
      const http = await shopper(referrer);
      const list = await allCommissions(http);
      const first = await http.myCommissions();
      const mine = await sys.db.selectFrom('referral_commissions').select(['order_id', 'amount', 'reversed']).where('referrer_id', '=', referrer).execute();
      expect(list.map((c) => c.orderId).sort()).toEqual(mine.map((m) => m.order_id).sort());
      for (const c of list) expect(c.net).toBe(c.credited - c.reversed);
      const t = totals.find((x) => x.referrer === referrer)!;
      expect(first.totals).toEqual({ orders: t.orders, credited: t.credited, reversed: t.reversed, net: t.net });
      expect(list.reduce((s, c) => s + c.net, 0)).toBe(t.net);
    }
    // A shopper who referred nobody has nothing.
    const nobody = await (await shopper('rf-nobody')).myCommissions();
    expect(nobody).toEqual({ commissions: [], totals: { orders: 0, credited: 0, reversed: 0, net: 0 }, nextCursor: null });
    // A host token is not a referrer's.
    expect((await apiError(host.myCommissions())).status).toBe(403);
  });

  it('posting the same events again changes nothing (a re-delivered batch never posts twice)', async () => {
    const before = await sql<{ n: string; s: string }>`select count(*) as n, coalesce(sum(amount), 0) as s from referral_commission_entries`.execute(sys.db);
    const events = await sys.db
      .selectFrom('order_events')
      .select('payload')
      .where('order_id', 'in', placed.map((p) => p.orderId))
      .execute();
    await sys.db.transaction().execute((trx) => postCommissions(trx, events.map((e) => e.payload as InventoryEvent)));
    const after = await sql<{ n: string; s: string }>`select count(*) as n, coalesce(sum(amount), 0) as s from referral_commission_entries`.execute(sys.db);
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('the show report has the commission totals per referrer, the show total, and the segment sizes of the buyers', async () => {
    const show = await requireShow(sys.db, showId);
    const report = await buildReport(sys.db, show);
    const totals = await referrerTotals(sys.db, roomId);
    expect(report.referrers.map((r) => r.referrer)).toEqual(totals.map((t) => t.referrer));
    for (const r of report.referrers) {
      const t = totals.find((x) => x.referrer === r.referrer)!;
      expect(r.metrics.find((m) => m.metric === 'commission_net')?.value).toBe(t.net);
      expect(r.metrics.find((m) => m.metric === 'commission_credited')?.value).toBe(t.credited);
    }
    const net = totals.reduce((s, t) => s + t.net, 0);
    expect(report.referralTotals.find((m) => m.metric === 'commission_net')?.value).toBe(net);
    expect(report.dictionary.map((d) => d.metric)).toEqual(expect.arrayContaining(['commission_net', 'commission_reversed', 'referral_orders']));
    // Every buyer of the room paid within the last minutes: all new, recency 5.
    const buyers = await sys.db.selectFrom('orders').select('user_id').distinct().where('room_id', '=', roomId).where('state', '=', 'paid').execute();
    expect(report.segments.shoppers).toBe(buyers.length);
    expect(report.segments.stages).toEqual({ new: buyers.length, active: 0, dormant: 0, churned: 0 });
    expect(report.segments.r[4]).toBe(buyers.length);

    const ops = sys.http(await sys.token('ops', 'rf-ops'));
    const text = await ops.request('GET', `/shows/${showId}/report?format=text`);
    expect(text.status).toBe(200);
    expect(String(text.body)).toContain('Referral commissions per referrer');
    const csv = await ops.request('GET', `/shows/${showId}/report?format=csv&part=referrers`);
    expect(csv.status).toBe(200);
    expect(String(csv.body)).toContain('commission_net');
  });
});

describe('events in any order, in any batches: the same credit and reversals (the writer step on the real ledger)', () => {
  it('a refund and a payment before their hold: credited when the hold arrives, reversed at once; refunded in full: 0', async () => {
    const itemId = (await host.addItem(roomId, { title: 'Out of order', price: 10_000, stock: 10, perUserLimit: 5, ...window() })).id;
    await host.setCommissionRate(roomId, itemId, 1_000);
    const click = await (await shopper('rf-ooo')).referralClick(roomId, 'rf-ooo-ref', itemId);
    const at = click.clickedAt + 60_000;
    const deliver = (events: InventoryEvent[]) =>
      sys.db.transaction().execute(async (trx) => {
        const r = await writeInventoryBatch(trx, events.map((event) => ({ event, raw: JSON.stringify(event) })));
        await postCommissions(trx, r.freshEvents);
      });
    const order = 'rf-ooo-1';
    const h = held({ order, item: itemId, room: roomId, user: 'rf-ooo', price: 10_000, at, ver: 1 });
    await deliver([refund(h, 3_001, at + 3000, 4)]);
    await deliver([paid(h, at + 1000, 2)]);
    expect(await entriesOf(order)).toEqual([]); // the hold decides: not yet
    await deliver([h]);
    // credited 1000; net floor(6999 × 10%) = 699: 301 reversed at once.
    expect(await entriesOf(order)).toEqual([
      { kind: 'credit', amount: 1_000, referrer: 'rf-ooo-ref' },
      { kind: 'reversal', amount: -301, referrer: 'rf-ooo-ref' },
    ]);
    await deliver([refund(h, 6_999, at + 5000, 6, 'cancelled_after_payment'), cancelled(h, at + 5000, 7, 'host')]);
    const e = await entriesOf(order);
    expect(e.reduce((sum, x) => sum + x.amount, 0)).toBe(0);
    expect(e.map((x) => x.amount)).toEqual([1_000, -301, -699]);

    // The same facts in one batch give the same result.
    const h2 = held({ order: 'rf-ooo-2', item: itemId, room: roomId, user: 'rf-ooo', price: 10_000, at: at + 10, ver: 11 });
    await deliver([refund(h2, 3_001, at + 3000, 14), paid(h2, at + 1000, 12), h2]);
    expect((await entriesOf('rf-ooo-2')).map((x) => x.amount)).toEqual([1_000, -301]);
  }, 60_000);
});

describe('the seed function', () => {
  it('sets the rate and records a click that attributes the shopper', async () => {
    const itemId = (await host.addItem(roomId, { title: 'Seeded', price: 2_000, stock: 10, perUserLimit: 1, ...window() })).id;
    const click = await seedReferral(sys.db, host, { roomId, itemId, referrer: 'rf-seed-ref', shopper: 'rf-seed-buyer', rateBp: 500 });
    expect(click.referrer).toBe('rf-seed-ref');
    expect((await host.snapshot(roomId)).room.items[itemId]!.offers).toMatchObject({ commissionBp: 500 });
    const s = await shopper('rf-seed-buyer');
    const b = await s.buy(roomId, itemId, 1, 'rf-seed-1');
    if (b.outcome !== 'held') throw new Error(b.outcome);
    await s.pay(roomId, itemId, b.orderId);
    await waitFor('the seeded order paid in the ledger', async () => (await ledgerState(b.orderId)) === 'paid', 60_000);
    expect(await entriesOf(b.orderId)).toEqual([{ kind: 'credit', amount: 100, referrer: 'rf-seed-ref' }]);
    await expect(seedReferral(sys.db, host, { roomId, itemId, referrer: 'x', shopper: 'x', rateBp: 1 })).rejects.toThrow(/own share link/);
    expect((await host.snapshot(roomId)).room.items[itemId]!.offers).toMatchObject({ commissionBp: 500 });
  }, 120_000);
});
