import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, record } from './support.ts';

// A tick that never comes during the test: only urgent deltas (and what is pending before them) go out.
let sys: System;
beforeAll(async () => {
  sys = await startSystem({ roomTickMs: 60_000 });
});
afterAll(async () => {
  await sys?.stop();
});

it('the first update after a quiet tick goes out at once; the next ones wait for the tick and go out in one frame; a sale change or a sold-out skips the tick and takes what is pending with it', async () => {
  const { roomId } = await hostWithRoom(sys, 'tick-host');
  const s = await sys.connect(roomId, await sys.token('shopper', 'tick-s'));
  const seen = record(s);
  const store = sys.gateway.context.store;
  const hub = sys.gateway.hub;
  const start = hub.loaded(roomId)!.view.offset;
  const batches = () => seen.frames.filter((f) => f.type === 'delta' || f.type === 'deltas');

  // Leading edge: the room was quiet, so this one is written at once.
  await store.append(roomId, { t: 'stock', items: [{ id: 'x', available: 9, ver: 1 }] });
  await s.until((v) => v.offset === start + 1);
  expect(batches()).toHaveLength(1);

  for (let i = 2; i <= 3; i++) await store.append(roomId, { t: 'stock', items: [{ id: 'x', available: 10 - i, ver: i }] });
  await waitFor('the node to apply the deltas', () => hub.loaded(roomId)!.view.offset === start + 3);
  // A reply sent now overtakes the held deltas: they are waiting for the tick.
  await s.ping();
  expect(batches()).toHaveLength(1);

  // Sold out: urgent, and it takes the pending ones with it, in one frame.
  await store.append(roomId, { t: 'stock', items: [{ id: 'x', available: 0, ver: 4 }] });
  await s.until((v) => v.offset === start + 4);
  const frames = batches();
  expect(frames).toHaveLength(2);
  expect(frames[1]).toMatchObject({ type: 'deltas' });
  expect((frames[1] as Extract<ServerFrame, { type: 'deltas' }>).items.map((e) => e.o)).toEqual([start + 2, start + 3, start + 4]);

  // A sale change alone: one frame, at once.
  await store.append(roomId, { t: 'sale', item: 'x', startsAt: 1, endsAt: 2 });
  await s.until((v) => v.offset === start + 5);
  expect(batches()).toHaveLength(3);
  expect(batches()[2]).toMatchObject({ type: 'delta', d: { t: 'sale' } });
  expect(seen.invalid).toEqual([]);
  expect(s.protocolErrors).toEqual([]);
  s.close();
});
