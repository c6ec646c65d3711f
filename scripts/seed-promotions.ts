import type { HttpClient } from '../web/client.ts';
import { paced } from './paced.ts';

/**
 * A flash-sale item for the demo with the seeds' member-day rule (gold, silver, regular members
 * get ¥10 / ¥8 / ¥6 off orders over ¥68) and a 满减 coupon campaign (¥15 off from ¥100, 200
 * coupons, one per shopper). A gold and a silver member buy with the coupon, the gold one pays:
 * their holds show each price step in "my orders", and the report's coupon figures count them.
 */

export interface SeededPromotions {
  itemId: string;
  campaignId: string;
  /** Each demo buyer's order and what it costs after its discounts (fen). */
  buyers: { sub: string; tier: 'gold' | 'silver'; orderId: string; amount: number; paid: boolean }[];
}

export const demoPromotion = {
  item: { title: 'Yunnan coffee beans 1 kg', price: 3990, stock: 300, perUserLimit: 10 },
  memberDay: { threshold: 6800, off: { regular: 600, silver: 800, gold: 1000 } },
  coupon: { id: 'save15over100', kind: 'spend' as const, amount: 1500, minSpend: 10000, budget: 200, perUser: 1 },
};

/**
 * Adds the demo item to `roomId` with `host`, sets its member-day rule and coupon campaign, makes
 * `demo-member-gold` gold and `demo-member-silver` silver (`shopper(sub)` gives a client with the
 * shopper's token), and has each buy 3 units with the coupon; the gold member pays.
 */
export async function seedPromotions(host: HttpClient, shopper: (sub: string) => Promise<HttpClient>, roomId: string): Promise<SeededPromotions> {
  const now = Date.now();
  const item = await paced(() => host.addItem(roomId, { ...demoPromotion.item, startsAt: now, endsAt: now + 2 * 3600_000, holdSeconds: 900 }));
  // Host commands: audited, and the room shows the rule and the campaign in the item's offers.
  await paced(() => host.command(roomId, { command: 'setMemberDay', itemId: item.id, ...demoPromotion.memberDay }));
  await paced(() => host.command(roomId, { command: 'addCoupon', itemId: item.id, percent: 0, ...demoPromotion.coupon, startsAt: now - 60_000, endsAt: now + 2 * 3600_000 }));
  const buyers: SeededPromotions['buyers'] = [];
  for (const tier of ['gold', 'silver'] as const) {
    const sub = `demo-member-${tier}`;
    await host.setMemberTier(sub, tier);
    const client = await shopper(sub);
    const r = await client.buy(roomId, item.id, 3, `demo-promotion-${tier}`, demoPromotion.coupon.id);
    const held = r.outcome === 'duplicate' ? r.first : r;
    if (held.outcome !== 'held') throw new Error(`demo promotion buy (${tier}): ${held.outcome}`);
    const paid = tier === 'gold';
    if (paid && r.outcome === 'held') await client.pay(roomId, item.id, held.orderId);
    buyers.push({ sub, tier, orderId: held.orderId, amount: held.amount, paid });
  }
  return { itemId: item.id, campaignId: demoPromotion.coupon.id, buyers };
}
