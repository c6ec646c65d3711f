import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import type { HttpClient, RoomSocket } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { conformance, hostWithRoom, openWindow } from './support.ts';

/**
 * The shopper actions of team buys, bargains and referrals over WebSocket answer as their HTTP
 * routes do: the same body as `result` (refusals included), the same typed error codes, and a
 * repeat over one transport answers what the other answered first.
 */

let sys: System;
let host: HttpClient;
let roomId: string;
let itemId: string;
let groupId: string;

interface Shopper {
  http: HttpClient;
  ws: RoomSocket;
}

beforeAll(async () => {
  sys = await startSystem({ wsMessageRate: 1000, userMessageRate: 1000 });
  const h = await hostWithRoom(sys, 'ws-offers-host', 'ws offers');
  host = h.http;
  roomId = h.roomId;
  itemId = (await host.addItem(roomId, { title: 'Cups', price: 20_000, stock: 50, perUserLimit: 3, ...openWindow() })).id;
  const g = await host.command(roomId, { command: 'openGroup', title: 'Group', basePrice: 1000, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 900 }], endsAt: Date.now() + 3600_000 });
  groupId = (g.data as { item: { id: string } }).item.id;
  await host.command(roomId, { command: 'setTeamBuy', itemId, size: 2, teamPrice: 15_000, windowSeconds: 600, teamsPerUser: 3 });
  await host.command(roomId, { command: 'setBargain', itemId, start: 20_000, floor: 10_000, helpers: 2, windowSeconds: 600 });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

async function shopper(sub: string): Promise<Shopper> {
  const token = await sys.token('shopper', sub);
  return { http: sys.http(token), ws: await sys.connect(roomId, token) };
}

/** Sends a message and answers its reply frame, checked against the protocol's schema. */
async function send(ws: RoomSocket, msg: Record<string, unknown>): Promise<ServerFrame> {
  const f = await ws.request(msg);
  expect(conformance(f)).toBeUndefined();
  return f;
}

const resultOf = (f: ServerFrame) => (f as { result?: unknown }).result;
const codeOf = (f: ServerFrame) => (f.type === 'error' ? f.code : `not an error: ${f.type}`);

it('team.open and team.join answer like POST .../teams and .../teams/:teamId/join', async () => {
  const [a, b, c] = await Promise.all(['wt-a', 'wt-b', 'wt-c'].map(shopper));
  const base = `/rooms/${roomId}/items/${itemId}`;

  const opened = await send(a!.ws, { type: 'team.open', itemId, idempotencyKey: 'ws-open' });
  expect(opened).toMatchObject({ type: 'team.result', command: 'open', result: { outcome: 'held', unitPrice: 15_000, seats: 1, size: 2 } });
  const teamId = (resultOf(opened) as { teamId: string }).teamId;
  // The same key over the other transport: the first answer, as a duplicate, the same either way.
  const httpRepeat = await a!.http.request('POST', `${base}/teams`, { idempotencyKey: 'ws-open' });
  expect(httpRepeat).toMatchObject({ status: 200, body: { outcome: 'duplicate', first: resultOf(opened) } });
  expect(resultOf(await send(a!.ws, { type: 'team.open', itemId, idempotencyKey: 'ws-open' }))).toEqual(httpRepeat.body);

  const joined = await send(b!.ws, { type: 'team.join', itemId, teamId, idempotencyKey: 'ws-join' });
  expect(joined).toMatchObject({ type: 'team.result', command: 'join', result: { outcome: 'held', teamId, seats: 2 } });
  expect((await b!.http.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'ws-join' })).body).toEqual({ outcome: 'duplicate', first: resultOf(joined) });

  // Refusals: the same body as the route's 409 / 404.
  const fullHttp = await c!.http.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'full-http' });
  expect(fullHttp).toMatchObject({ status: 409, body: { outcome: 'team_full', code: 'TEAM_FULL' } });
  expect(resultOf(await send(c!.ws, { type: 'team.join', itemId, teamId, idempotencyKey: 'full-ws' }))).toEqual(fullHttp.body);
  const missingHttp = await c!.http.request('POST', `${base}/teams/nosuchteam/join`, { idempotencyKey: 'nt-http' });
  expect(missingHttp.status).toBe(404);
  expect(resultOf(await send(c!.ws, { type: 'team.join', itemId, teamId: 'nosuchteam', idempotencyKey: 'nt-ws' }))).toEqual(missingHttp.body);

  // Typed errors: an unknown item, a group buy, a host, a bad message.
  expect(codeOf(await send(c!.ws, { type: 'team.open', itemId: '999999999', idempotencyKey: 'x1' }))).toBe('ITEM_NOT_FOUND');
  expect((await c!.http.request('POST', `/rooms/${roomId}/items/999999999/teams`, { idempotencyKey: 'x1' })).body.error.code).toBe('ITEM_NOT_FOUND');
  expect(codeOf(await send(c!.ws, { type: 'team.open', itemId: groupId, idempotencyKey: 'x2' }))).toBe('WRONG_ITEM_KIND');
  expect((await c!.http.request('POST', `/rooms/${roomId}/items/${groupId}/teams`, { idempotencyKey: 'x2' })).body.error.code).toBe('WRONG_ITEM_KIND');
  expect(codeOf(await send(c!.ws, { type: 'team.open', itemId, idempotencyKey: '' }))).toBe('VALIDATION_FAILED');
  const hostWs = await sys.connect(roomId, await sys.token('host', 'ws-offers-host'));
  expect(codeOf(await send(hostWs, { type: 'team.open', itemId, idempotencyKey: 'h1' }))).toBe('FORBIDDEN');
  expect((await host.request('POST', `${base}/teams`, { idempotencyKey: 'h1' })).status).toBe(403);

  // The typed client.
  const third = await c!.ws.openTeam(itemId, 'client-open');
  expect(third).toMatchObject({ outcome: 'held', seats: 1 });
  expect(await c!.ws.openTeam(itemId, 'client-open')).toEqual({ outcome: 'duplicate', first: third });
  expect(await a!.ws.joinTeam(itemId, (third as { teamId: string }).teamId, 'client-join')).toMatchObject({ outcome: 'held', seats: 2 });
});

