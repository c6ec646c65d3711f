import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import { tierAt, type Tier } from './tiers.ts';

/**
 * An item's inventory state computed from its events alone: what the scripts did, replayed in
 * version order. The rebuild writes it back to Redis after a data loss; the auditor compares it
 * with what Redis holds. It mirrors the scripts: the same counters, hold records and versions.
 *
 * Events may be missing (a hold lost with Redis before it was relayed) while later ones survive
 * (its payment, confirmed to Kafka directly): a payment without its hold still makes a sale, so
 * no confirmed payment is ever lost from the rebuilt state. Anything that cannot be applied is
 * counted in `anomalies`.
 */

export interface ItemSettings {
  readonly itemId: string;
  readonly roomId: string;
  readonly kind: 'flash' | 'group';
  readonly total: number;
  readonly price: number;
  readonly limit: number;
  readonly startsAt: number;
  readonly endsAt: number;
  readonly holdMs: number;
  readonly remindMs: number;
  readonly tiers?: readonly Tier[];
  readonly countBy?: 'people' | 'units';
  readonly belowFirstTier?: 'fail' | 'base';
}

export type FoldedState = 'h' | 'p' | 'c' | 'e' | 'r';

export interface FoldedOrder {
  readonly orderId: string;
  userId: string;
  qty: number;
  price: number;
  deadline: number;
  state: FoldedState;
  /** The hold's version, as the scripts count it. */
  v: number;
  reminded: boolean;
  /** The idempotency record of the reservation: field and first answer. */
  idem?: { field: string; answer: string };
  /** The order.paid event as text (pay answers it again when paid twice). */
  paidEvent?: string;
  /** The hold's discounts, from its breakdown (includes/coupon.lua): campaign ("~": none), offs, tier. */
  coupon?: { campaign: string; couponOff: number; memberOff: number; tier: string };
}

export interface FoldedItem {
  settings: ItemSettings;
  total: number;
  avail: number;
  held: number;
  sold: number;
  ver: number;
  price: number;
  start: number;
  end: number;
  scheduled?: { price: number; at: number; by: string };
  users: Map<string, number>;
  orders: Map<string, FoldedOrder>;
  subs: Set<string>;
  group?: { count: number; tier: number; state: 'open' | 'closed'; finalPrice?: number; outcome?: string };
  /** The member-day rule and coupon campaigns, as the holds hash keeps them (promotion.set). */
  promotions: { memberDay?: string; campaigns: Map<string, string> };
  /** Events seen (after de-duplication by id). */
  events: number;
  anomalies: string[];
}

/** A hold's discounts from its breakdown text (common/contracts/pricing.ts parseBreakdown). */
function couponOf(breakdown: string): NonNullable<FoldedOrder['coupon']> {
  const c = { campaign: '~', couponOff: 0, memberOff: 0, tier: 'regular' };
  for (const part of breakdown.split(';')) {
    const f = part.split('.');
    if (f[0] === 'm') {
      c.tier = f[1]!;
      c.memberOff = Number(f[2]);
    } else if (f[0] === 'c') {
      c.campaign = f[1]!;
      c.couponOff = Number(f[2]);
    }
  }
  return c;
}

/** The settings in an item.created event. */
export function settingsFromCreated(e: Extract<InventoryEvent, { type: 'item.created' }>): ItemSettings {
  return {
    itemId: e.item,
    roomId: e.room,
    kind: e.kind,
    total: e.total,
    price: e.price,
    limit: e.limit,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    holdMs: e.holdMs,
    remindMs: e.remindMs,
    ...(e.kind === 'group' ? { tiers: e.tiers ?? [], countBy: e.countBy ?? 'people', belowFirstTier: e.belowFirstTier ?? 'fail' } : {}),
  };
}

// Within one version, state changes first; then what only observes state.
const rank: Partial<Record<InventoryEvent['type'], number>> = { 'sale.subscribed': 1, 'sale.reminder': 2, 'order.reminder': 3 };

/** Sorts and de-duplicates events (by id), in the order the scripts wrote them. */
export function orderEvents(events: readonly InventoryEvent[]): InventoryEvent[] {
  const byId = new Map<string, InventoryEvent>();
  for (const e of events) if (!byId.has(e.id)) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.ver - b.ver || (rank[a.type] ?? 0) - (rank[b.type] ?? 0));
}

