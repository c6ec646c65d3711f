import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReminderFrame, ServerFrame } from '../../common/contracts/protocol.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { ApiError, HttpClient, RoomSocket } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { NodeWebSocket, hostWithRoom, openWindow, record } from './support.ts';

/**
 * Targeting by member tier and lifecycle stage, end to end on the real services and two gateway
 * nodes: a coupon for gold members over HTTP, a coupon for new shoppers after their first order
 * went through the pipeline into the ledger and ops refreshed the stage copy, and the remind
 * command reaching exactly the matching shoppers connected to the room, on either node, once.
 */

let sys: System;
let nodeB: Gateway;
let urlB: string;

beforeAll(async () => {
  // No background stage refresh: the tests refresh on demand and know what the copy holds.
  sys = await startSystem({ hostCommandRate: 1000, segmentRefreshSeconds: 0, httpAddressRate: 100_000, userMessageRate: 100_000 });
  nodeB = await startGateway({ config: { ...sys.config, nodeId: `${sys.config.nodeId}-b` }, log: sys.log, redis: sys.redis, db: sys.db, keys: sys.keys, kafka: sys.kafka });
  urlB = `http://127.0.0.1:${nodeB.port}`;
});
afterAll(async () => {
  await nodeB?.close({ drainMs: 500 });
  await sys?.stop();
});

function refusal(p: Promise<unknown>): Promise<ApiError> {
  return p.then(
    (r) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => {
      if (!(e instanceof ApiError)) throw e;
      return e;
    },
  );
}

const shopper = async (sub: string) => sys.http(await sys.token('shopper', sub));
const far = { startsAt: 0, endsAt: 4_000_000_000_000 };
const reminders = (frames: ServerFrame[]) => frames.filter((f): f is ReminderFrame => f.type === 'reminder');

async function connectB(roomId: string, token: string): Promise<RoomSocket> {
  return RoomSocket.connect({ baseUrl: urlB, roomId, token, WebSocket: NodeWebSocket });
}

describe('coupons for an audience over HTTP', () => {
  it('a gold-only coupon: a silver shopper is refused COUPON_NOT_FOR_YOU and nothing changes; a gold one gets it', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'tgt-host-1');
    const item = await http.addItem(roomId, { title: 'Tea', price: 5000, stock: 5, perUserLimit: 2, ...openWindow() });
    const c = await http.addCoupon(roomId, item.id, { id: 'gold10', kind: 'fixed', amount: 1000, budget: 3, ...far, audience: { tiers: ['gold'] } });
    expect(c).toMatchObject({ created: true, left: 3, audience: { tiers: ['gold'] } });
    await http.setMemberTier('tgt-gold', 'gold');
    await http.setMemberTier('tgt-silver', 'silver');
    const { flash, promotions } = sys.gateway.context;
    const state = async () => {
      const { serverTime: _t, ...view } = (await flash.view(item.id))!;
      return { view, campaign: await promotions.campaign(item.id, 'gold10') };
    };
    const before = await state();

    const e = await refusal((await shopper('tgt-silver')).buy(roomId, item.id, 1, 'k1', 'gold10'));
    expect([e.status, e.code]).toEqual([409, 'COUPON_NOT_FOR_YOU']);
    expect([(await refusal((await shopper('tgt-regular')).buy(roomId, item.id, 1, 'k1', 'gold10'))).code]).toEqual(['COUPON_NOT_FOR_YOU']);
    expect(await state()).toEqual(before);

    const held = await (await shopper('tgt-gold')).buy(roomId, item.id, 1, 'k1', 'gold10');
    expect(held).toMatchObject({ outcome: 'held', amount: 4000 });
    expect(await promotions.campaign(item.id, 'gold10')).toMatchObject({ left: 2, issued: 1 });
  });

  it('a coupon for new shoppers: usable once the first order is in the ledger and the stage copy refreshed', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'tgt-host-2');
    const first = await http.addItem(roomId, { title: 'Rice', price: 800, stock: 10, perUserLimit: 2, ...openWindow() });
    const second = await http.addItem(roomId, { title: 'Oil', price: 3000, stock: 10, perUserLimit: 2, ...openWindow() });
    await http.addCoupon(roomId, second.id, { id: 'welcome', kind: 'fixed', amount: 500, budget: 5, ...far, audience: { stages: ['new'] } });
    const newcomer = await shopper('tgt-newcomer');
    const h = await newcomer.buy(roomId, first.id, 1, 'first');
    if (h.outcome !== 'held') throw new Error(`expected a hold: ${JSON.stringify(h)}`);
    await newcomer.pay(roomId, first.id, h.orderId);
    // Through the relay, Kafka and the writer into the ledger.
    await waitFor('the paid order in the ledger', async () => (await sys.db.selectFrom('orders').select('state').where('order_id', '=', h.orderId).executeTakeFirst())?.state === 'paid');

    // Not before the copy is refreshed: the copy has no stage for the newcomer yet.
    expect((await refusal(newcomer.buy(roomId, second.id, 1, 'early', 'welcome'))).code).toBe('COUPON_NOT_FOR_YOU');
    // Ops only.
    expect((await (await shopper('tgt-newcomer')).request('POST', '/segments/refresh')).status).toBe(403);
    expect((await http.request('POST', '/segments/refresh')).status).toBe(403);
    const ops = sys.http(await sys.token('ops', 'tgt-ops'));
    const r = await ops.request('POST', '/segments/refresh');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ shoppers: 1, stages: { new: 1, active: 0, dormant: 0, churned: 0 }, changed: 1, removed: 0 });

    expect(await newcomer.buy(roomId, second.id, 1, 'late', 'welcome')).toMatchObject({ outcome: 'held', amount: 2500 });
    expect((await refusal((await shopper('tgt-nobody')).buy(roomId, second.id, 1, 'k', 'welcome'))).code).toBe('COUPON_NOT_FOR_YOU');
  });
});

