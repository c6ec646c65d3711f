import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { hostWithRoom, openWindow, rawSocket } from '../gateway/support.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * An idempotency key names one buy, coupon included: the same key with another coupon, or a
 * coupon where the first had none (or none where it had one), is refused with 409
 * IDEMPOTENCY_KEY_REUSED and changes nothing, while an exact retry answers the first answer.
 * Group joins, team seats and bargain buys take no coupon: naming one is refused by their
 * strict schemas (400 VALIDATION_FAILED), and nothing changes. All over HTTP on the whole system.
 */

let sys: System;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000 });
}, 120_000);
afterAll(async () => {
  await sys?.stop();
});

function refusal(p: Promise<unknown>): Promise<ApiError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => {
      if (!(e instanceof ApiError)) throw e;
      return e;
    },
  );
}

/** Everything a buy could change in Redis: the item's counters, users, holds (coupon counters included), the outbox. */
async function itemState(itemId: string) {
  const k = sys.keys.item(itemId);
  const info = (await sys.redis.call('XINFO', 'STREAM', k.outbox)) as unknown[];
  return {
    item: await sys.redis.hmget(k.item, 'avail', 'held', 'sold', 'ver', 'count'),
    users: await sys.redis.hgetall(k.users),
    holds: await sys.redis.hgetall(k.holds),
    teams: await sys.redis.hgetall(k.teams),
    bargains: await sys.redis.hgetall(k.bargains),
    lastEntry: info[info.indexOf('last-generated-id') + 1],
  };
}

describe('the buy key covers the coupon', () => {
  it('an exact retry answers the first answer; another coupon, none for one or one for none is 409 IDEMPOTENCY_KEY_REUSED and changes nothing', async () => {
    const { http: host, roomId } = await hostWithRoom(sys, 'coupon-key-host');
    const item = await host.addItem(roomId, { title: 'Tea', price: 10_000, stock: 20, perUserLimit: 5, ...openWindow() });
    const now = Date.now();
    for (const c of [
      { id: 'c10', kind: 'percent', percent: 10, budget: 10, perUser: 3 },
      { id: 'c20', kind: 'fixed', amount: 2000, budget: 10, perUser: 3 },
    ]) {
      expect((await host.request('POST', `/rooms/${roomId}/items/${item.id}/coupons`, { ...c, startsAt: now - 60_000, endsAt: now + 3600_000 })).status).toBe(201);
    }
    const http = sys.http(await sys.token('shopper', 'coupon-key-buyer'));

    const withC10 = await http.buy(roomId, item.id, 1, 'k-c10', 'c10');
    expect(withC10).toMatchObject({ outcome: 'held', amount: 9000 });
    const plain = await http.buy(roomId, item.id, 1, 'k-none');
    expect(plain).toMatchObject({ outcome: 'held', amount: 10_000 });
    // Refusals are kept under their key with their coupon too.
    const unknown = await refusal(http.buy(roomId, item.id, 1, 'k-unknown', 'nosuch'));
    expect({ status: unknown.status, code: unknown.code }).toEqual({ status: 409, code: 'COUPON_NOT_APPLICABLE' });
    const overLimit = await http.buy(roomId, item.id, 6, 'k-limit');
    expect(overLimit).toMatchObject({ outcome: 'limit_reached' });

    // Exact retries: the first answers.
    expect(await http.buy(roomId, item.id, 1, 'k-c10', 'c10')).toEqual({ outcome: 'duplicate', first: withC10 });
    expect(await http.buy(roomId, item.id, 1, 'k-none')).toEqual({ outcome: 'duplicate', first: plain });
    expect((await refusal(http.buy(roomId, item.id, 1, 'k-unknown', 'nosuch'))).code).toBe('COUPON_NOT_APPLICABLE');
    expect(await http.buy(roomId, item.id, 6, 'k-limit')).toEqual({ outcome: 'duplicate', first: overLimit });

    const before = await itemState(item.id);
    const campaigns = await Promise.all(['c10', 'c20'].map((c) => sys.redis.hmget(sys.keys.item(item.id).holds, `~ b ${c}`, `~ n ${c}`)));
    const tries: [string, () => Promise<unknown>][] = [
      ['a hold with c10, retried with c20', () => http.buy(roomId, item.id, 1, 'k-c10', 'c20')],
      ['a hold with c10, retried without a coupon', () => http.buy(roomId, item.id, 1, 'k-c10')],
      ['a hold without a coupon, retried with c10', () => http.buy(roomId, item.id, 1, 'k-none', 'c10')],
      ['a refused coupon, retried with a valid one', () => http.buy(roomId, item.id, 1, 'k-unknown', 'c10')],
      ['a refused coupon, retried without one', () => http.buy(roomId, item.id, 1, 'k-unknown')],
      ['a refusal without a coupon, retried with one', () => http.buy(roomId, item.id, 6, 'k-limit', 'c20')],
    ];
    for (const [what, t] of tries) {
      const e = await refusal(t());
      expect({ what, status: e.status, code: e.code }).toEqual({ what, status: 409, code: 'IDEMPOTENCY_KEY_REUSED' });
    }
    // Over the WebSocket alike.
    const ws = await sys.connect(roomId, await sys.token('shopper', 'coupon-key-buyer'));
    const e = await refusal(ws.buy(item.id, 1, 'k-c10', 'c20'));
    expect(e.code).toBe('IDEMPOTENCY_KEY_REUSED');
    ws.close();
    expect(await itemState(item.id)).toEqual(before);
    expect(await Promise.all(['c10', 'c20'].map((c) => sys.redis.hmget(sys.keys.item(item.id).holds, `~ b ${c}`, `~ n ${c}`)))).toEqual(campaigns);

    // The first requests still answer as the first time; the ledger has two holds, one coupon.
    expect(await http.buy(roomId, item.id, 1, 'k-c10', 'c10')).toEqual({ outcome: 'duplicate', first: withC10 });
    expect(await http.buy(roomId, item.id, 1, 'k-none')).toEqual({ outcome: 'duplicate', first: plain });
    const rows = await waitFor('the holds in the ledger', async () => {
      const r = await sys.db.selectFrom('orders').select(['order_id', 'amount']).where('item_id', '=', item.id as never).execute();
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => Number(r.amount)).sort()).toEqual([10_000, 9000]);
  }, 60_000);
});

