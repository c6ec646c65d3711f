import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type CommandInput, type HttpClient, type RoomSocket } from '../../web/client.ts';
import type { ItemOffers } from '../../common/contracts/protocol.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { LedgerFence } from '../../inventory/ledger-fence.ts';
import { Rebuilder } from '../../inventory/rebuild.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow } from './support.ts';

/**
 * The marketing offers as host commands on the whole system: each sets the offer in the
 * inventory or the ledger, the item's `offers` reaches every viewer, the catalog keeps them, the
 * audit records the command; stale versions, retries and bad inputs change nothing.
 */

let sys: System;
let host: HttpClient;
let roomId: string;
let itemId: string;
let groupId: string;
let viewer: RoomSocket;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000, wsMessageRate: 1000, userMessageRate: 1000 });
  const h = await hostWithRoom(sys, 'offers-host', 'offers');
  host = h.http;
  roomId = h.roomId;
  itemId = (await host.addItem(roomId, { title: 'Tea', price: 12_900, stock: 100, perUserLimit: 3, ...openWindow() })).id;
  const g = await host.command(roomId, { command: 'openGroup', title: 'Group', basePrice: 1000, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 900 }], endsAt: Date.now() + 3600_000 });
  groupId = (g.data as { item: { id: string } }).item.id;
  viewer = await sys.connect(roomId, await sys.token('shopper', 'offers-viewer'));
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

/** Everything an offer command could change: the room, the item's offers in the catalog, its offer settings in Redis, the ledger's rate. */
async function state(id = itemId) {
  const k = sys.keys.item(id);
  const rk = sys.keys.room(roomId);
  const [doc, logLen, teams, bargains, promos, rate, row] = await Promise.all([
    sys.redis.hgetall(rk.room),
    sys.redis.xlen(rk.log),
    sys.redis.hget(k.teams, 'cfg'),
    sys.redis.hget(k.bargains, 'cfg'),
    sys.redis.hgetall(k.holds),
    sys.db.selectFrom('referral_rates').select(['rate_bp']).where('item_id', '=', id).executeTakeFirst(),
    sys.db.selectFrom('campaign_items').select('offers').where('id', '=', id).executeTakeFirst(),
  ]);
  return { room: doc, logLen, teams, bargains, promos, rate: rate?.rate_bp ?? null, offers: row?.offers ?? null };
}

const offersSeen = (pred: (o: ItemOffers) => boolean) => viewer.until((v) => pred(v.doc.items[itemId]?.offers ?? {}));
const catalogOffers = async () => (await sys.db.selectFrom('campaign_items').select('offers').where('id', '=', itemId).executeTakeFirstOrThrow()).offers as ItemOffers | null;
async function refused(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof ApiError)) throw new Error(`expected a refusal, got ${String(e)}`);
  return e;
}

