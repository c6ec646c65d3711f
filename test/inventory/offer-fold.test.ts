import { describe, expect, it } from 'vitest';
import type { InventoryEvent } from '../../common/contracts/inventory-events.ts';
import { bargainCuts } from '../../inventory/bargain.ts';
import { foldLedger, type ItemSettings } from '../../inventory/ledger-fold.ts';

/**
 * The fold of team and bargain events, on its own: what the rebuild restores when events arrive
 * in any order among equal versions, and what it reports when the ledger lacks the settings.
 */

const settings: ItemSettings = { itemId: '1', roomId: '2', kind: 'flash', total: 10, price: 1000, limit: 2, startsAt: 0, endsAt: 10_000_000, holdMs: 60_000, remindMs: 0 };
const base = { item: '1', room: '2', at: 1000 };

describe('the fold of team buys and bargains', () => {
  it('orders a bargain’s helps by their count, whatever their place among equal versions, and advances the generator once per help', () => {
    const seed = 12_345;
    const cuts = bargainCuts(seed, 1000, 400, 3);
    const events: InventoryEvent[] = [
      // Helps and the start all carry the version of the change before them (5), listed out of order.
      { ...base, id: 'h2', type: 'bargain.helped', ver: 5, bargain: 'b', user: 'y', cut: cuts[1]!, price: 1000 - cuts[0]! - cuts[1]!, helped: 2 },
      { ...base, id: 'h1', type: 'bargain.helped', ver: 5, bargain: 'b', user: 'x', cut: cuts[0]!, price: 1000 - cuts[0]!, helped: 1 },
      { ...base, id: 's', type: 'bargain.started', ver: 5, bargain: 'b', user: 'st', start: 1000, floor: 400, helpers: 3, endsAt: 9000, seed, windowMs: 8000, newUsersOnly: false },
    ];
    const f = foldLedger(settings, events);
    const r = f.bargains.bargains.get('b')!;
    let rng = seed;
    for (let i = 0; i < 2; i++) rng = (rng * 48271) % 2_147_483_647;
    expect(r).toMatchObject({ st: 'o', helped: 2, cur: 1000 - cuts[0]! - cuts[1]!, rng, helpers: ['x', 'y'], starter: 'st' });
    expect(f.bargains).toMatchObject({ cfg: '1000,400,3,8000,0', started: 1, helps: 2, bought: 0 });
    expect(f.anomalies).toEqual([]);
  });

  it('reports settings it cannot restore, and seats of a team it never saw opened', () => {
    const events: InventoryEvent[] = [
      { ...base, id: 'o', type: 'team.opened', ver: 2, team: 't', leader: 'a', size: 2, price: 800, endsAt: 9000 },
      { ...base, id: 'a:held', type: 'order.held', ver: 3, kind: 'flash', order: 'a', user: 'a', qty: 1, price: 800, amount: 800, deadline: 9000, team: 't', idem: 'k' },
      { ...base, id: 'b:held', type: 'order.held', ver: 4, kind: 'flash', order: 'b', user: 'b', qty: 1, price: 800, amount: 800, deadline: 9000, team: 'lost' },
    ];
    const f = foldLedger(settings, events);
    expect(f.teams.cfg).toBeUndefined();
    expect(f.teams.teams.get('t')).toMatchObject({ state: 'o', members: ['a'] });
    // The leader's retry answers as team-join-8.lua did: its team, one seat of two, the window end.
    expect(f.orders.get('a')!.idem).toEqual({ field: 'a k', answer: '1,a,1,800,9000,9,3,t,1,2,9000' });
    expect(f.anomalies).toEqual(['b:held: a seat of team lost, which has no team.opened', expect.stringContaining('team buy settings unknown')]);
  });
});
