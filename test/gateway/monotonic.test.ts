import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, RoomView, ServerFrame } from '../../common/contracts/protocol.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { RoomPublisher } from '../../gateway/room-publisher.ts';
import { RoomStore } from '../../gateway/room-store.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow, record } from './support.ts';

/**
 * Every versioned state value a socket received, per state key, in the order it received them,
 * starting from `from`: the view its first snapshot gave it.
 */
function stateVersions(from: RoomView, frames: readonly ServerFrame[]): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  const note = (key: string, ver: number) => {
    let l = seen.get(key);
    if (!l) seen.set(key, (l = []));
    l.push(ver);
  };
  const envelope = (m: Envelope) => {
    if (m.d.t === 'stock') for (const s of m.d.items) note(`stock:${s.id}`, s.ver);
    else if (m.d.t === 'group') note(`group:${m.d.item}`, m.d.ver);
    else if (m.d.t === 'item' && m.d.stock) note(`stock:${m.d.item.id}`, m.d.stock.ver);
  };
  for (const [id, st] of Object.entries(from.stock)) note(`stock:${id}`, st.ver);
  for (const [id, g] of Object.entries(from.groups)) note(`group:${id}`, g.ver);
  for (const f of frames) {
    if (f.type === 'snapshot') {
      for (const [id, s] of Object.entries(f.stock)) note(`stock:${id}`, s.ver);
      for (const [id, g] of Object.entries(f.groups ?? {})) note(`group:${id}`, g.ver);
    } else if (f.type === 'delta') envelope(f);
    else if (f.type === 'deltas' || f.type === 'catchup') for (const m of f.items) envelope(m);
  }
  return seen;
}

/** The keys whose versions went backwards somewhere in the sequence: "key: 41 then 33". */
function regressions(seen: Map<string, number[]>): string[] {
  const out: string[] = [];
  for (const [key, vers] of seen) {
    for (let i = 1; i < vers.length; i++) if (vers[i]! < vers[i - 1]!) out.push(`${key}: ${vers[i - 1]} then ${vers[i]}`);
  }
  return out;
}

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

