import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Envelope, ServerFrame } from '../../common/contracts/protocol.ts';
import { privateRedis } from '../helpers/services.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow, record } from './support.ts';

// A private Redis: the test takes write access to the room keys away from the gateway's user
// (an ACL on key patterns), so every append to the room's log fails for a while, while buys and
// joins, whose keys are the items', go on.
let redis: Awaited<ReturnType<typeof privateRedis>>;
let admin: Redis;
let sys: System;
beforeAll(async () => {
  redis = await privateRedis();
  admin = new Redis(redis.url, { lazyConnect: true });
  await admin.connect();
  sys = await startSystem({ redisUrl: redis.url });
});
afterAll(async () => {
  await sys?.stop();
  admin?.disconnect();
  await redis?.destroy();
});

const envelopes = (frames: readonly ServerFrame[]): Envelope[] =>
  frames.flatMap((f) => (f.type === 'delta' ? [f] : f.type === 'deltas' || f.type === 'catchup' ? f.items : []));

it('a sold-out and a tier crossing whose appends fail are retried until they are in the room log, and arrive exactly once', async () => {
  const { http, roomId } = await hostWithRoom(sys, 'retry-host');
  const item = await http.addItem(roomId, { title: 'Last jar', price: 500, stock: 2, perUserLimit: 2, ...openWindow() });
  const opened = await http.command(roomId, { command: 'openGroup', title: 'Pair deal', basePrice: 1000, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 800 }], endsAt: Date.now() + 3600_000 });
  const group = (opened.data as { item: { id: string } }).item.id;
  const s = await sys.connect(roomId, await sys.token('shopper', 'retry-viewer'));
  await s.until((v) => v.doc.items[group] !== undefined);
  const seen = record(s);
  const roomKeys = sys.keys.room(roomId);
  const offsetBefore = Number(await admin.hget(roomKeys.room, 'offset'));

  await admin.acl('LOG', 'RESET');
  await admin.acl('SETUSER', 'default', 'resetkeys', '%R~*', '~*{i:*', '~*outboxes*', '~*hostrate*', '~*members:*');
  try {
    const shopper = sys.http(await sys.token('shopper', 'retry-buyer'));
    const held = await shopper.buy(roomId, item.id, 2, 'retry-buy-1');
    expect(held).toMatchObject({ outcome: 'held', available: 0 });
    expect((await sys.http(await sys.token('shopper', 'retry-j1')).join(roomId, group, 1, 'retry-j1')).outcome).toBe('held');
    const crossed = await sys.http(await sys.token('shopper', 'retry-j2')).join(roomId, group, 1, 'retry-j2');
    expect(crossed).toMatchObject({ outcome: 'held', tier: 1 });
    // The appends were tried and refused (more than once), and nothing reached the room's log.
    await waitFor('appends to the room to be refused and tried again', async () => {
      const refused = ((await admin.acl('LOG')) as unknown[][]).filter((e) => String(e[e.indexOf('object') + 1]) === roomKeys.room);
      const count = refused.reduce((n, e) => n + Number(e[e.indexOf('count') + 1]), 0);
      return count >= 4;
    });
    expect(Number(await admin.hget(roomKeys.room, 'offset'))).toBe(offsetBefore);
    // Nothing past the log's offset before the refusals (a catch-up of the group's own delta,
    // o <= offsetBefore, may still arrive after the snapshot: the view folds it once).
    expect(envelopes(seen.frames).filter((m) => m.o > offsetBefore)).toEqual([]);
  } finally {
    await admin.acl('SETUSER', 'default', 'resetkeys', '~*');
  }

  // Once Redis takes them, they are in, and the socket gets each once.
  await s.until((v) => v.stock[item.id]?.available === 0 && v.groups[group]?.count === 2, 20_000);
  const stored = (await sys.gateway.context.store.get(roomId))!;
  await s.until((v) => v.offset === stored.offset);
  const got = envelopes(seen.frames);
  const soldOut = got.filter((m) => m.d.t === 'stock' && m.d.items.some((x) => x.id === item.id && x.available === 0));
  const crossings = got.filter((m) => m.d.t === 'group' && m.d.item === group && m.d.tier !== undefined);
  expect(soldOut).toHaveLength(1);
  expect(crossings).toHaveLength(1);
  expect(crossings[0]!.d).toMatchObject({ t: 'group', item: group, count: 2, price: 800, tier: 1 });
  const log = (await admin.xrange(roomKeys.log, `${offsetBefore + 1}-0`, '+')).map(([, f]) => JSON.parse(f[1]!) as Envelope);
  expect(log.filter((m) => m.d.t === 'stock' && m.d.items.some((x) => x.id === item.id && x.available === 0))).toHaveLength(1);
  expect(log.filter((m) => m.d.t === 'group' && m.d.tier !== undefined)).toHaveLength(1);
  expect(seen.invalid).toEqual([]);
});