it('bargain.start, bargain.help and bargain.buy answer like their routes', async () => {
  const [s, h1, h2, h3] = await Promise.all(['wb-s', 'wb-h1', 'wb-h2', 'wb-h3'].map(shopper));
  const base = `/rooms/${roomId}/items/${itemId}`;

  const started = await send(s!.ws, { type: 'bargain.start', itemId });
  expect(started).toMatchObject({ type: 'bargain.result', command: 'start', result: { outcome: 'started', price: 20_000, floor: 10_000, helpers: 2 } });
  const bargainId = (resultOf(started) as { bargainId: string }).bargainId;
  const existingHttp = await s!.http.request('POST', `${base}/bargains`, {});
  expect(existingHttp).toMatchObject({ status: 200, body: { outcome: 'existing', bargainId } });
  expect(resultOf(await send(s!.ws, { type: 'bargain.start', itemId }))).toEqual(existingHttp.body);

  const helped = await send(h1!.ws, { type: 'bargain.help', itemId, bargainId });
  expect(helped).toMatchObject({ command: 'help', result: { outcome: 'helped', helped: 1 } });
  const againHttp = await h1!.http.request('POST', `${base}/bargains/${bargainId}/help`, {});
  expect(againHttp).toMatchObject({ status: 409, body: { outcome: 'already_helped', code: 'ALREADY_HELPED' } });
  expect(resultOf(await send(h1!.ws, { type: 'bargain.help', itemId, bargainId }))).toEqual(againHttp.body);
  expect(resultOf(await send(s!.ws, { type: 'bargain.help', itemId, bargainId }))).toEqual(againHttp.body);
  const second = (await h2!.http.request('POST', `${base}/bargains/${bargainId}/help`, {})).body;
  expect(second).toMatchObject({ outcome: 'helped', helped: 2, price: 10_000 });
  const floorHttp = await h3!.http.request('POST', `${base}/bargains/${bargainId}/help`, {});
  expect(floorHttp.body.code).toBe('BARGAIN_AT_FLOOR');
  expect(resultOf(await send(h3!.ws, { type: 'bargain.help', itemId, bargainId }))).toEqual(floorHttp.body);
  const missingHttp = await h3!.http.request('POST', `${base}/bargains/nosuch/help`, {});
  expect(missingHttp.status).toBe(404);
  expect(resultOf(await send(h3!.ws, { type: 'bargain.help', itemId, bargainId: 'nosuch' }))).toEqual(missingHttp.body);

  // Only the starter buys: another shopper's buy is bargain_not_found either way.
  const notYoursHttp = await h1!.http.request('POST', `${base}/bargains/${bargainId}/buy`, {});
  expect(notYoursHttp.status).toBe(404);
  expect(resultOf(await send(h1!.ws, { type: 'bargain.buy', itemId, bargainId }))).toEqual(notYoursHttp.body);
  const bought = await send(s!.ws, { type: 'bargain.buy', itemId, bargainId });
  expect(bought).toMatchObject({ command: 'buy', result: { outcome: 'held', unitPrice: 10_000, already: false } });
  const boughtAgainHttp = await s!.http.request('POST', `${base}/bargains/${bargainId}/buy`, {});
  expect(boughtAgainHttp).toMatchObject({ status: 200, body: { outcome: 'held', already: true, orderId: (resultOf(bought) as { orderId: string }).orderId } });
  expect(resultOf(await send(s!.ws, { type: 'bargain.buy', itemId, bargainId }))).toEqual(boughtAgainHttp.body);
  expect(await s!.ws.buyBargain(itemId, bargainId)).toEqual(boughtAgainHttp.body);

  expect(codeOf(await send(s!.ws, { type: 'bargain.start', itemId: groupId }))).toBe('WRONG_ITEM_KIND');
  expect((await s!.http.request('POST', `/rooms/${roomId}/items/${groupId}/bargains`, {})).body.error.code).toBe('WRONG_ITEM_KIND');
  const hostWs = await sys.connect(roomId, await sys.token('host', 'ws-offers-host'));
  expect(codeOf(await send(hostWs, { type: 'bargain.start', itemId }))).toBe('FORBIDDEN');

  // The typed client: a new starter, helped by the one before.
  const other = await shopper('wb-s2');
  const b2 = await other.ws.startBargain(itemId);
  expect(b2).toMatchObject({ outcome: 'started' });
  expect(await s!.ws.helpBargain(itemId, (b2 as { bargainId: string }).bargainId)).toMatchObject({ outcome: 'helped', helped: 1 });
});

