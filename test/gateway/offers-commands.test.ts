import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type CommandInput, type HttpClient, type RoomSocket } from '../../web/client.ts';
import type { ItemOffers } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow } from './support.ts';

/**
 * The marketing offers as host commands on the whole system: each sets the offer in the
 * inventory or the ledger, the item's `offers` reaches every viewer, the catalog keeps them, the
 * audit records the command; stale versions, retries and bad inputs change nothing.
 */

let sys: System;
let host: HttpClient;
let roomId: string;
let itemId: string;
let groupId: string;
let viewer: RoomSocket;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000, wsMessageRate: 1000, userMessageRate: 1000 });
  const h = await hostWithRoom(sys, 'offers-host', 'offers');
  host = h.http;
  roomId = h.roomId;
  itemId = (await host.addItem(roomId, { title: 'Tea', price: 12_900, stock: 100, perUserLimit: 3, ...openWindow() })).id;
  const g = await host.command(roomId, { command: 'openGroup', title: 'Group', basePrice: 1000, stock: 10, perUserLimit: 1, tiers: [{ threshold: 2, price: 900 }], endsAt: Date.now() + 3600_000 });
  groupId = (g.data as { item: { id: string } }).item.id;
  viewer = await sys.connect(roomId, await sys.token('shopper', 'offers-viewer'));
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

const offersSeen = (pred: (o: ItemOffers) => boolean) => viewer.until((v) => pred(v.doc.items[itemId]?.offers ?? {}));
const catalogOffers = async () => (await sys.db.selectFrom('campaign_items').select('offers').where('id', '=', itemId).executeTakeFirstOrThrow()).offers as ItemOffers | null;
async function refused(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (!(e instanceof ApiError)) throw new Error(`expected a refusal, got ${String(e)}`);
  return e;
}

describe('each command sets its offer, viewers see it, the catalog keeps it and the audit records it', () => {
  const w = openWindow();
  const cases: { name: string; cmd: CommandInput; data: Record<string, unknown>; offer: Partial<ItemOffers> }[] = [
    {
      name: 'setTeamBuy',
      cmd: { command: 'setTeamBuy', itemId: '', size: 3, teamPrice: 8900, windowSeconds: 600 },
      data: { size: 3, price: 8900, windowMs: 600_000, teamsPerUser: 1 },
      offer: { team: { size: 3, price: 8900, windowMs: 600_000, teamsPerUser: 1 } },
    },
    {
      name: 'setBargain',
      cmd: { command: 'setBargain', itemId: '', start: 12_900, floor: 9900, helpers: 3, windowSeconds: 600 },
      data: { start: 12_900, floor: 9900, helpers: 3, windowMs: 600_000, newUsersOnly: false },
      offer: { bargain: { start: 12_900, floor: 9900, helpers: 3, windowMs: 600_000, newUsersOnly: false } },
    },
    {
      name: 'setMemberDay',
      cmd: { command: 'setMemberDay', itemId: '', threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } },
      data: { threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } },
      offer: { memberDay: { threshold: 5000, off: { regular: 100, silver: 300, gold: 500 } } },
    },
    {
      name: 'addCoupon',
      cmd: { command: 'addCoupon', itemId: '', id: 'gold10', kind: 'spend', amount: 1000, minSpend: 10_000, budget: 20, perUser: 1, ...w, audience: { tiers: ['gold'] } } as CommandInput,
      data: { id: 'gold10', created: true, left: 20, issued: 0, spent: 0 },
      offer: { coupons: [{ id: 'gold10', kind: 'spend', amount: 1000, percent: 0, minSpend: 10_000, perUser: 1, ...w, audience: { tiers: ['gold'] } }] },
    },
    { name: 'setCommission', cmd: { command: 'setCommission', itemId: '', rateBp: 500 }, data: { rateBp: 500 }, offer: { commissionBp: 500 } },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const before = await host.version(roomId);
      const r = await host.command(roomId, { ...c.cmd, itemId } as CommandInput, { idempotencyKey: `set-${c.name}` });
      expect(r).toMatchObject({ command: c.name, duplicate: false, version: before + 1, data: { itemId, ...c.data } });
      const [k, v] = Object.entries(c.offer)[0]!;
      const seen = await offersSeen((o) => JSON.stringify(o[k as keyof ItemOffers]) === JSON.stringify(v));
      expect(seen.doc.items[itemId]!.offers).toMatchObject(c.offer);
      expect(await catalogOffers()).toMatchObject(c.offer);
      const entry = await waitFor('the audit entry', async () => (await host.audit(roomId)).find((e) => e.command === c.name && e.idempotencyKey === `set-${c.name}`));
      expect(entry).toMatchObject({ actor: 'offers-host', command: c.name });
    });
  }
});