describe('group joins, team seats and bargain buys take no coupon', () => {
  it('a join, an opening, a seat or a bargain buy that names a coupon is refused as VALIDATION_FAILED and changes nothing', async () => {
    const { http: host, roomId } = await hostWithRoom(sys, 'coupon-join-host');
    const g = await host.command(roomId, { command: 'openGroup', title: 'Cherries', basePrice: 4900, stock: 10, perUserLimit: 5, tiers: [{ threshold: 3, price: 3900 }], endsAt: Date.now() + 600_000 });
    const groupId = (g.data as { item: { id: string } }).item.id;
    const flash = await host.addItem(roomId, { title: 'Beans', price: 12_900, stock: 50, perUserLimit: 3, ...openWindow() });
    const base = `/rooms/${roomId}/items/${flash.id}`;
    expect((await host.request('PUT', `${base}/team-buy`, { size: 3, teamPrice: 8900, windowSeconds: 600 })).status).toBe(200);
    expect((await host.request('PUT', `${base}/bargain`, { start: 12_900, floor: 9900, helpers: 3, windowSeconds: 600 })).status).toBe(200);
    const now = Date.now();
    expect((await host.request('POST', `${base}/coupons`, { id: 'c10', kind: 'percent', percent: 10, budget: 10, startsAt: now - 60_000, endsAt: now + 3600_000 })).status).toBe(201);
    const token = await sys.token('shopper', 'coupon-join-buyer');
    const shopper = sys.http(token);
    const opened = await shopper.request('POST', `${base}/teams`, { idempotencyKey: 'o1' });
    expect(opened.status).toBe(201);
    const started = await shopper.request('POST', `${base}/bargains`, {});
    expect(started.body).toMatchObject({ outcome: 'started' });
    const other = sys.http(await sys.token('shopper', 'coupon-join-other'));

    const before = { group: await itemState(groupId), flash: await itemState(flash.id) };
    const tries: [string, ReturnType<typeof shopper.request>][] = [
      ['group join', shopper.request('POST', `/rooms/${roomId}/items/${groupId}/join`, { qty: 1, idempotencyKey: 'j1', coupon: 'c10' })],
      ['team opening', other.request('POST', `${base}/teams`, { idempotencyKey: 'o2', coupon: 'c10' })],
      ['team seat', other.request('POST', `${base}/teams/${opened.body.teamId}/join`, { idempotencyKey: 'j2', coupon: 'c10' })],
      ['bargain buy', shopper.request('POST', `${base}/bargains/${started.body.bargainId}/buy`, { coupon: 'c10' })],
    ];
    for (const [what, t] of tries) {
      const r = await t;
      expect({ what, status: r.status, code: r.body?.error?.code }).toEqual({ what, status: 400, code: 'VALIDATION_FAILED' });
      expect(r.body.error.message).toContain('coupon');
    }
    // The WebSocket join message is as strict.
    const raw = await rawSocket(sys.baseUrl, roomId, token);
    raw.send(JSON.stringify({ type: 'join', reqId: 'r1', itemId: groupId, qty: 1, idempotencyKey: 'j3', coupon: 'c10' }));
    const answer = await waitFor('the join refused', () => raw.frames.map((f) => JSON.parse(f) as { type: string; reqId?: string; code?: string }).find((f) => f.reqId === 'r1'));
    expect(answer).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    raw.close();
    expect({ group: await itemState(groupId), flash: await itemState(flash.id) }).toEqual(before);

    // Without the coupon the same requests go through.
    expect((await shopper.request('POST', `/rooms/${roomId}/items/${groupId}/join`, { qty: 1, idempotencyKey: 'j1' })).status).toBe(201);
    expect((await other.request('POST', `${base}/teams/${opened.body.teamId}/join`, { idempotencyKey: 'j2' })).body).toMatchObject({ outcome: 'held', unitPrice: 8900, seats: 2 });
  }, 60_000);
});
