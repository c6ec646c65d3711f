import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSystem, type System } from '../helpers/system.ts';

/** Bargains over HTTP on the whole system: offered by the host, started, helped to the floor, bought and paid. */

let sys: System;

beforeAll(async () => {
  sys = await startSystem();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

it('a bargain of 3 helpers reaches the floor at the third help; a second help is refused; the starter buys and pays at the floor', async () => {
  const host = sys.http(await sys.token('host', 'bargain-host'));
  const room = await host.createRoom('bargain');
  const now = Date.now();
  const added = await host.command(room.id, { command: 'addItem', title: 'tea set', price: 29900, stock: 10, perUserLimit: 1, startsAt: now - 60_000, endsAt: now + 3600_000 });
  const itemId = (added.data as { item: { id: string } }).item.id;
  const base = `/rooms/${room.id}/items/${itemId}`;
  const shopper = async (sub: string) => sys.http(await sys.token('shopper', sub));
  const starter = await shopper('bs');
  expect((await starter.request('PUT', `${base}/bargain`, { start: 29900, floor: 9900, helpers: 3, windowSeconds: 600 })).status).toBe(403);
  expect((await host.request('PUT', `${base}/bargain`, { start: 100, floor: 99, helpers: 3, windowSeconds: 600 })).status).toBe(400);
  expect((await host.request('PUT', `${base}/bargain`, { start: 29900, floor: 9900, helpers: 3, windowSeconds: 600 })).body).toMatchObject({ start: 29900, floor: 9900, helpers: 3 });

  const started = await starter.request('POST', `${base}/bargains`, {});
  expect(started).toMatchObject({ status: 201, body: { outcome: 'started', price: 29900 } });
  const id = started.body.bargainId as string;
  expect((await starter.request('POST', `${base}/bargains`, {})).body).toMatchObject({ outcome: 'existing', bargainId: id });
  expect((await starter.request('POST', `${base}/bargains/${id}/help`, {})).body.outcome).toBe('already_helped');
  let price = 29900;
  for (let i = 1; i <= 3; i++) {
    const h = await (await shopper(`bh${i}`)).request('POST', `${base}/bargains/${id}/help`, {});
    expect(h).toMatchObject({ status: 200, body: { outcome: 'helped', helped: i } });
    expect(h.body.cut).toBeGreaterThanOrEqual(1);
    price -= h.body.cut;
    expect(h.body.price).toBe(price);
  }
  expect(price).toBe(9900);
  expect(await (await shopper('bh1')).request('POST', `${base}/bargains/${id}/help`, {})).toMatchObject({ status: 409, body: { code: 'ALREADY_HELPED' } });
  expect((await (await shopper('bh4')).request('POST', `${base}/bargains/${id}/help`, {})).body.code).toBe('BARGAIN_AT_FLOOR');
  expect((await (await shopper('bh1')).request('POST', `${base}/bargains/${id}/buy`, {})).status).toBe(404);
  const bought = await starter.request('POST', `${base}/bargains/${id}/buy`, {});
  expect(bought).toMatchObject({ status: 201, body: { outcome: 'held', unitPrice: 9900 } });
  const paid = await starter.pay(room.id, itemId, bought.body.orderId);
  expect(paid.amount).toBe(9900);
  expect((await sys.http().request('GET', `${base}/bargains/${id}`)).body).toMatchObject({ state: 'bought', price: 9900, helped: 3, helperIds: ['bh1', 'bh2', 'bh3'] });
}, 120_000);
