import type { Transaction } from 'kysely';
import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { parseBreakdown } from '../common/contracts/pricing.ts';

/**
 * The price breakdown of each new hold with a discount (its order.held event carries one), into
 * `order_prices`, in the writer's transaction (orders/ledger-write.ts): once per order, whatever
 * the number of deliveries.
 */
export async function writeOrderPrices(trx: Transaction<Database>, fresh: readonly InventoryEvent[]): Promise<void> {
  const rows = [];
  for (const e of fresh) {
    if (e.type !== 'order.held' || !e.breakdown) continue;
    const steps = parseBreakdown(e.breakdown, e.price, e.qty);
    const coupon = steps.find((s) => s.step === 'coupon');
    rows.push({
      order_id: e.order,
      item_id: e.item,
      room_id: e.room,
      base: e.price * e.qty,
      member_off: -(steps.find((s) => s.step === 'member')?.amount ?? 0),
      coupon: coupon ? coupon.rule.slice('coupon:'.length) : null,
      coupon_off: coupon ? -coupon.amount : 0,
      breakdown: e.breakdown,
    });
  }
  if (rows.length) await trx.insertInto('order_prices').values(rows).onConflict((oc) => oc.column('order_id').doNothing()).execute();
}
