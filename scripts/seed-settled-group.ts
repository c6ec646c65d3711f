import type { HttpClient } from '../web/client.ts';

/**
 * A tiered group buy for the demo that has already settled: shoppers join one after another
 * (each at the tier reached when joining), pay, and the host closes the group, which refunds
 * everyone the difference to the final tier. Each shopper's "my orders" then shows the refund;
 * the host's settlement list (GET /rooms/{roomId}/items/{itemId}/settlement) reconciles.
 */

export interface SettledGroupShopper {
  sub: string;
  orderId: string;
  /** What the shopper paid (the tier price when joining), fen. */
  paid: number;
}

export interface SettledGroup {
  itemId: string;
  finalPrice: number;
  refundTotal: number;
  shoppers: SettledGroupShopper[];
}

export const demoGroup = {
  title: 'Dalian cherries 2.5 kg (group)',
  basePrice: 19900,
  tiers: [
    { threshold: 3, price: 17900 },
    { threshold: 6, price: 15900 },
    { threshold: 10, price: 13900 },
  ],
};

/**
 * Opens the demo group in `roomId` with `host`, has `count` shoppers (`shopper(sub)` gives each a
 * client with its token; subs `demo-group-1`, ...) join and pay, and closes it.
 */
export async function seedSettledGroup(host: HttpClient, shopper: (sub: string) => Promise<HttpClient>, roomId: string, count = 8): Promise<SettledGroup> {
  const opened = await host.command(roomId, { command: 'openGroup', ...demoGroup, stock: 500, perUserLimit: 2, endsAt: Date.now() + 2 * 3600_000 });
  const itemId = (opened.data as { item: { id: string } }).item.id;
  const shoppers: SettledGroupShopper[] = [];
  for (let i = 1; i <= count; i++) {
    const sub = `demo-group-${i}`;
    const client = await shopper(sub);
    const j = await client.join(roomId, itemId, 1, `demo-group-join-${i}`);
    if (j.outcome !== 'held') throw new Error(`demo group join ${i}: ${j.outcome}`);
    const p = await client.pay(roomId, itemId, j.orderId, j.version);
    shoppers.push({ sub, orderId: j.orderId, paid: p.amount });
  }
  const closed = await host.command(roomId, { command: 'closeGroup', itemId });
  const data = closed.data as { finalPrice: number; refundTotal: number };
  return { itemId, finalPrice: data.finalPrice, refundTotal: data.refundTotal, shoppers };
}