describe('each command sets its offer, viewers see it, the catalog keeps it and the audit records it', () => {
  const w = openWindow();
  const cases: { name: string; cmd: CommandInput; data: Record<string, unknown>; offer: Partial<ItemOffers> }[] = [
    {
      name: 'setTeamBuy',
      cmd: { command: 'setTeamBuy', itemId: '', size: 3, teamPrice: 8900, windowSeconds: 600 },
      data: { size: 3, price: 8900, windowMs: 600_000, teamsPerUser: 1 },
      offer: { team: { size: 3, price: 8900, windowMs: 600_000, teamsPerUser: 1 } },
    },
    {
      name: 'setBargain',
      cmd: { command: 'setBargain', itemId: '', start: 12_900, floor: 9900, helpers: 3, windowSeconds: 600 },
      data: { start: 12_900, floor: 9900, helpers: 3, windowMs: 600_000, newUsersOnly: false },
      offer: { bargain: { start: 12_900, floor: 9900, helpers: 3, windowMs: 600_000, newUsersOnly: false } },
    },
    {
      name: 'setMemberDay',
      cmd: { command: 'setMemberDay', itemId: '', threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } },
      data: { threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } },
      offer: { memberDay: { threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } } },
    },
    {
      name: 'addCoupon',
      cmd: { command: 'addCoupon', itemId: '', id: 'gold10', kind: 'spend', amount: 1000, minSpend: 10_000, budget: 20, perUser: 1, ...w, audience: { tiers: ['gold'] } } as CommandInput,
      data: { id: 'gold10', created: true, left: 20, issued: 0, spent: 0 },
      offer: { coupons: [{ id: 'gold10', kind: 'spend', amount: 1000, percent: 0, minSpend: 10_000, perUser: 1, ...w, audience: { tiers: ['gold'] } }] },
    },
    { name: 'setCommission', cmd: { command: 'setCommission', itemId: '', rateBp: 500 }, data: { rateBp: 500 }, offer: { commissionBp: 500 } },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await host.version(roomId);
      const r = await host.command(roomId, { ...c.cmd, itemId } as CommandInput, { idempotencyKey: `set-${c.name}` });
      expect(r).toMatchObject({ command: c.name, duplicate: false, version: before + 1, data: { itemId, ...c.data } });
      const [k, v] = Object.entries(c.offer)[0]!;
      const seen = await offersSeen((o) => JSON.stringify(o[k as keyof ItemOffers]) === JSON.stringify(v));
      expect(seen.doc.items[itemId]!.offers).toMatchObject(c.offer);
      expect(await catalogOffers()).toMatchObject(c.offer);
      const entry = await waitFor('the audit entry', async () => (await host.audit(roomId)).find((e) => e.command === c.name && e.idempotencyKey === `set-${c.name}`));
      expect(entry).toMatchObject({ actor: 'offers-host', command: c.name });
    });
  }
});

