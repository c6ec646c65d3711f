import type { Delta, ItemInfo, RoomDoc, RoomView, StockLevel } from './protocol.ts';
import { maxAnnouncements, maxRoomLotteries } from './room-limits.ts';

/**
 * Folding room deltas into a room view, and the price of an item at a time: plain functions with
 * no runtime dependency (the schemas stay in protocol.ts), so the browser pages bundle them
 * without the validation library.
 */

function withItem(doc: RoomDoc, id: string, patch: Partial<ItemInfo>, drop?: keyof ItemInfo): RoomDoc {
  const cur = doc.items[id];
  if (!cur) return doc;
  const next = { ...cur, ...patch };
  if (drop) delete next[drop];
  return { ...doc, items: { ...doc.items, [id]: next } };
}

/** The document after one delta (pure; stock and group progress are separate, see applyDelta). */
export function nextDoc(doc: RoomDoc, d: Delta): RoomDoc {
  switch (d.t) {
    case 'item':
      return { ...doc, listing: [...d.listing], items: { ...doc.items, [d.item.id]: d.item } };
    case 'onAir':
      return { ...doc, onAir: d.item };
    case 'listing':
      return { ...doc, listing: [...d.listing] };
    case 'price':
      // A price in effect now replaces a scheduled one (or is the scheduled one, come due).
      return withItem(doc, d.item, { price: d.price }, 'scheduledPrice');
    case 'announce':
      return { ...doc, announcements: [...(doc.announcements ?? []), d.announcement].slice(-maxAnnouncements) };
    case 'pin':
      return { ...doc, pinned: d.announcement };
    case 'sale':
      return withItem(doc, d.item, { startsAt: d.startsAt, endsAt: d.endsAt });
    case 'groupClosed':
      return withItem(doc, d.item, { closed: { count: d.count, finalPrice: d.finalPrice, outcome: d.outcome } });
    case 'show':
      return { ...doc, show: { ...d.show } };
    case 'slot': {
      const next = { ...doc, onAir: d.onAir, listing: [...d.listing] };
      return d.sale ? withItem(next, d.sale.item, { startsAt: d.sale.startsAt, endsAt: d.sale.endsAt }) : next;
    }
    case 'lottery':
    case 'lotteryDrawn': {
      const rest = (doc.lotteries ?? []).filter((l) => l.id !== d.lottery.id);
      return { ...doc, lotteries: [...rest, d.lottery].slice(-maxRoomLotteries) };
    }
    case 'stock':
    case 'group':
    case 'lotteryEntries':
    case 'team':
    case 'reminder':
      return doc;
  }
}

/** Applies one delta in place. Stock and group progress are latest-version-wins, so a stale level never overwrites a newer one. */
export function applyDelta(view: RoomView, d: Delta): void {
  view.doc = nextDoc(view.doc, d);
  switch (d.t) {
    case 'item':
      if (d.stock) mergeStock(view.stock, d.item.id, d.stock);
      break;
    case 'stock':
      for (const s of d.items) mergeStock(view.stock, s.id, s);
      break;
    case 'group': {
      view.groups ??= {};
      const cur = view.groups[d.item];
      if (!cur || d.ver > cur.ver) view.groups[d.item] = { count: d.count, price: d.price, next: d.next, ver: d.ver };
      break;
    }
    default:
  }
}

export function mergeStock(stock: Record<string, StockLevel>, id: string, s: StockLevel): void {
  const cur = stock[id];
  if (!cur || s.ver > cur.ver) stock[id] = { available: s.available, ver: s.ver };
}

/** The unit price of an item at server time `now` (a scheduled change counts once its time has come). */
export function effectivePrice(item: ItemInfo, now: number): number {
  return item.scheduledPrice && item.scheduledPrice.at <= now ? item.scheduledPrice.price : item.price;
}