describe('the live stream never goes backwards', () => {
  it('a payment just past its deadline, published after the sweeper expired other holds, does not bring an older stock level to any socket', async () => {
    const { http, roomId } = await hostWithRoom(sys, 'mono-host');
    const item = await http.addItem(roomId, { title: 'Late tea', price: 1200, stock: 30, perUserLimit: 20, holdSeconds: 10, ...openWindow() });
    const other = await http.addItem(roomId, { title: 'Other tea', price: 900, stock: 8, perUserLimit: 5, ...openWindow() });
    const sockets = await Promise.all(['mono-a', 'mono-b', 'mono-c'].map(async (u) => sys.connect(roomId, await sys.token('shopper', u))));
    const seen = sockets.map(record);
    const first = sockets.map((s) => structuredClone(s.view!));

    // Two shoppers hold; the first will pay a moment too late, the second never pays.
    const late = await sys.http(await sys.token('shopper', 'late-payer')).buy(roomId, item.id, 2, 'late-1');
    const idle = await sys.http(await sys.token('shopper', 'idle-holder')).buy(roomId, item.id, 16, 'idle-1');
    if (late.outcome !== 'held' || idle.outcome !== 'held') throw new Error(`buys not held: ${late.outcome}, ${idle.outcome}`);
    await waitFor('both deadlines to pass on the Redis clock', async () => {
      const [s] = await sys.redis.time();
      return Number(s) * 1000 > Math.max(late.deadline, idle.deadline) + 20;
    });

    // 1. The payment arrives after its deadline: pay-5.lua expires that hold itself and answers
    //    HOLD_EXPIRED with the level it left (the gateway's pay path notes it for the room).
    const payErr = await sys.gateway.context.payments.pay(item.id, late.orderId, 'late-payer').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(payErr).toBeInstanceOf(LivesaleError);
    expect((payErr as LivesaleError).code).toBe('HOLD_EXPIRED');
    const stale = { available: Number((payErr as LivesaleError).details!.available), ver: Number((payErr as LivesaleError).details!.ver) };

    // 2. Meanwhile the sweeper expires the other hold and its room publisher appends at once.
    const sweeper = new Sweeper({ redis: sys.redis, keys: sys.keys, scripts: sys.gateway.context.scripts });
    const swept = await sweeper.sweepItem(item.id);
    expect(swept.expired).toBe(1);
    expect(swept.ver!).toBeGreaterThan(stale.ver);
    await new RoomPublisher({ store: new RoomStore({ redis: sys.redis, keys: sys.keys }) }).publish({ ...swept, roomId });

    // 3. Only then does the gateway's coalesced publish of the payment's level go out, with a
    //    fresh level of another item in the same tick.
    const fresh = await sys.gateway.context.flash.reserve(other.id, 'fresh-buyer', 1, 'fresh-1');
    if (fresh.outcome !== 'held') throw new Error(`buy not held: ${fresh.outcome}`);
    const hub = sys.gateway.hub;
    hub.noteStock(roomId, item.id, stale.available, stale.ver);
    hub.noteStock(roomId, other.id, fresh.available, fresh.ver);
    await hub.flushStock(roomId);

    // Every socket has everything the room's log holds, and ends on the item's latest level.
    const stored = (await sys.gateway.context.store.get(roomId))!;
    for (const s of sockets) await s.until((v) => v.offset === stored.offset);
    const [avail, ver] = (await sys.redis.hmget(sys.keys.item(item.id).item, 'avail', 'ver')).map(Number);
    expect(ver).toBe(swept.ver);
    for (const [i, s] of sockets.entries()) {
      const versions = stateVersions(first[i]!, seen[i]!.frames);
      expect(regressions(versions), `socket ${i}`).toEqual([]);
      expect(versions.get(`stock:${item.id}`)!.at(-1)).toBe(ver);
      expect(versions.get(`stock:${other.id}`)!.at(-1)).toBe(fresh.ver);
      expect(s.view!.stock[item.id]).toEqual({ available: avail, ver });
      expect(seen[i]!.invalid).toEqual([]);
    }
    // The stale level never reached the room's log at all; the other item's, in the same tick, did.
    const log = (await sys.redis.xrange(sys.keys.room(roomId).log, '-', '+')).map(([, f]) => JSON.parse(f[1]!) as Envelope);
    const itemLevels = log.flatMap((m) => (m.d.t === 'stock' ? m.d.items.filter((x) => x.id === item.id).map((x) => x.ver) : []));
    expect(itemLevels).not.toContain(stale.ver);
    expect(regressions(new Map([[`stock:${item.id}`, itemLevels]]))).toEqual([]);
    expect(log.at(-1)!.d).toEqual({ t: 'stock', items: [{ id: other.id, available: fresh.available, ver: fresh.ver }] });
  });

  it('the room log keeps the highest version per state key whatever order the writers append in', async () => {
    const { roomId } = await hostWithRoom(sys, 'mono-order-host');
    const s = await sys.connect(roomId, await sys.token('shopper', 'mono-order'));
    const seen = record(s);
    const first = structuredClone(s.view!);
    const store = sys.gateway.context.store;
    // Several writers' versions of two items and a group, in a bad order.
    const order = [5, 9, 3, 9, 12, 7, 15, 1];
    const answers = [];
    for (const v of order) {
      answers.push(await store.append(roomId, { t: 'stock', items: [{ id: 'a', available: 100 - v, ver: v }, { id: 'b', available: 50 - v, ver: 20 - v }] }));
      answers.push(await store.append(roomId, { t: 'group', item: 'g', count: v, price: 100, next: null, ver: v }));
    }
    // Appended where at least one part was newer; the rest were superseded and not appended.
    expect(answers.filter((a) => a === undefined).length).toBeGreaterThan(0);
    const stored = (await store.get(roomId))!;
    await s.until((v) => v.offset === stored.offset);
    const versions = stateVersions(first, seen.frames);
    expect(regressions(versions)).toEqual([]);
    expect(versions.get('stock:a')!.at(-1)).toBe(15);
    expect(versions.get('stock:b')!.at(-1)).toBe(19); // 20 - 1, the last and highest
    expect(versions.get('group:g')!.at(-1)).toBe(15);
    expect(s.view!.stock.a).toEqual({ available: 85, ver: 15 });
  });
});