describe('refusals change nothing', () => {
  it('a stale baseVersion is CONFLICT', async () => {
    const before = await state();
    const v = await host.version(roomId);
    const e = await refused(host.command(roomId, { command: 'setTeamBuy', itemId, size: 5, teamPrice: 7000, windowSeconds: 60 }, { baseVersion: v - 1 }));
    expect([e.status, e.code, e.details?.version]).toEqual([409, 'CONFLICT', v]);
    for (const cmd of [
      { command: 'setBargain', itemId, start: 12_900, floor: 100, helpers: 5, windowSeconds: 60 },
      { command: 'setMemberDay', itemId, threshold: 1, off: { regular: 1, silver: 1, gold: 1 } },
      { command: 'addCoupon', itemId, id: 'stale', kind: 'fixed', amount: 1, percent: 0, minSpend: 0, perUser: 1, budget: 1, ...openWindow() },
      { command: 'setCommission', itemId, rateBp: 9 },
    ] as CommandInput[]) {
      expect((await refused(host.command(roomId, cmd, { baseVersion: v + 1 }))).code).toBe('CONFLICT');
    }
    expect(await state()).toEqual(before);
  });

  it('bad inputs get typed codes: a group buy, an unknown item, bad numbers', async () => {
    const before = await state();
    const groupBefore = await state(groupId);
    const w = openWindow();
    const onGroup: CommandInput[] = [
      { command: 'setTeamBuy', itemId: groupId, size: 3, teamPrice: 800, windowSeconds: 600 },
      { command: 'setBargain', itemId: groupId, start: 1000, floor: 500, helpers: 3, windowSeconds: 600 },
      { command: 'setMemberDay', itemId: groupId, threshold: 0, off: { regular: 1, silver: 2, gold: 3 } },
      { command: 'addCoupon', itemId: groupId, id: 'g', kind: 'fixed', amount: 100, percent: 0, minSpend: 0, perUser: 1, budget: 5, ...w },
    ];
    for (const cmd of onGroup) expect((await refused(host.command(roomId, cmd))).code, cmd.command).toBe('WRONG_ITEM_KIND');
    for (const cmd of onGroup.map((c) => ({ ...c, itemId: '999999999' })).concat([{ command: 'setCommission', itemId: '999999999', rateBp: 1 }])) {
      expect((await refused(host.command(roomId, cmd))).code, cmd.command).toBe('ITEM_NOT_FOUND');
    }
    const bad: Record<string, unknown>[] = [
      { command: 'setTeamBuy', itemId, size: 1, teamPrice: 800, windowSeconds: 600 },
      { command: 'setTeamBuy', itemId, size: 3, teamPrice: -1, windowSeconds: 600 },
      { command: 'setTeamBuy', itemId, size: 3, teamPrice: 800, windowSeconds: 0 },
      { command: 'setBargain', itemId, start: 1000, floor: 999, helpers: 3, windowSeconds: 600 },
      { command: 'setBargain', itemId, start: 1000, floor: 10, helpers: 0, windowSeconds: 600 },
      { command: 'setMemberDay', itemId, threshold: 0, off: { regular: 1, silver: 2 } },
      { command: 'setMemberDay', itemId, threshold: 1.5, off: { regular: 1, silver: 2, gold: 3 } },
      { command: 'addCoupon', itemId, id: 'p0', kind: 'percent', percent: 0, budget: 5, ...w },
      { command: 'addCoupon', itemId, id: 'ends', kind: 'fixed', amount: 1, budget: 5, startsAt: w.endsAt, endsAt: w.startsAt },
      { command: 'addCoupon', itemId, id: 'bad id!', kind: 'fixed', amount: 1, budget: 5, ...w },
      { command: 'addCoupon', itemId, id: 'aud', kind: 'fixed', amount: 1, budget: 5, ...w, audience: { tiers: ['platinum'] } },
      { command: 'setCommission', itemId, rateBp: 10_001 },
      { command: 'setCommission', itemId, rateBp: -1 },
    ];
    for (const cmd of bad) expect((await refused(host.command(roomId, cmd as CommandInput))).code, JSON.stringify(cmd)).toBe('VALIDATION_FAILED');
    expect(await state()).toEqual(before);
    expect(await state(groupId)).toEqual(groupBefore);
  });

  it('a shopper, and the host of another room, are FORBIDDEN over the command and the routes', async () => {
    const before = await state();
    const shopper = sys.http(await sys.token('shopper', 'offers-shopper'));
    const stranger = sys.http(await sys.token('host', 'offers-stranger'));
    for (const who of [shopper, stranger]) {
      expect((await refused(who.command(roomId, { command: 'setCommission', itemId, rateBp: 1 }))).code).toBe('FORBIDDEN');
      const base = `/rooms/${roomId}/items/${itemId}`;
      expect((await who.request('PUT', `${base}/team-buy`, { size: 3, teamPrice: 1, windowSeconds: 60 })).status).toBe(403);
      expect((await who.request('PUT', `${base}/bargain`, { start: 1000, floor: 10, helpers: 3, windowSeconds: 60 })).status).toBe(403);
      expect((await who.request('PUT', `${base}/member-day`, { threshold: 0, off: { regular: 9, silver: 9, gold: 9 } })).status).toBe(403);
      expect((await who.request('POST', `${base}/coupons`, { id: 'x', kind: 'fixed', amount: 1, budget: 1, ...openWindow() })).status).toBe(403);
      expect((await who.request('PUT', `${base}/commission`, { rateBp: 1 })).status).toBe(403);
    }
    expect(await state()).toEqual(before);
  });
});

