import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

it('ephemeral room messages reach ops and the room host, not shoppers, and do not move the offset', async () => {
  const host = sys.http(await sys.token('host', 'eph-host'));
  const room = await host.createRoom('ephemeral');
  const ops = await sys.connect(room.id, await sys.token('ops', 'ops-1'));
  const hostSock = await sys.connect(room.id, await sys.token('host', 'eph-host'));
  const shopper = await sys.connect(room.id, await sys.token('shopper', 's-1'));
  const seen = new Map<string, ServerFrame[]>();
  for (const [name, s] of [['ops', ops], ['host', hostSock], ['shopper', shopper]] as const) {
    seen.set(name, []);
    // Viewer counts are ephemeral frames every socket gets at any moment; they are not under test here.
    s.onFrame((f) => f.type !== 'viewers' && seen.get(name)!.push(f));
  }
  const offset = shopper.view!.offset;
  await sys.gateway.context.store.publishEphemeral(room.id, 'stats', { metrics: [{ metric: 'orders', value: 3 }] });
  await waitFor('ops and host to receive the stats frame', () => seen.get('ops')!.length > 0 && seen.get('host')!.length > 0);
  expect(seen.get('ops')![0]).toEqual({ type: 'stats', metrics: [{ metric: 'orders', value: 3 }] });
  expect(seen.get('host')![0]).toEqual({ type: 'stats', metrics: [{ metric: 'orders', value: 3 }] });
  // A sequenced delta after it proves the shopper's stream was not interrupted and got no stats.
  await host.putOnAir(room.id, null);
  await shopper.until((v) => v.offset === offset + 1);
  expect(seen.get('shopper')!.map((f) => f.type)).toEqual(['delta']);
});