describe('a storm through both nodes on a gold-only campaign', () => {
  it('400 concurrent HTTP buys of mixed tiers: coupons only to gold shoppers, never over budget, no error but the typed refusals', { timeout: 120_000 }, async () => {
    const { http, roomId } = await hostWithRoom(sys, 'tgt-host-storm');
    const stock = 300;
    const budget = 40;
    const item = await http.addItem(roomId, { title: 'Peach', price: 2000, stock, perUserLimit: 2, ...openWindow() });
    await http.addCoupon(roomId, item.id, { id: 'gold-storm', kind: 'fixed', amount: 500, budget, perUser: 1, ...far, audience: { tiers: ['gold'] } });
    const tiers = ['regular', 'silver', 'gold'] as const;
    const users = Array.from({ length: 200 }, (_, i) => ({ id: `storm-${i}`, tier: tiers[i % 3]! }));
    for (const u of users) if (u.tier !== 'regular') await http.setMemberTier(u.id, u.tier);
    const clients = new Map(await Promise.all(users.map(async (u, i) => [u.id, new HttpClient(i % 2 ? urlB : sys.baseUrl, await sys.token('shopper', u.id))] as const)));
    const buys = users.flatMap((u) => [0, 1].map((n) => ({ u, key: `${u.id}-${n}` })));
    const results = await Promise.all(
      buys.map(({ u, key }) =>
        clients
          .get(u.id)!
          .buy(roomId, item.id, 1, key, 'gold-storm')
          .then(
            (r) => ({ u, r }),
            (e: unknown) => ({ u, e }),
          ),
      ),
    );
    const held = results.flatMap((x) => ('r' in x && x.r.outcome === 'held' ? [x] : []));
    const codes = new Map<string, number>();
    for (const x of results) {
      if (!('e' in x)) continue;
      const code = x.e instanceof ApiError ? `${x.e.status} ${x.e.code}` : String(x.e);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    for (const x of held) expect(x.u.tier).toBe('gold');
    expect(held.length).toBe(budget);
    for (const x of results) if ('e' in x) expect(x.e instanceof ApiError && x.e.code === (x.u.tier === 'gold' ? 'COUPON_EXHAUSTED' : 'COUPON_NOT_FOR_YOU')).toBe(true);
    expect(codes.get('409 COUPON_NOT_FOR_YOU')).toBe(buys.filter((b) => b.u.tier !== 'gold').length);
    const { flash, promotions } = sys.gateway.context;
    expect(await promotions.campaign(item.id, 'gold-storm')).toMatchObject({ left: 0, issued: budget });
    const view = (await flash.view(item.id))!;
    expect([view.held, view.available + view.held + view.sold]).toEqual([budget, stock]);
    console.log(`gateway coupon storm: ${buys.length} buys over two nodes for a gold-only campaign of ${budget} -> ${held.length} holds (all gold); ${[...codes].map(([c, n]) => `${n} × ${c}`).join(', ')}`);
  });
});

describe('the remind command', () => {
  it('reaches exactly the matching shoppers connected to the room, on either node, once; a retried command sends nothing again', async () => {
    const { http, token: hostToken, roomId } = await hostWithRoom(sys, 'tgt-host-3');
    const other = await hostWithRoom(sys, 'tgt-host-4');
    const item = await http.addItem(roomId, { title: 'Plum', price: 1200, stock: 10, perUserLimit: 2, ...openWindow() });
    for (const u of ['rm-gold-a', 'rm-gold-b', 'rm-gold-away', 'rm-gold-other']) await http.setMemberTier(u, 'gold');
    await http.setMemberTier('rm-silver', 'silver');
    const tok = (u: string) => sys.token('shopper', u);
    const goldA = record(await sys.connect(roomId, await tok('rm-gold-a')));
    const goldA2 = record(await sys.connect(roomId, await tok('rm-gold-a')));
    const goldB = record(await connectB(roomId, await tok('rm-gold-b')));
    const silver = record(await sys.connect(roomId, await tok('rm-silver')));
    const regular = record(await connectB(roomId, await tok('rm-regular')));
    const elsewhere = record(await sys.connect(other.roomId, await tok('rm-gold-other')));
    const host = record(await sys.connect(roomId, hostToken));
    const watchers = { goldA, goldA2, goldB, silver, regular, elsewhere, host };

    const v = await http.version(roomId);
    const r = await http.command(roomId, { command: 'remind', itemId: item.id, audience: { tiers: ['gold'] }, text: 'Plums are back' }, { idempotencyKey: 'remind-1', baseVersion: v });
    const goldKnown = Object.values(await sys.redis.hgetall(sys.keys.memberTiers)).filter((t) => t === 'gold').length;
    expect(r.data).toMatchObject({ targeted: goldKnown, reached: 2 });
    const id = (r.data as { reminder: string }).reminder;
    await waitFor('the reminder on both nodes', () => reminders(goldA.frames).length === 1 && reminders(goldB.frames).length === 1);
    expect(reminders(goldA.frames)[0]).toMatchObject({ type: 'reminder', id, roomId, itemId: item.id, text: 'Plums are back' });
    // Both sockets of a shopper on the node that sends get it.
    expect(reminders(goldA2.frames).map((f) => f.id)).toEqual([id]);

    // The same key again: the first answer, nothing sent.
    const again = await http.command(roomId, { command: 'remind', itemId: item.id, audience: { tiers: ['gold'] }, text: 'Plums are back' }, { idempotencyKey: 'remind-1', baseVersion: v });
    expect(again).toEqual({ ...r, duplicate: true });
    // The command run again after a crash publishes the same reminder again: every node hears it, nobody is sent it twice.
    await sys.redis.spublish(sys.keys.room(roomId).channel, JSON.stringify({ x: 'remind', reminder: { id, roomId, itemId: item.id, text: 'Plums are back', audience: { tiers: ['gold'] }, at: Date.now() } }));
    // A later reminder to everyone shows where the stream of frames is.
    const all = await http.command(roomId, { command: 'remind', itemId: item.id, audience: {} }, { idempotencyKey: 'remind-2' });
    expect(all.data).toMatchObject({ reached: 4 });
    const allId = (all.data as { reminder: string }).reminder;
    await waitFor('the second reminder', () => [goldA, goldB, silver, regular].every((w) => reminders(w.frames).some((f) => f.id === allId)));
    expect(reminders(goldA.frames).map((f) => f.id)).toEqual([id, allId]);
    expect(reminders(goldB.frames).map((f) => f.id)).toEqual([id, allId]);
    expect(reminders(silver.frames).map((f) => f.id)).toEqual([allId]);
    expect(reminders(regular.frames).map((f) => f.id)).toEqual([allId]);
    expect(reminders(goldA.frames)[1]!.text).toBe('Plum');
    expect(reminders(elsewhere.frames)).toEqual([]);
    expect(reminders(host.frames)).toEqual([]);
    for (const [name, w] of Object.entries(watchers)) expect([name, w.invalid]).toEqual([name, []]);
    // Viewers see that a reminder went out (not to whom).
    await waitFor('the reminder delta', () => host.frames.some((f) => (f.type === 'delta' && f.d.t === 'reminder') || (f.type === 'deltas' && f.items.some((e) => e.d.t === 'reminder'))));

    // The audit record keeps the counts.
    const row = await waitFor('the audit row', async () => (await http.audit(roomId)).find((a) => a.command === 'remind' && a.idempotencyKey === 'remind-1' && a.outcome === 'applied'));
    expect(row.payload).toMatchObject({ itemId: item.id, audience: { tiers: ['gold'] }, result: { targeted: goldKnown, reached: 2 } });
  });

  it('a stage audience reaches the shoppers of that stage only; an unknown item is refused and sends nothing', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'tgt-host-5');
    const item = await http.addItem(roomId, { title: 'Fig', price: 700, stock: 10, perUserLimit: 2, ...openWindow() });
    // The newcomer of the coupon test paid an order and the copy was refreshed: stage `new`.
    const newcomer = record(await sys.connect(roomId, await sys.token('shopper', 'tgt-newcomer')));
    const nobody = record(await connectB(roomId, await sys.token('shopper', 'tgt-nobody')));
    const bad = await refusal(http.command(roomId, { command: 'remind', itemId: 'nope', audience: { stages: ['new'] } }));
    expect(bad.code).toBe('ITEM_NOT_FOUND');
    const r = await http.command(roomId, { command: 'remind', itemId: item.id, audience: { stages: ['new'] } });
    expect(r.data).toMatchObject({ targeted: 1, reached: 1 });
    const id = (r.data as { reminder: string }).reminder;
    await waitFor('the reminder', () => reminders(newcomer.frames).length === 1);
    const everyone = await http.command(roomId, { command: 'remind', itemId: item.id, audience: {} });
    const everyoneId = (everyone.data as { reminder: string }).reminder;
    await waitFor('the second reminder', () => reminders(nobody.frames).length === 1);
    expect(reminders(newcomer.frames).map((f) => f.id)).toEqual([id, everyoneId]);
    expect(reminders(nobody.frames).map((f) => f.id)).toEqual([everyoneId]);
  });
});