describe('retries and repeats apply once', () => {
  it('the same idempotency key answers the first answer and changes nothing', async () => {
    const cmd: CommandInput = { command: 'setBargain', itemId, start: 12_900, floor: 8900, helpers: 4, windowSeconds: 900 };
    const first = await host.command(roomId, cmd, { idempotencyKey: 'retry-bargain' });
    const after = await state();
    const again = await host.command(roomId, cmd, { idempotencyKey: 'retry-bargain' });
    expect(again).toMatchObject({ duplicate: true, version: first.version, data: first.data });
    expect(await state()).toEqual(after);
    const coupon: CommandInput = { command: 'addCoupon', itemId, id: 'once', kind: 'fixed', amount: 500, percent: 0, minSpend: 0, perUser: 2, budget: 3, ...openWindow() };
    const c1 = await host.command(roomId, coupon, { idempotencyKey: 'retry-coupon' });
    const afterCoupon = await state();
    expect(await host.command(roomId, coupon, { idempotencyKey: 'retry-coupon' })).toMatchObject({ duplicate: true, version: c1.version, data: { created: true } });
    expect(await state()).toEqual(afterCoupon);
  });

  it('the same campaign under a new key answers created: false and changes no count; other terms under its id are CAMPAIGN_EXISTS', async () => {
    const w = openWindow();
    const coupon = { command: 'addCoupon', itemId, id: 'twice', kind: 'fixed', amount: 300, percent: 0, minSpend: 0, perUser: 1, budget: 7, ...w } as const;
    await host.command(roomId, coupon);
    const shopper = sys.http(await sys.token('shopper', 'coupon-buyer'));
    expect(await shopper.buy(roomId, itemId, 1, 'twice-buy', 'twice')).toMatchObject({ outcome: 'held' });
    const before = await state();
    const again = await host.command(roomId, coupon);
    expect(again.data).toMatchObject({ created: false, left: 6, issued: 1 });
    const now = await state();
    // The command is audited and bumps the room's version; the offers and the campaign's counts stay.
    expect({ ...now, room: null, logLen: null }).toEqual({ ...before, room: null, logLen: null });
    expect(JSON.parse(now.room.doc!).items[itemId].offers).toEqual(JSON.parse(before.room.doc!).items[itemId].offers);
    const settled = await state();
    for (const other of [{ ...coupon, amount: 301 }, { ...coupon, audience: { stages: ['new'] } }]) {
      const e = await refused(host.command(roomId, other as CommandInput));
      expect([e.status, e.code]).toEqual([409, 'CAMPAIGN_EXISTS']);
    }
    expect((await host.request('POST', `/rooms/${roomId}/items/${itemId}/coupons`, { id: 'twice', kind: 'fixed', amount: 999, budget: 7, ...w })).body.error.code).toBe('CAMPAIGN_EXISTS');
    expect(await state()).toEqual(settled);
  });
});

describe('the HTTP routes run the commands', () => {
  it('keep their bodies and replies, are audited and reach viewers; If-Match is the base version', async () => {
    const base = `/rooms/${roomId}/items/${itemId}`;
    const team = await host.request('PUT', `${base}/team-buy`, { size: 4, teamPrice: 7900, windowSeconds: 300, teamsPerUser: 2 }, { 'idempotency-key': 'route-team' });
    expect(team).toEqual({ status: 200, body: { itemId, size: 4, price: 7900, windowMs: 300_000, teamsPerUser: 2 } });
    await offersSeen((o) => o.team?.size === 4);
    const entry = await waitFor('the route audited', async () => (await host.audit(roomId)).find((e) => e.idempotencyKey === 'route-team'));
    expect(entry).toMatchObject({ command: 'setTeamBuy', via: 'http', actor: 'offers-host' });
    expect((await host.request('PUT', `${base}/team-buy`, { size: 4, teamPrice: 7900, windowSeconds: 300, teamsPerUser: 2 }, { 'idempotency-key': 'route-team' })).body).toEqual(team.body);

    const before = await state();
    const v = await host.version(roomId);
    const stale = await host.request('PUT', `${base}/commission`, { rateBp: 42 }, { 'if-match': `"${v - 1}"` });
    expect([stale.status, stale.body.error.code]).toEqual([409, 'CONFLICT']);
    expect(await state()).toEqual(before);
    expect(await host.request('PUT', `${base}/commission`, { rateBp: 42 }, { 'if-match': `"${v}"` })).toEqual({ status: 200, body: { itemId, rateBp: 42 } });
    expect(await host.request('PUT', `${base}/member-day`, { threshold: 1, off: { regular: 2, silver: 3, gold: 4 } })).toEqual({ status: 200, body: { itemId, threshold: 1, off: { regular: 2, silver: 3, gold: 4 } } });
    const c = await host.request('POST', `${base}/coupons`, { id: 'route', kind: 'percent', percent: 10, budget: 2, ...openWindow() });
    expect(c).toMatchObject({ status: 201, body: { itemId, id: 'route', created: true, left: 2 } });
    const seen = await offersSeen((o) => o.commissionBp === 42 && o.memberDay?.threshold === 1 && !!o.coupons?.some((k) => k.id === 'route'));
    expect(seen.doc.items[itemId]!.offers).toEqual((await catalogOffers()) ?? undefined);
    expect((await host.request('PUT', `/rooms/${roomId}/items/${groupId}/commission`, { rateBp: 300 })).body).toEqual({ itemId: groupId, rateBp: 300 });
    expect((await host.request('PUT', `/rooms/${roomId}/items/${groupId}/team-buy`, { size: 3, teamPrice: 1, windowSeconds: 60 })).body.error.code).toBe('WRONG_ITEM_KIND');
  });
});

