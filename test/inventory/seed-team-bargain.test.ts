import { afterAll, beforeAll, expect, it } from 'vitest';
import { Bargains } from '../../inventory/bargain.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { TeamBuy } from '../../inventory/team-buy.ts';
import { demoBargain, demoTeam, seedTeamBuyAndBargain } from '../../scripts/seed-team-bargain.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

/** The demo's team buy and bargain, seeded through the host's commands and paid over HTTP. */

let sys: System;

beforeAll(async () => {
  sys = await startSystem();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

it('seedTeamBuyAndBargain leaves a formed team, an open team with one seat, and a bargain cut by three helpers', async () => {
  const host = sys.http(await sys.token('host', 'seed-host'));
  const room = await host.createRoom('demo marketing');
  const roomId = room.id;
  const s = await seedTeamBuyAndBargain(host, async (sub) => sys.http(await sys.token('shopper', sub)), { redis: sys.redis, keys: sys.keys }, roomId);
  const deps = { redis: sys.redis, keys: sys.keys, scripts: inventoryScripts(sys.redis) };
  const teams = new TeamBuy(deps);
  expect(await teams.team(s.teamItemId, s.formedTeamId)).toMatchObject({ state: 'formed', seats: 3, paid: 3, price: demoTeam.teamPrice });
  expect(await teams.team(s.teamItemId, s.openTeamId)).toMatchObject({ state: 'open', seats: 1, paid: 0 });
  const b = (await new Bargains(deps).bargain(s.bargainItemId, s.bargainId))!;
  expect(b).toMatchObject({ state: 'open', helped: 3, price: s.bargainPrice, floor: demoBargain.floor });
  expect(s.bargainPrice).toBeLessThan(demoBargain.price);
  expect(s.bargainPrice).toBeGreaterThan(demoBargain.floor);
  // Set by the host's commands: the room shows the offers, the audit has them.
  const items = (await host.snapshot(roomId)).room.items;
  expect(items[s.teamItemId]!.offers).toEqual({ team: { size: demoTeam.size, price: demoTeam.teamPrice, windowMs: 2 * 3600_000, teamsPerUser: 1 } });
  expect(items[s.bargainItemId]!.offers).toEqual({ bargain: { start: demoBargain.price, floor: demoBargain.floor, helpers: demoBargain.helpers, windowMs: 24 * 3600_000, newUsersOnly: false } });
  const audited = await waitFor('the offer commands audited', async () => {
    const names = (await host.audit(roomId)).map((e) => e.command);
    return names.includes('setTeamBuy') && names.includes('setBargain') ? names : undefined;
  });
  expect(audited.filter((n) => n === 'setTeamBuy' || n === 'setBargain').sort()).toEqual(['setBargain', 'setTeamBuy']);
  const paid = await waitFor('the team payments in the ledger', async () => {
    const rows = await sys.db.selectFrom('orders').select(['paid_amount']).where('item_id', '=', s.teamItemId as never).where('state', '=', 'paid').execute();
    return rows.length === 3 ? rows : undefined;
  });
  expect(paid.map((r) => Number(r.paid_amount))).toEqual([demoTeam.teamPrice, demoTeam.teamPrice, demoTeam.teamPrice]);
}, 120_000);
