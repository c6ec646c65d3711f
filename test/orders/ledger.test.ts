import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import type { Config } from '../../common/platform/config.ts';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { parseInventoryEvent, writeInventoryBatch } from '../../orders/ledger-write.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { foldOrder, isOrderEvent, type OrderEvent } from '../../orders/order-fold.ts';
import { auditRoomStats } from '../../orders/stats-audit.ts';
import { showFigures } from '../../orders/stats.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { cancelled, expired, held, paid, refund, reminder, repriced, stockAdjusted } from './events.ts';

let config: Config;
let db: Kysely<Database>;
beforeAll(async () => {
  config = testConfig();
  db = createDbFromConfig(config, 4);
  await migrateToLatest(db, config.databaseSchema);
});
afterAll(async () => {
  await db?.destroy();
  if (config) await dropNamespace(config);
});

async function write(events: readonly InventoryEvent[]) {
  return db.transaction().execute((trx) => writeInventoryBatch(trx, events.map((event) => ({ event, raw: JSON.stringify(event) }))));
}

async function orderRow(orderId: string) {
  return db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
}

const T0 = Date.UTC(2026, 10, 24, 20, 0, 0);
let roomSeq = 1000;

describe('the ledger write (real Postgres, no Kafka)', () => {
  it('held -> paid -> refunded; held -> cancelled; held -> expired; re-delivery changes nothing', async () => {
    const room = String(roomSeq++);
    const h1 = held({ item: '1', room, user: 'a', price: 9900, at: T0, ver: 1 });
    const h2 = held({ item: '1', room, user: 'b', price: 9900, at: T0 + 1000, ver: 2 });
    const h3 = held({ item: '1', room, user: 'c', price: 9900, qty: 2, at: T0 + 2000, ver: 3 });
    const p1 = paid(h1, T0 + 61_000, 4);
    const c2 = cancelled(h2, T0 + 62_000, 5);
    const x3 = expired(h3, T0 + 900_000, 6);
    const r1 = refund(h1, 9900, T0 + 121_000, 7, 'cancelled_after_payment');
    const first = await write([h1, h2, h3, p1, c2, x3, stockAdjusted('1', room, T0 + 3000, 8, 5)]);
    expect(first.fresh).toBe(7);
    expect(first.rooms).toEqual(new Set([room]));
    expect((await orderRow((h1 as OrderEvent).order))?.state).toBe('paid');
    expect((await orderRow((h2 as OrderEvent).order))?.state).toBe('cancelled');
    expect((await orderRow((h3 as OrderEvent).order))).toMatchObject({ state: 'expired', qty: 2, amount: '19800' });
    await write([r1]);
    expect(await orderRow((h1 as OrderEvent).order)).toMatchObject({ state: 'refunded', refunded_amount: '9900', paid_amount: '9900' });

    const again = await write([h1, h2, h3, p1, c2, x3, r1]);
    expect(again.fresh).toBe(0);
    const f = await showFigures(db, room);
    expect(f).toMatchObject({ placedOrders: 3, orderedGmv: 9900 * 4, paidOrders: 1, paidGmv: 9900, refunds: 1, refunded: 9900, buyers: 1 });
    expect(await auditRoomStats(db, room)).toEqual([]);
    // The item-level event is in the event log without an order.
    const adj = await db.selectFrom('order_events').select(['order_id', 'ver']).where('type', '=', 'stock.adjusted').where('room_id', '=', room).execute();
    expect(adj).toEqual([{ order_id: null, ver: '8' }]);
  });

  it('a payment before its hold, a cancellation before its hold: the rows end right and the minute figures move with them', async () => {
    const room = String(roomSeq++);
    const h = held({ item: '2', room, user: 'a', price: 500, at: T0, ver: 1 });
    const p = paid(h, T0 + 5 * 60_000, 3);
    await write([p]);
    expect(await orderRow((h as OrderEvent).order)).toMatchObject({ state: 'paid', held_ver: null, deadline_at: null });
    expect(await auditRoomStats(db, room)).toEqual([]);
    await write([h]);
    const row = await orderRow((h as OrderEvent).order);
    expect(row).toMatchObject({ state: 'paid', held_ver: '1' });
    expect(row!.held_at.getTime()).toBe(T0);
    expect(await auditRoomStats(db, room)).toEqual([]);
    const minutes = await db.selectFrom('stats_minute').select(['minute', 'placed_orders', 'paid_orders']).where('room_id', '=', room).orderBy('minute').execute();
    expect(minutes.map((m) => [m.minute.getTime(), m.placed_orders, m.paid_orders])).toEqual([
      [T0, 1, 0],
      [T0 + 5 * 60_000, 0, 1],
    ]);

    const h2 = held({ item: '2', room, user: 'b', price: 500, at: T0, ver: 4 });
    await write([cancelled(h2, T0 + 1000, 5), reminder(h2, T0 + 500, 6)]);
    expect(await orderRow((h2 as OrderEvent).order)).toBeUndefined();
    await write([h2]);
    expect(await orderRow((h2 as OrderEvent).order)).toMatchObject({ state: 'cancelled' });
  });

  it('a group order repriced at settlement and a tier refund', async () => {
    const room = String(roomSeq++);
    const h = { ...held({ item: '3', room, user: 'a', price: 449, qty: 2, at: T0, ver: 1 }), kind: 'group' } as InventoryEvent;
    const unpaid = { ...held({ item: '3', room, user: 'b', price: 449, at: T0, ver: 2 }), kind: 'group' } as InventoryEvent;
    await write([h, unpaid, paid(h, T0 + 1000, 3)]);
    await write([repriced(unpaid, 399, T0 + 2000, 5), refund(h, 100, T0 + 2000, 6)]);
    expect(await orderRow((unpaid as OrderEvent).order)).toMatchObject({ kind: 'group', unit_price: '399', amount: '399', state: 'held' });
    expect(await orderRow((h as OrderEvent).order)).toMatchObject({ state: 'paid', refunded_amount: '100', paid_amount: '898' });
    const f = await showFigures(db, room);
    expect(f).toMatchObject({ orderedGmv: 898 + 399, paidGmv: 898, refunded: 100 });
    expect(await auditRoomStats(db, room)).toEqual([]);
  });

  it('random orders, events delivered out of order, twice, in random batches: every row equals the fold of its events, and the kept figures equal a recomputation', async () => {
    const scenario = fc.array(
      fc.record({
        user: fc.constantFrom('u1', 'u2', 'u3', 'u4'),
        item: fc.constantFrom('11', '12'),
        qty: fc.integer({ min: 1, max: 3 }),
        price: fc.integer({ min: 1, max: 100_000 }),
        minute: fc.integer({ min: 0, max: 5 }),
        fate: fc.constantFrom('held', 'paid', 'cancelled', 'expired', 'refunded', 'partial', 'repriced'),
        holdArrives: fc.boolean(),
      }),
      { minLength: 1, maxLength: 12 },
    );
    await fc.assert(
      fc.asyncProperty(scenario, fc.integer({ min: 1, max: 6 }), fc.infiniteStream(fc.nat()), async (orders, batches, rnd) => {
        const room = String(roomSeq++);
        let ver = 0;
        const events: OrderEvent[] = [];
        for (const o of orders) {
          const at = T0 + o.minute * 60_000 + 1000;
          const h = held({ item: o.item, room, user: o.user, qty: o.qty, price: o.price, at, ver: ++ver }) as OrderEvent;
          const mine: OrderEvent[] = [h];
          if (o.fate === 'cancelled') mine.push(cancelled(h, at + 10, ++ver) as OrderEvent);
          if (o.fate === 'expired') mine.push(expired(h, at + 90_000, ++ver) as OrderEvent);
          if (o.fate === 'repriced') mine.push(repriced(h, Math.max(0, o.price - 1), at + 20, ++ver) as OrderEvent);
          if (['paid', 'refunded', 'partial'].includes(o.fate)) mine.push(paid(h, at + 30_000, ++ver) as OrderEvent);
          if (o.fate === 'refunded') mine.push(refund(h, h.type === 'order.held' ? h.amount : 0, at + 70_000, ++ver, 'cancelled_after_payment') as OrderEvent);
          if (o.fate === 'partial') mine.push(refund(h, 1, at + 70_000, ++ver) as OrderEvent);
          // Sometimes the hold never arrives (lost with Redis before the relay took it).
          events.push(...(o.holdArrives || o.fate === 'held' ? mine : mine.slice(1)));
        }
        // Deliver every event twice, shuffled, in `batches` transactions.
        const delivery = [...events, ...events];
        const it = rnd[Symbol.iterator]();
        for (let i = delivery.length - 1; i > 0; i--) {
          const j = it.next().value % (i + 1);
          [delivery[i], delivery[j]] = [delivery[j]!, delivery[i]!];
        }
        const size = Math.ceil(delivery.length / batches);
        for (let i = 0; i < delivery.length; i += size) await write(delivery.slice(i, i + size));

        const byOrder = new Map<string, OrderEvent[]>();
        for (const e of events) byOrder.set(e.order, [...(byOrder.get(e.order) ?? []), e]);
        const rows = new Map((await db.selectFrom('orders').selectAll().where('room_id', '=', room).execute()).map((r) => [r.order_id, r]));
        for (const [orderId, evs] of byOrder) {
          const want = foldOrder(evs);
          const got = rows.get(orderId);
          if (!want) {
            expect(got).toBeUndefined();
            continue;
          }
          expect(got).toBeDefined();
          expect({ state: got!.state, amount: Number(got!.amount), paid: got!.paid_amount === null ? null : Number(got!.paid_amount), refunded: Number(got!.refunded_amount), heldAt: got!.held_at.getTime() }).toEqual({
            state: want.state,
            amount: want.amount,
            paid: want.paidAmount,
            refunded: want.refundedAmount,
            heldAt: want.heldAt,
          });
        }
        expect(await auditRoomStats(db, room)).toEqual([]);
        const n = await db.selectFrom('order_events').select(db.fn.countAll<string>().as('n')).where('room_id', '=', room).executeTakeFirstOrThrow();
        expect(Number(n.n)).toBe(events.length);
      }),
      { numRuns: 25 },
    );
  });

  it('parsing: what the ledger cannot take is poison with a reason', () => {
    expect(parseInventoryEvent('{nope')).toMatchObject({ ok: false, error: expect.stringContaining('invalid JSON') });
    expect(parseInventoryEvent(JSON.stringify({ type: 'order.held' }))).toMatchObject({ ok: false });
    const h = held({ item: 'abc', room: '1', user: 'a', at: T0, ver: 1 });
    expect(parseInventoryEvent(JSON.stringify(h))).toMatchObject({ ok: false, error: expect.stringContaining('numeric ids') });
    const good = held({ item: '5', room: '1', user: 'a', at: T0, ver: 1 });
    expect(parseInventoryEvent(JSON.stringify(good))).toMatchObject({ ok: true });
    expect(isOrderEvent(good)).toBe(true);
  });
});