describe('offers survive like the rest of the item', () => {
  it('later item changes keep them, a new viewer gets them in its snapshot, and so does GET /rooms/:roomId', async () => {
    const before = (await host.snapshot(roomId)).room.items[itemId]!.offers;
    expect(before?.team && before.bargain && before.memberDay && before.coupons?.length && before.commissionBp !== undefined).toBeTruthy();
    await host.command(roomId, { command: 'adjustStock', itemId, delta: 5 });
    await host.command(roomId, { command: 'setPrice', itemId, price: 12_800 });
    await host.command(roomId, { command: 'setPrice', itemId, price: 12_700, at: Date.now() + 3600_000 });
    const late = await sys.connect(roomId, await sys.token('shopper', 'offers-late'));
    expect(late.view!.doc.items[itemId]).toMatchObject({ price: 12_800, offers: before });
    expect((await host.snapshot(roomId)).room.items[itemId]!.offers).toEqual(before);
    expect(await catalogOffers()).toEqual(before);
  });

  it('a rebuild after Redis lost the item restores its team buy and bargain settings from the catalog', async () => {
    const id = (await host.addItem(roomId, { title: 'Lost', price: 5000, stock: 20, perUserLimit: 2, ...openWindow() })).id;
    await host.command(roomId, { command: 'setTeamBuy', itemId: id, size: 4, teamPrice: 3900, windowSeconds: 900, teamsPerUser: 2 });
    await host.command(roomId, { command: 'setBargain', itemId: id, start: 5000, floor: 2000, helpers: 6, windowSeconds: 900, newUsersOnly: true });
    await host.command(roomId, { command: 'setMemberDay', itemId: id, threshold: 1000, off: { regular: 0, silver: 100, gold: 200 } });
    const k = sys.keys.item(id);
    const before = { teams: await sys.redis.hget(k.teams, 'cfg'), bargains: await sys.redis.hget(k.bargains, 'cfg') };
    expect(before).toEqual({ teams: '4,3900,900000,2', bargains: '5000,2000,6,900000,1' });
    // Every event of the item is in the ledger before Redis loses it.
    await waitFor('the item in the ledger', async () => (await sys.db.selectFrom('order_events').select('event_id').where('item_id', '=', id).execute()).length >= 2 || undefined);
    await waitFor('the outbox relayed', async () => ((await sys.redis.xlen(k.outbox)) === 0 ? true : undefined));
    await sys.redis.del(...k.all);
    const fence = new LedgerFence({ kafka: sys.kafka, topic: sys.config.topics.orders, writerGroupId: `${sys.config.kafkaTopicPrefix}writer` });
    try {
      const rebuilder = new Rebuilder({ redis: sys.redis, keys: sys.keys, scripts: inventoryScripts(sys.redis), db: sys.db, fence, log: sys.log, graceMs: 0, fenceTimeoutMs: 20_000 });
      expect(await rebuilder.rebuild(id)).toMatchObject({ outcome: 'rebuilt' });
    } finally {
      await fence.close();
    }
    expect({ teams: await sys.redis.hget(k.teams, 'cfg'), bargains: await sys.redis.hget(k.bargains, 'cfg') }).toEqual(before);
    expect(await sys.redis.hget(k.holds, '~ md')).toBe('1000,0,100,200');
    const s = sys.http(await sys.token('shopper', 'after-rebuild'));
    const opened = await s.request('POST', `/rooms/${roomId}/items/${id}/teams`, { idempotencyKey: 'after' });
    expect(opened).toMatchObject({ status: 201, body: { outcome: 'held', unitPrice: 3900, size: 4 } });
    expect((await s.request('POST', `/rooms/${roomId}/items/${id}/bargains`, {})).body).toMatchObject({ outcome: 'started', price: 5000, floor: 2000, helpers: 6 });
  });
});
