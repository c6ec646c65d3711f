import type { Cluster, Redis } from 'ioredis';
import type { Keys } from '../common/contracts/keys.ts';
import { Bargains } from '../inventory/bargain.ts';
import { inventoryScripts } from '../inventory/scripts.ts';
import { TeamBuy } from '../inventory/team-buy.ts';
import type { HttpClient } from '../web/client.ts';
import { paced } from './paced.ts';

/**
 * A team buy (拼团) and a bargain (砍价) for the demo, in one room. The host adds two items; the
 * first is offered in teams of 3 at the team price (the setTeamBuy command, the second setBargain): one team has formed (its three demo
 * shoppers paid) and a second is open with one seat taken. The second item is offered for
 * bargains: a demo shopper started one and three helpers have cut its price.
 *
 *   seedTeamBuyAndBargain(host, shopper, { redis, keys }, roomId, now?) -> SeededTeamAndBargain
 *
 * `shopper(sub)` gives a client with that shopper's token (subs `demo-team-1`..`demo-team-4`,
 * `demo-bargain-starter`, `demo-bargain-helper-1`..`3`); `redis` and `keys` are the gateway's.
 */

export interface SeededTeamAndBargain {
  teamItemId: string;
  formedTeamId: string;
  openTeamId: string;
  bargainItemId: string;
  bargainId: string;
  /** The bargain's price after the helps (fen). */
  bargainPrice: number;
}

export const demoTeam = { title: 'Yunnan coffee beans 1 kg (team of 3)', price: 12900, teamPrice: 8900, size: 3 };
export const demoBargain = { title: 'Handmade tea set (bargain)', price: 29900, floor: 9900, helpers: 5 };

export async function seedTeamBuyAndBargain(
  host: HttpClient,
  shopper: (sub: string) => Promise<HttpClient>,
  inventory: { redis: Redis | Cluster; keys: Keys },
  roomId: string,
  now = Date.now(),
): Promise<SeededTeamAndBargain> {
  const deps = { ...inventory, scripts: inventoryScripts(inventory.redis) };
  const teams = new TeamBuy(deps);
  const bargains = new Bargains(deps);
  const window = { startsAt: now - 60_000, endsAt: now + 4 * 3600_000 };

  const added = await paced(() => host.command(roomId, { command: 'addItem', title: demoTeam.title, price: demoTeam.price, stock: 300, perUserLimit: 2, ...window }));
  const teamItemId = (added.data as { item: { id: string } }).item.id;
  // The offers are host commands: audited, and the room shows them in the item's offers.
  await paced(() => host.command(roomId, { command: 'setTeamBuy', itemId: teamItemId, size: demoTeam.size, teamPrice: demoTeam.teamPrice, windowSeconds: 2 * 3600 }));
  const seat = async (sub: string, teamId?: string) => {
    const r = teamId ? await teams.join(teamItemId, teamId, sub, `demo-team-${teamId}`) : await teams.open(teamItemId, sub, 'demo-team-open');
    const held = r.outcome === 'duplicate' ? r.first : r;
    if (held.outcome !== 'held') throw new Error(`demo team seat for ${sub}: ${held.outcome}`);
    return held;
  };
  const lead = await seat('demo-team-1');
  const members = [lead, await seat('demo-team-2', lead.teamId), await seat('demo-team-3', lead.teamId)];
  for (const [i, m] of members.entries()) await (await shopper(`demo-team-${i + 1}`)).pay(roomId, teamItemId, m.orderId, m.version);
  const formed = await teams.settle(teamItemId, lead.teamId);
  if (formed.outcome !== 'formed') throw new Error(`demo team did not form: ${formed.outcome}`);
  const open = await seat('demo-team-4');

  const addedBargain = await paced(() => host.command(roomId, { command: 'addItem', title: demoBargain.title, price: demoBargain.price, stock: 50, perUserLimit: 1, ...window }));
  const bargainItemId = (addedBargain.data as { item: { id: string } }).item.id;
  await paced(() => host.command(roomId, { command: 'setBargain', itemId: bargainItemId, start: demoBargain.price, floor: demoBargain.floor, helpers: demoBargain.helpers, windowSeconds: 24 * 3600 }));
  const started = await bargains.start(bargainItemId, 'demo-bargain-starter');
  if (started.outcome !== 'started' && started.outcome !== 'existing') throw new Error(`demo bargain: ${started.outcome}`);
  let bargainPrice = started.price;
  for (let i = 1; i <= 3; i++) {
    const h = await bargains.help(bargainItemId, started.bargainId, `demo-bargain-helper-${i}`);
    if (h.outcome === 'helped') bargainPrice = h.price;
  }
  return { teamItemId, formedTeamId: lead.teamId, openTeamId: open.teamId, bargainItemId, bargainId: started.bargainId, bargainPrice };
}