it('referral.click records the click like POST /rooms/:roomId/referrals, with the same refusals', async () => {
  const r = await shopper('wr-buyer');
  const http = await r.http.referralClick(roomId, 'wr-referrer', itemId);
  const ws = await send(r.ws, { type: 'referral.click', referrer: 'wr-referrer', itemId });
  expect(ws.type).toBe('referral.result');
  const click = resultOf(ws) as typeof http;
  expect({ ...click, clickId: '', clickedAt: 0, expiresAt: 0 }).toEqual({ ...http, clickId: '', clickedAt: 0, expiresAt: 0 });
  expect(click.expiresAt - click.clickedAt).toBe(http.expiresAt - http.clickedAt);
  expect(Number(click.clickId)).toBeGreaterThan(Number(http.clickId));
  const rows = await sys.db.selectFrom('referral_clicks').select(['referrer_id', 'item_id']).where('user_id', '=', 'wr-buyer').execute();
  expect(rows).toEqual([
    { referrer_id: 'wr-referrer', item_id: itemId },
    { referrer_id: 'wr-referrer', item_id: itemId },
  ]);
  expect(await r.ws.referralClick('wr-referrer')).toMatchObject({ roomId, itemId: null, referrer: 'wr-referrer' });

  expect(codeOf(await send(r.ws, { type: 'referral.click', referrer: 'wr-buyer' }))).toBe('SELF_REFERRAL');
  expect((await r.http.request('POST', `/rooms/${roomId}/referrals`, { referrer: 'wr-buyer' })).body.error.code).toBe('SELF_REFERRAL');
  expect(codeOf(await send(r.ws, { type: 'referral.click', referrer: 'wr-referrer', itemId: '999999999' }))).toBe('ITEM_NOT_FOUND');
  expect((await r.http.request('POST', `/rooms/${roomId}/referrals`, { referrer: 'wr-referrer', itemId: '999999999' })).body.error.code).toBe('ITEM_NOT_FOUND');
  const hostWs = await sys.connect(roomId, await sys.token('host', 'ws-offers-host'));
  expect(codeOf(await send(hostWs, { type: 'referral.click', referrer: 'wr-referrer' }))).toBe('FORBIDDEN');
  expect(await sys.db.selectFrom('referral_clicks').select('id').where('user_id', '=', 'wr-buyer').execute()).toHaveLength(3);
});
