import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Envelope, ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/** Team buys over HTTP on the whole system: offered by the host, opened and joined by shoppers, formed by the last payment. */

let sys: System;

function deltasOf(frames: ServerFrame[]): Envelope['d'][] {
  const out: Envelope['d'][] = [];
  for (const f of frames) {
    if (f.type === 'delta') out.push(f.d);
    else if (f.type === 'deltas' || f.type === 'catchup') for (const e of f.items) out.push(e.d);
  }
  return out;
}

beforeAll(async () => {
  sys = await startSystem();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

it('the host offers an item in teams of 3; shoppers open and join by share code; the last payment forms the team; a fourth is refused', async () => {
  const host = sys.http(await sys.token('host', 'team-host'));
  const room = await host.createRoom('team buy');
  const now = Date.now();
  const added = await host.command(room.id, { command: 'addItem', title: 'beans', price: 12900, stock: 100, perUserLimit: 2, startsAt: now - 60_000, endsAt: now + 3600_000 });
  const itemId = (added.data as { item: { id: string } }).item.id;
  const base = `/rooms/${room.id}/items/${itemId}`;
  const viewer = await sys.connect(room.id, await sys.token('shopper', 'team-viewer'));
  viewer.keepFrames = true;

  const shopper = async (sub: string) => sys.http(await sys.token('shopper', sub));
  const [a, b, c, d] = await Promise.all(['ta', 'tb', 'tc', 'td'].map(shopper));
  expect((await a!.request('PUT', `${base}/team-buy`, { size: 3, teamPrice: 8900, windowSeconds: 600 })).status).toBe(403);
  const other = sys.http(await sys.token('host', 'someone-else'));
  expect((await other.request('PUT', `${base}/team-buy`, { size: 3, teamPrice: 8900, windowSeconds: 600 })).status).toBe(403);
  const set = await host.request('PUT', `${base}/team-buy`, { size: 3, teamPrice: 8900, windowSeconds: 600 });
  expect(set).toMatchObject({ status: 200, body: { size: 3, price: 8900, windowMs: 600_000, teamsPerUser: 1 } });

  const opened = await a!.request('POST', `${base}/teams`, { idempotencyKey: 'o1' });
  expect(opened).toMatchObject({ status: 201, body: { outcome: 'held', unitPrice: 8900, seats: 1, size: 3 } });
  const teamId = opened.body.teamId as string;
  expect((await a!.request('POST', `${base}/teams`, { idempotencyKey: 'o1' })).body).toMatchObject({ outcome: 'duplicate', first: { teamId } });
  const jb = await b!.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'j1' });
  const jc = await c!.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'j1' });
  expect([jb.status, jc.status, jc.body.seats]).toEqual([201, 201, 3]);
  expect(await d!.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'j1' })).toMatchObject({ status: 409, body: { outcome: 'team_full', code: 'TEAM_FULL' } });
  expect((await d!.request('POST', `${base}/teams/nosuchteam/join`, { idempotencyKey: 'j2' })).status).toBe(404);

  await a!.pay(room.id, itemId, opened.body.orderId);
  await b!.pay(room.id, itemId, jb.body.orderId);
  expect((await sys.http().request('GET', `${base}/teams/${teamId}`)).body).toMatchObject({ state: 'open', seats: 3, paid: 2 });
  await c!.pay(room.id, itemId, jc.body.orderId);
  const formed = await sys.http().request('GET', `${base}/teams/${teamId}`);
  expect(formed).toMatchObject({ status: 200, body: { state: 'formed', seats: 3, paid: 3, leader: 'ta' } });
  expect(formed.body.members.map((m: { userId: string }) => m.userId)).toEqual(['ta', 'tb', 'tc']);
  expect((await d!.request('POST', `${base}/teams/${teamId}/join`, { idempotencyKey: 'j3' })).body.outcome).toBe('team_closed');

  // The room saw the team fill up and form.
  await waitFor('the team formed in the room', () => deltasOf(viewer.frames).some((x) => x.t === 'team' && x.team === teamId && x.state === 'formed'));
  const progress = deltasOf(viewer.frames).filter((x) => x.t === 'team' && x.team === teamId);
  expect(progress.some((x) => x.t === 'team' && x.seats === 3 && x.paid < 3)).toBe(true);
  expect(progress.at(-1)).toMatchObject({ state: 'formed', seats: 3, paid: 3, size: 3 });
  viewer.close();

  const rows = await waitFor('the team orders in the ledger', async () => {
    const r = await sys.db.selectFrom('orders').select(['state', 'paid_amount']).where('item_id', '=', itemId as never).execute();
    return r.length === 3 && r.every((x) => x.state === 'paid') ? r : undefined;
  });
  expect(rows.map((x) => Number(x.paid_amount))).toEqual([8900, 8900, 8900]);
}, 120_000);