export function foldLedger(settings: ItemSettings, events: readonly InventoryEvent[]): FoldedItem {
  const s: FoldedItem = {
    settings,
    total: settings.total,
    avail: settings.total,
    held: 0,
    sold: 0,
    ver: 1,
    price: settings.price,
    start: settings.startsAt,
    end: settings.endsAt,
    users: new Map(),
    orders: new Map(),
    subs: new Set(),
    promotions: { campaigns: new Map() },
    events: 0,
    anomalies: [],
    ...(settings.kind === 'group' ? { group: { count: 0, tier: 0, state: 'open' as const } } : {}),
  };
  const spec = { basePrice: settings.price, tiers: settings.tiers ?? [] };
  const people = settings.countBy !== 'units';
  const tierNow = () => tierAt(spec, s.group!.count);

  const addUser = (user: string, qty: number): number => {
    const before = s.users.get(user) ?? 0;
    s.users.set(user, before + qty);
    if (s.group?.state === 'open') {
      s.group.count += people ? (before === 0 ? 1 : 0) : qty;
      s.group.tier = tierNow().index;
    }
    return before;
  };
  const removeUser = (user: string, qty: number) => {
    const left = (s.users.get(user) ?? 0) - qty;
    if (left <= 0) s.users.delete(user);
    else s.users.set(user, left);
    if (s.group?.state === 'open') {
      s.group.count -= people ? (left <= 0 ? 1 : 0) : qty;
      s.group.tier = tierNow().index;
    }
  };
  const release = (o: FoldedOrder, state: FoldedState) => {
    s.avail += o.qty;
    s.held -= o.qty;
    removeUser(o.userId, o.qty);
    o.state = state;
    o.v++;
  };

  const ordered = orderEvents(events);
  s.events = ordered.length;
  for (const e of ordered) {
    s.ver = Math.max(s.ver, e.ver);
    switch (e.type) {
      case 'item.created':
        break;
      case 'promotion.set':
        if (e.what === 'md') s.promotions.memberDay = e.config;
        else if (e.campaign) s.promotions.campaigns.set(e.campaign, e.config);
        break;
      case 'order.held': {
        if (s.orders.has(e.order)) break;
        const tierBefore = s.group?.tier ?? 0;
        s.avail -= e.qty;
        s.held += e.qty;
        addUser(e.user, e.qty);
        const o: FoldedOrder = { orderId: e.order, userId: e.user, qty: e.qty, price: e.price, deadline: e.deadline, state: 'h', v: 1, reminded: false };
        if (e.breakdown) o.coupon = couponOf(e.breakdown);
        if (e.idem) {
          let answer = `1,${e.order},${e.qty},${e.price},${e.deadline},${s.avail},${e.ver}`;
          if (!s.group) answer += `,${e.amount},${e.breakdown ?? `b.${e.price * e.qty}`}`;
          if (s.group) {
            // A join that crossed a tier answers with the version of its tier event (one more).
            const t = tierNow();
            const crossed = t.index > tierBefore ? 1 : 0;
            answer = `1,${e.order},${e.qty},${e.price},${e.deadline},${s.avail},${e.ver + crossed},${s.group.count},${t.index},${t.next ?? 0},${crossed}`;
          }
          o.idem = { field: `${e.user} ${e.idem}`, answer };
        }
        s.orders.set(e.order, o);
        break;
      }
      case 'order.paid': {
        const o = s.orders.get(e.order);
        const text = JSON.stringify(e);
        if (!o) {
          // Its hold was lost, its payment was not: the sale stands.
          const price = e.price ?? Math.floor(e.amount / e.qty);
          s.avail -= e.qty;
          s.sold += e.qty;
          addUser(e.user, e.qty);
          s.orders.set(e.order, { orderId: e.order, userId: e.user, qty: e.qty, price, deadline: 0, state: 'p', v: (e.hv ?? 1) + 1, reminded: false, paidEvent: text });
        } else if (o.state === 'h') {
          s.held -= o.qty;
          s.sold += o.qty;
          o.state = 'p';
          o.v++;
          o.paidEvent = text;
        } else if (o.state !== 'p') {
          s.anomalies.push(`${e.id}: paid in state ${o.state}`);
        }
        break;
      }
      case 'order.cancelled':
      case 'order.expired': {
        const o = s.orders.get(e.order);
        if (o?.state === 'h') release(o, e.type === 'order.cancelled' ? 'c' : 'e');
        else if (!o) s.anomalies.push(`${e.id}: no such order`);
        break;
      }
      case 'order.repriced': {
        const o = s.orders.get(e.order);
        if (o) {
          o.price = e.price;
          o.v++;
        }
        break;
      }
      case 'refund.issued': {
        const o = s.orders.get(e.order);
        if (!o) {
          s.anomalies.push(`${e.id}: no such order`);
          break;
        }
        if (e.reason === 'tier_settlement') {
          o.price -= Math.round(e.amount / o.qty);
          o.v++;
        } else if (o.state === 'p') {
          s.sold -= o.qty;
          s.avail += o.qty;
          removeUser(o.userId, o.qty);
          o.state = 'r';
          o.v++;
        }
        break;
      }
      case 'order.reminder': {
        const o = s.orders.get(e.order);
        if (o) o.reminded = true;
        break;
      }
      case 'stock.adjusted':
        s.total += e.delta;
        s.avail += e.delta;
        break;
      case 'price.changed':
        s.price = e.price;
        delete s.scheduled;
        break;
      case 'price.scheduled':
        s.scheduled = { price: e.price, at: e.effectiveAt, by: e.by };
        break;
      case 'sale.changed':
        s.start = e.startsAt;
        s.end = e.endsAt;
        break;
      case 'sale.subscribed':
        s.subs.add(e.user);
        break;
      case 'sale.reminder':
        s.subs.delete(e.user);
        break;
      case 'group.tier_reached':
        break;
      case 'group.closed':
        if (s.group) {
          s.group.state = 'closed';
          s.group.count = e.count;
          s.group.finalPrice = e.finalPrice;
          s.group.outcome = e.outcome;
          s.group.tier = e.outcome === 'succeeded' ? tierAt(spec, e.count).index : 0;
        }
        break;
    }
  }
  return s;
}
