import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LivesaleError } from '../../../common/platform/errors.ts';
import { reserveKeys, type FlashItemSpec, type Held } from '../../../inventory/flash-sale.ts';
import { inventoryEvent } from '../../../common/contracts/inventory-events.ts';
import { ScriptCode } from '../../../common/contracts/script-codes.ts';
import { Sweeper } from '../../../inventory/sweeper.ts';
import { waitFor } from '../../helpers/wait.ts';
import type { InventoryEnv } from '../env.ts';
import { dumpItem, outbox, redisNow } from '../helpers.ts';

/**
 * The flash-sale suite: every command of the flash-sale lifecycle against real Redis. It runs
 * unchanged against a single Redis (test/inventory/flash-sale.test.ts) and a 3-master Redis
 * Cluster (test/cluster/cluster.test.ts).
 */
export function flashSaleSuite(env: () => InventoryEnv): void {
  async function item(over: Partial<FlashItemSpec> = {}): Promise<string> {
    const e = env();
    const itemId = e.itemId();
    const now = await redisNow(e.redis);
    await e.flash.createItem({ itemId, roomId: 'r1', total: 10, price: 4990, perUserLimit: 5, startsAt: now - 60_000, endsAt: now + 600_000, holdMs: 60_000, ...over });
    return itemId;
  }

  async function held(itemId: string, user: string, qty = 1): Promise<Held> {
    const r = await env().flash.reserve(itemId, user, qty, randomUUID());
    if (r.outcome !== 'held') throw new Error(`expected a hold, got ${r.outcome}`);
    return r;
  }

  async function errorOf(p: Promise<unknown>): Promise<LivesaleError> {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    if (!(e instanceof LivesaleError)) throw new Error(`expected a LivesaleError, got ${String(e)}`);
    return e;
  }

  const counters = async (itemId: string) => {
    const v = (await env().flash.view(itemId))!;
    return { available: v.available, held: v.held, sold: v.sold, total: v.total };
  };

  describe('reserve', () => {
    it('holds stock, counts the user and writes exactly one valid outbox event in the same call', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 10, price: 4990 });
      const r = await flash.reserve(id, 'u1', 2, 'k1');
      expect(r).toMatchObject({ outcome: 'held', qty: 2, unitPrice: 4990, amount: 9980, available: 8, version: 1 });
      if (r.outcome !== 'held') throw new Error('not held');
      expect(await counters(id)).toEqual({ available: 8, held: 2, sold: 0, total: 10 });
      expect(await redis.hget(keys.item(id).users, 'u1')).toBe('2');
      expect(await flash.hold(id, r.orderId)).toMatchObject({ state: 'held', version: 1, qty: 2, unitPrice: 4990, userId: 'u1', deadline: r.deadline });
      const events = await outbox(redis, keys.item(id));
      expect(events).toHaveLength(1);
      const e = inventoryEvent.parse(events[0]);
      expect(e).toMatchObject({ id: `${r.orderId}:held`, type: 'order.held', order: r.orderId, item: id, room: 'r1', user: 'u1', qty: 2, price: 4990, amount: 9980, idem: 'k1', ver: r.ver });
    });

    it('refuses with sold out when nothing is left, and changes nothing but the idempotency record', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 2 });
      await held(id, 'a');
      await held(id, 'b');
      const before = await counters(id);
      expect(await flash.reserve(id, 'c', 1, 'k')).toMatchObject({ outcome: 'sold_out', code: 'SOLD_OUT', available: 0 });
      expect(await counters(id)).toEqual(before);
      expect(await outbox(redis, keys.item(id))).toHaveLength(2);
    });

    it('refuses a quantity larger than what is left as insufficient stock', async () => {
      const { flash } = env();
      const id = await item({ total: 2 });
      expect(await flash.reserve(id, 'a', 3, 'k')).toMatchObject({ outcome: 'insufficient_stock', code: 'INSUFFICIENT_STOCK', available: 2 });
      expect(await counters(id)).toEqual({ available: 2, held: 0, sold: 0, total: 2 });
    });

    it('reserves any quantity up to the per-user limit, counted across reservations', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 100, perUserLimit: 3 });
      expect((await flash.reserve(id, 'u', 2, 'k1')).outcome).toBe('held');
      expect(await flash.reserve(id, 'u', 2, 'k2')).toMatchObject({ outcome: 'limit_reached', code: 'LIMIT_REACHED', limit: 3, already: 2 });
      expect((await flash.reserve(id, 'u', 1, 'k3')).outcome).toBe('held');
      expect((await flash.reserve(id, 'u', 1, 'k4')).outcome).toBe('limit_reached');
      expect(await redis.hget(keys.item(id).users, 'u')).toBe('3');
      expect((await counters(id)).held).toBe(3);
    });

    it('returns the first answer for a replayed idempotency key and never reserves twice', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 5 });
      const first = await flash.reserve(id, 'u', 1, 'same-key');
      const after = await dumpItem(redis, keys.item(id));
      expect(await flash.reserve(id, 'u', 1, 'same-key')).toEqual({ outcome: 'duplicate', first });
      // The same key with another quantity is another request: refused, never the first answer.
      await expect(flash.reserve(id, 'u', 3, 'same-key')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(await dumpItem(redis, keys.item(id))).toEqual(after);
      // The key is per user: another user's identical key is a different request.
      expect((await flash.reserve(id, 'other', 1, 'same-key')).outcome).toBe('held');
    });

    it('replays a refusal as its first answer too', async () => {
      const { flash } = env();
      const id = await item({ total: 0 });
      const first = await flash.reserve(id, 'u', 1, 'k');
      expect(first.outcome).toBe('sold_out');
      expect(await flash.reserve(id, 'u', 1, 'k')).toEqual({ outcome: 'duplicate', first });
    });

    it('decides the sale window by the Redis clock: pre-heat, then ended', async () => {
      const { flash, redis, keys } = env();
      const serverNow = await redisNow(redis);
      const future = await item({ startsAt: serverNow + 3_600_000, endsAt: serverNow + 7_200_000 });
      expect((await flash.view(future))!.phase).toBe('preheat');
      expect(await flash.reserve(future, 'u', 1, 'k')).toMatchObject({ outcome: 'not_started', code: 'NOT_STARTED', startsAt: serverNow + 3_600_000 });
      const past = await item({ startsAt: serverNow - 7_200_000, endsAt: serverNow - 3_600_000 });
      expect((await flash.view(past))!.phase).toBe('ended');
      expect(await flash.reserve(past, 'u', 1, 'k')).toMatchObject({ outcome: 'ended', code: 'ENDED' });
      expect(await counters(future)).toMatchObject({ available: 10, held: 0 });
      expect(await outbox(redis, keys.item(past))).toEqual([]);
    });

    describe('bad arguments give a typed error and leave Redis unchanged', () => {
      const cases: [string, unknown][] = [
        ['quantity 0', 0],
        ['negative quantity', -1],
        ['non-numeric quantity', 'abc'],
        ['fractional quantity', 1.5],
        ['missing quantity', undefined],
        ['numeric-string quantity', '1'],
      ];
      for (const [name, qty] of cases) {
        it(`${name} (through the wrapper)`, async () => {
          const { flash, redis, keys } = env();
          const id = await item();
          const before = await dumpItem(redis, keys.item(id));
          expect((await errorOf(flash.reserve(id, 'u', qty, 'k'))).code).toBe('INVALID_ARGUMENT');
          expect(await dumpItem(redis, keys.item(id))).toEqual(before);
        });
      }

      const raw: [string, (string | number)[]][] = [
        ['quantity 0', ['u', '0', 'k', randomUUID()]],
        ['negative quantity', ['u', '-3', 'k', randomUUID()]],
        ['non-numeric quantity', ['u', 'abc', 'k', randomUUID()]],
        ['fractional quantity', ['u', '1.5', 'k', randomUUID()]],
        ['empty quantity', ['u', '', 'k', randomUUID()]],
        ['missing quantity and the rest', ['u']],
        ['empty user', ['', '1', 'k', randomUUID()]],
        ['a user with a space', ['a b', '1', 'k', randomUUID()]],
        ['empty idempotency key', ['u', '1', '', randomUUID()]],
        ['a malformed order id', ['u', '1', 'k', 'has space']],
      ];
      for (const [name, args] of raw) {
        it(`${name} (sent straight to the script)`, async () => {
          const { scripts, redis, keys } = env();
          const id = await item();
          const before = await dumpItem(redis, keys.item(id));
          const r = (await scripts.call('reserve', reserveKeys(keys.item(id), 'u', 'k'), args)) as unknown[];
          expect(r[0]).toBe(ScriptCode.INVALID_ARGUMENT);
          expect(await dumpItem(redis, keys.item(id))).toEqual(before);
        });
      }

      it('a malformed idempotency key or user', async () => {
        const { flash, redis, keys } = env();
        const id = await item();
        const before = await dumpItem(redis, keys.item(id));
        for (const key of ['', 'has space', 'x'.repeat(129), 42]) {
          expect((await errorOf(flash.reserve(id, 'u', 1, key))).code).toBe('INVALID_ARGUMENT');
        }
        expect((await errorOf(flash.reserve(id, 'has space', 1, 'k'))).code).toBe('INVALID_ARGUMENT');
        expect(await dumpItem(redis, keys.item(id))).toEqual(before);
      });
    });

    it('fails closed with ITEM_UNAVAILABLE when Redis has no inventory for the item', async () => {
      const { flash, redis, keys } = env();
      const id = env().itemId();
      expect((await errorOf(flash.reserve(id, 'u', 1, 'k'))).code).toBe('ITEM_UNAVAILABLE');
      expect((await errorOf(flash.adjustStock(id, 1, 'host'))).code).toBe('ITEM_UNAVAILABLE');
      expect((await errorOf(env().payments.pay(id, 'o1', 'u'))).code).toBe('ITEM_UNAVAILABLE');
      expect(await dumpItem(redis, keys.item(id))).toEqual(Object.fromEntries(keys.item(id).all.map((k) => [k, 'none'])));
    });

    it('records the settings it was created with as its first event', async () => {
      const { redis, keys } = env();
      const now = await redisNow(redis);
      const id = await item({ total: 12, price: 990, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 5000, holdMs: 4000, remindMs: 1000 });
      const [created, ...rest] = await outbox(redis, keys.item(id), { withCreated: true });
      expect(rest).toEqual([]);
      expect(inventoryEvent.parse(created)).toMatchObject({
        id: `${id}:created`, type: 'item.created', kind: 'flash', item: id, room: 'r1', ver: 1,
        total: 12, price: 990, limit: 3, startsAt: now - 1000, endsAt: now + 5000, holdMs: 4000, remindMs: 1000,
      });
    });

    it('creates an item once; a second create changes nothing', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 7 });
      await held(id, 'u');
      const before = await dumpItem(redis, keys.item(id));
      const now = await redisNow(redis);
      expect(await flash.createItem({ itemId: id, roomId: 'r1', total: 99, price: 1, perUserLimit: 1, startsAt: now, endsAt: now + 1000, holdMs: 1000 })).toBe(false);
      expect(await dumpItem(redis, keys.item(id))).toEqual(before);
    });
  });

  describe('pay', () => {
    it('turns a hold into a sale and answers only after the paid event is in Kafka', async () => {
      const { payments, redis, keys, kafka, config } = env();
      const id = await item({ total: 5, price: 1200 });
      const h = await held(id, 'payer', 2);
      const admin = kafka.admin();
      await admin.connect();
      const sum = async () => (await admin.fetchTopicOffsets(config.topics.orders)).reduce((s, p) => s + Number(p.high), 0);
      const before = await sum();
      const paid = await payments.pay(id, h.orderId, 'payer', h.version);
      // The answer came after Kafka acknowledged: the event is already in the topic.
      expect(await sum()).toBe(before + 1);
      await admin.disconnect();
      expect(paid).toMatchObject({ outcome: 'paid', orderId: h.orderId, qty: 2, amount: 2400, already: false, eventId: `${h.orderId}:paid` });
      expect(await counters(id)).toEqual({ available: 3, held: 0, sold: 2, total: 5 });
      expect(await env().flash.hold(id, h.orderId)).toMatchObject({ state: 'paid', version: 2 });
      expect(await redis.zscore(keys.item(id).deadlines, h.orderId)).toBeNull();
      const e = (await outbox(redis, keys.item(id))).find((x) => x.type === 'order.paid');
      expect(inventoryEvent.parse(e)).toMatchObject({ id: `${h.orderId}:paid`, qty: 2, amount: 2400, price: 1200, hv: 1, user: 'payer' });
      // Paying again confirms the same payment; nothing is counted twice.
      const again = await payments.pay(id, h.orderId, 'payer');
      expect(again).toMatchObject({ outcome: 'paid', already: true, amount: 2400, eventId: paid.eventId });
      expect(await counters(id)).toEqual({ available: 3, held: 0, sold: 2, total: 5 });
      expect((await outbox(redis, keys.item(id))).filter((x) => x.type === 'order.paid')).toHaveLength(1);
    });

    it('is not confirmed while Kafka cannot take the event; a retry confirms the same payment', async () => {
      const { redis, keys, scripts, kafka } = env();
      const { Payments } = await import('../../../inventory/payments.ts');
      const broken = new Payments({ redis, keys, scripts, kafka, topic: `${env().config.kafkaTopicPrefix}no-such-topic`, confirmTimeoutMs: 1500 });
      await broken.start();
      const id = await item({ total: 5, price: 500 });
      const h = await held(id, 'p');
      try {
        expect((await errorOf(broken.pay(id, h.orderId, 'p'))).code).toBe('PAYMENT_NOT_CONFIRMED');
      } finally {
        await broken.stop();
      }
      const paid = await env().payments.pay(id, h.orderId, 'p');
      expect(paid).toMatchObject({ already: true, amount: 500 });
      expect(await counters(id)).toEqual({ available: 4, held: 0, sold: 1, total: 5 });
    });

    it('refuses a payment for someone else\'s order, a cancelled hold, or a stale hold version', async () => {
      const { payments, flash } = env();
      const id = await item({ total: 5 });
      const h = await held(id, 'owner');
      expect((await errorOf(payments.pay(id, h.orderId, 'intruder'))).code).toBe('ORDER_NOT_FOUND');
      expect((await errorOf(payments.pay(id, 'no-such-order', 'owner'))).code).toBe('ORDER_NOT_FOUND');
      const stale = await errorOf(payments.pay(id, h.orderId, 'owner', 7));
      expect(stale.code).toBe('HOLD_CHANGED');
      expect(stale.details).toMatchObject({ version: 1 });
      await flash.cancel(id, h.orderId, { userId: 'owner' });
      expect((await errorOf(payments.pay(id, h.orderId, 'owner', 1))).code).toBe('HOLD_CANCELLED');
      expect(await counters(id)).toEqual({ available: 5, held: 0, sold: 0, total: 5 });
    });

    it('refuses a payment after the deadline and returns the stock exactly once, even before any sweep', async () => {
      const { payments, redis, keys, flash } = env();
      const id = await item({ total: 3, holdMs: 1000, remindMs: 0 });
      const h = await held(id, 'late');
      await waitFor('the deadline to pass on the Redis clock', async () => (await redisNow(redis)) > h.deadline, 10_000, 20);
      const err = await errorOf(payments.pay(id, h.orderId, 'late', 1));
      expect(err.code).toBe('HOLD_EXPIRED');
      expect(err.details).toMatchObject({ available: 3 });
      expect((await errorOf(payments.pay(id, h.orderId, 'late', 1))).code).toBe('HOLD_EXPIRED');
      expect(await new Sweeper({ redis, keys, scripts: env().scripts }).sweepItem(id)).toMatchObject({ expired: 0 });
      expect(await counters(id)).toEqual({ available: 3, held: 0, sold: 0, total: 3 });
      const events = await outbox(redis, keys.item(id));
      expect(events.filter((e) => e.type === 'order.expired')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'order.paid')).toHaveLength(0);
      expect(await flash.hold(id, h.orderId)).toMatchObject({ state: 'expired', version: 2 });
    });
  });

  describe('cancel', () => {
    it('releases a hold once; cancelling again answers as before', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ total: 4, perUserLimit: 2 });
      const h = await held(id, 'c', 2);
      const r = await flash.cancel(id, h.orderId, { userId: 'c' });
      expect(r).toMatchObject({ outcome: 'cancelled', already: false, available: 4, refund: 0 });
      expect(await flash.cancel(id, h.orderId, { userId: 'c' })).toMatchObject({ outcome: 'cancelled', already: true, available: 4, ver: r.ver });
      expect(await counters(id)).toEqual({ available: 4, held: 0, sold: 0, total: 4 });
      expect(await redis.hget(keys.item(id).users, 'c')).toBeNull();
      const events = (await outbox(redis, keys.item(id))).filter((e) => e.type === 'order.cancelled');
      expect(events).toHaveLength(1);
      expect(inventoryEvent.parse(events[0])).toMatchObject({ reason: 'user', qty: 2 });
      // The limit counts what is held or bought: after cancelling, the user may buy again.
      expect((await flash.reserve(id, 'c', 2, 'again')).outcome).toBe('held');
    });

    it('a buyer cannot cancel a paid order; the host can, refunding it in full', async () => {
      const { flash, payments, redis, keys } = env();
      const id = await item({ total: 4, price: 700 });
      const h = await held(id, 'b', 2);
      await payments.pay(id, h.orderId, 'b');
      expect((await errorOf(flash.cancel(id, h.orderId, { userId: 'b' }))).code).toBe('ORDER_PAID');
      expect((await errorOf(flash.cancel(id, h.orderId, { userId: 'someone' }))).code).toBe('ORDER_NOT_FOUND');
      expect(await flash.cancel(id, h.orderId, { host: 'host-1' })).toMatchObject({ outcome: 'refunded', refund: 1400, available: 4 });
      expect(await counters(id)).toEqual({ available: 4, held: 0, sold: 0, total: 4 });
      const refund = (await outbox(redis, keys.item(id))).find((e) => e.type === 'refund.issued');
      expect(inventoryEvent.parse(refund)).toMatchObject({ amount: 1400, reason: 'cancelled_after_payment', order: h.orderId });
    });
  });

  describe('host commands', () => {
    it('adjusts stock up and down, never below held + sold, and an operation id applies once', async () => {
      const { flash, payments, redis, keys } = env();
      const id = await item({ total: 10 });
      const h = await held(id, 'x', 3);
      await payments.pay(id, h.orderId, 'x');
      await held(id, 'y', 2);
      expect(await flash.adjustStock(id, 5, 'host-1', { opId: 'op-1' })).toMatchObject({ total: 15, available: 10, duplicate: false });
      expect(await flash.adjustStock(id, 5, 'host-1', { opId: 'op-1' })).toMatchObject({ total: 15, available: 10, duplicate: true });
      const r = await flash.adjustStock(id, -10, 'host-1');
      expect(r).toMatchObject({ total: 5, available: 0 });
      const before = await dumpItem(redis, keys.item(id));
      const err = await errorOf(flash.adjustStock(id, -1, 'host-1'));
      expect(err.code).toBe('STOCK_BELOW_COMMITTED');
      expect(err.details).toEqual({ available: 0, held: 2, sold: 3 });
      expect(await dumpItem(redis, keys.item(id))).toEqual(before);
      expect((await errorOf(flash.adjustStock(id, 0, 'host-1'))).code).toBe('INVALID_ARGUMENT');
      expect((await errorOf(flash.adjustStock(id, 1.5, 'host-1'))).code).toBe('INVALID_ARGUMENT');
      const adj = (await outbox(redis, keys.item(id))).filter((e) => e.type === 'stock.adjusted').map((e) => inventoryEvent.parse(e));
      expect(adj).toMatchObject([
        { delta: 5, total: 15, available: 10, by: 'host-1' },
        { delta: -10, total: 5, available: 0 },
      ]);
      expect(await counters(id)).toEqual({ available: 0, held: 2, sold: 3, total: 5 });
    });

    it('changes the price now', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ price: 1000 });
      const r = await flash.setPrice(id, 800, {}, 'host-1');
      expect(r).toMatchObject({ price: 800 });
      expect((await held(id, 'u')).unitPrice).toBe(800);
      const e = (await outbox(redis, keys.item(id))).find((x) => x.type === 'price.changed');
      expect(inventoryEvent.parse(e)).toMatchObject({ price: 800, previous: 1000, by: 'host-1', ver: r.ver });
      expect((await errorOf(flash.setPrice(id, -1, {}, 'host-1'))).code).toBe('INVALID_ARGUMENT');
    });

    it('schedules a price change that takes effect at its time by the Redis clock, applied by the first buy', async () => {
      const { flash, redis, keys } = env();
      const id = await item({ price: 1000 });
      const at = (await redisNow(redis)) + 400;
      const r = await flash.setPrice(id, 600, { at }, 'host-1');
      expect(r).toMatchObject({ price: 1000, scheduled: { price: 600, at } });
      expect((await flash.view(id))!.scheduledPrice).toEqual({ price: 600, at });
      expect((await held(id, 'early')).unitPrice).toBe(1000);
      await waitFor('the scheduled time on the Redis clock', async () => (await redisNow(redis)) >= at, 10_000, 20);
      const late = await held(id, 'late');
      expect(late.unitPrice).toBe(600);
      const events = await outbox(redis, keys.item(id));
      const changed = events.filter((e) => e.type === 'price.changed');
      expect(changed).toHaveLength(1);
      expect(inventoryEvent.parse(changed[0])).toMatchObject({ price: 600, previous: 1000, effectiveAt: at });
      expect(changed[0]!.ver).toBe(late.ver - 1);
      expect(events.filter((e) => e.type === 'price.scheduled')).toHaveLength(1);
      expect((await flash.view(id))!.scheduledPrice).toBeUndefined();
      expect(await flash.applyDuePrice(id)).toBeUndefined();
    });

    it('the sweeper applies a due price without any buy', async () => {
      const { flash, redis, keys, scripts } = env();
      const id = await item({ price: 1000 });
      const at = (await redisNow(redis)) + 200;
      await flash.setPrice(id, 900, { at }, 'host-1');
      await waitFor('the scheduled time', async () => (await redisNow(redis)) >= at, 10_000, 20);
      const s = await new Sweeper({ redis, keys, scripts }).sweepItem(id);
      expect(s.price).toMatchObject({ price: 900 });
      expect((await flash.view(id))!.price).toBe(900);
    });

    it('opens and closes the sale by the Redis clock: pre-heat -> live -> ended', async () => {
      const { flash, redis, keys } = env();
      const now = await redisNow(redis);
      const id = await item({ startsAt: now + 3_600_000, endsAt: now + 7_200_000 });
      expect((await flash.reserve(id, 'u', 1, 'k1')).outcome).toBe('not_started');
      const opened = await flash.setWindow(id, 'now', undefined, 'host-1');
      expect(opened).toMatchObject({ phase: 'live', endsAt: now + 7_200_000 });
      expect((await flash.reserve(id, 'u', 1, 'k2')).outcome).toBe('held');
      const closed = await flash.setWindow(id, undefined, 'now', 'host-1');
      expect(closed.phase).toBe('ended');
      expect((await flash.reserve(id, 'u', 1, 'k3')).outcome).toBe('ended');
      expect((await errorOf(flash.setWindow(id, now + 10, now + 5, 'host-1'))).code).toBe('INVALID_ARGUMENT');
      const sales = (await outbox(redis, keys.item(id))).filter((e) => e.type === 'sale.changed');
      expect(sales.map((e) => inventoryEvent.parse(e))).toMatchObject([{ startsAt: opened.startsAt }, { endsAt: closed.endsAt }]);
    });

    it('closing now ends a sale that has not opened yet, unopened', async () => {
      const { flash, redis } = env();
      const now = await redisNow(redis);
      const id = await item({ startsAt: now + 3_600_000, endsAt: now + 7_200_000 });
      const closed = await flash.setWindow(id, undefined, 'now', 'host-1');
      expect(closed).toMatchObject({ phase: 'ended' });
      expect(closed.startsAt).toBe(closed.endsAt);
      expect((await flash.reserve(id, 'u', 1, 'k1')).outcome).toBe('ended');
    });
  });

  describe('pre-heat reminders', () => {
    it('takes subscriptions during pre-heat only and reminds each subscriber once when the sale opens', async () => {
      const { flash, redis, keys, scripts } = env();
      const now = await redisNow(redis);
      const id = await item({ startsAt: now + 3_600_000, endsAt: now + 7_200_000 });
      expect(await flash.subscribe(id, 'fan-1')).toEqual({ outcome: 'subscribed', subscribers: 1 });
      expect(await flash.subscribe(id, 'fan-2')).toEqual({ outcome: 'subscribed', subscribers: 2 });
      expect(await flash.subscribe(id, 'fan-1')).toEqual({ outcome: 'already_subscribed', subscribers: 2 });
      const sweeper = new Sweeper({ redis, keys, scripts, preheatLeadMs: 0 });
      expect((await sweeper.sweepItem(id)).reminded).toBe(0);
      await flash.setWindow(id, 'now', undefined, 'host-1');
      expect(await flash.subscribe(id, 'fan-3')).toMatchObject({ outcome: 'live' });
      expect((await sweeper.sweepItem(id)).reminded).toBe(2);
      expect((await sweeper.sweepItem(id)).reminded).toBe(0);
      const events = await outbox(redis, keys.item(id));
      expect(events.filter((e) => e.type === 'sale.subscribed').map((e) => e.user).sort()).toEqual(['fan-1', 'fan-2']);
      const reminders = events.filter((e) => e.type === 'sale.reminder').map((e) => inventoryEvent.parse(e));
      expect(reminders.map((e) => ('user' in e ? e.user : '')).sort()).toEqual(['fan-1', 'fan-2']);
    });
  });

  describe('expiry sweep and payment reminders', () => {
    it('expires each overdue hold exactly once with several sweepers at once, and reminds each hold once', async () => {
      const { flash, redis, keys, scripts } = env();
      const id = await item({ total: 50, perUserLimit: 50, holdMs: 1500, remindMs: 1000 });
      const holds = await Promise.all(Array.from({ length: 30 }, (_, i) => held(id, `s${i}`)));
      const keep = holds.slice(0, 5);
      for (const [i, h] of keep.entries()) await env().payments.pay(id, h.orderId, `s${i}`);
      const sweepers = Array.from({ length: 4 }, () => new Sweeper({ redis, keys, scripts, batch: 7 }));
      const last = Math.max(...holds.map((h) => h.deadline));
      // Reminders first: every unpaid hold comes within the lead before its deadline.
      await waitFor('the reminder window', async () => (await redisNow(redis)) >= last - 1000, 10_000, 20);
      await Promise.all(sweepers.map((s) => s.sweepItem(id)));
      await waitFor('every deadline to pass', async () => (await redisNow(redis)) > last, 10_000, 20);
      const results = await Promise.all(sweepers.map((s) => s.sweepItem(id)));
      expect(results.reduce((n, r) => n + r.expired, 0)).toBe(25);
      expect(await counters(id)).toEqual({ available: 45, held: 0, sold: 5, total: 50 });
      const events = await outbox(redis, keys.item(id));
      const expired = events.filter((e) => e.type === 'order.expired').map((e) => e.order);
      expect(expired).toHaveLength(25);
      expect(new Set(expired).size).toBe(25);
      const reminded = events.filter((e) => e.type === 'order.reminder').map((e) => e.order);
      expect(new Set(reminded).size).toBe(reminded.length);
      expect(new Set(reminded)).toEqual(new Set(holds.slice(5).map((h) => h.orderId)));
      expect(await redis.zcard(keys.item(id).deadlines)).toBe(0);
      for (const e of events) inventoryEvent.parse(e);
      // Versions are unique and increase along the outbox for every state change.
      const vers = events.filter((e) => e.type !== 'order.reminder').map((e) => e.ver);
      expect(vers).toEqual([...vers].sort((a, b) => a - b));
      expect(new Set(vers).size).toBe(vers.length);
      expect((await flash.view(id))!.ver).toBe(vers[vers.length - 1]);
    });
  });
}
