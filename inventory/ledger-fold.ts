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

/** A team of a team buy, as team-join-8.lua keeps it. */
export interface FoldedTeam {
  state: 'o' | 'f' | 'x';
  readonly endsAt: number;
  readonly size: number;
  readonly price: number;
  readonly leader: string;
  /** Seat order ids, in joining order. */
  readonly members: string[];
}

/** An item's team buy (team.* events and the seats' holds). */
export interface FoldedTeams {
  /** The settings new teams get ("size,price,windowMs,teamsPerUser"), from team.configured. */
  cfg?: string;
  readonly teams: Map<string, FoldedTeam>;
  /** Per user, the "team:order" pairs of their seats, in joining order. */
  readonly users: Map<string, string[]>;
  opened: number;
  formed: number;
  failed: number;
  refunded: number;
}

/** A bargain, as includes/bargain.lua keeps it. */
export interface FoldedBargain {
  st: 'o' | 'b';
  readonly start: number;
  readonly floor: number;
  readonly k: number;
  helped: number;
  cur: number;
  readonly ends: number;
  /** The generator's state: the seed advanced once per help. */
  rng: number;
  /** The hold of the latest buy ('' before one). */
  order: string;
  readonly starter: string;
  /** Helper ids, in helping order. */
  readonly helpers: string[];
  /** When it started (the latest start of a user is their bargain). */
  readonly at: number;
}

/** An item's bargains (bargain.* events and the holds that bought them). */
export interface FoldedBargains {
  /** The settings new bargains get ("start,floor,helpers,windowMs,newOnly"), from bargain.configured. */
  cfg?: string;
  readonly bargains: Map<string, FoldedBargain>;
  /** Per user, their latest bargain. */
  readonly latest: Map<string, string>;
  started: number;
  helps: number;
  bought: number;
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
  /** The team buy: its settings, teams, seats and counters. */
  teams: FoldedTeams;
  /** The bargains: their settings, records, helpers and counters. */
  bargains: FoldedBargains;
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
    teams: { teams: new Map(), users: new Map(), opened: 0, formed: 0, failed: 0, refunded: 0 },
    bargains: { bargains: new Map(), latest: new Map(), started: 0, helps: 0, bought: 0 },
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
        s.orders.set(e.order, o);
        const team = e.team ? s.teams.teams.get(e.team) : undefined;
        if (e.team && team) {
          team.members.push(e.order);
          const mine = s.teams.users.get(e.user) ?? [];
          mine.push(`${e.team}:${e.order}`);
          s.teams.users.set(e.user, mine);
        } else if (e.team) s.anomalies.push(`${e.id}: a seat of team ${e.team}, which has no team.opened`);
        if (e.idem && e.team && team) {
          // A seat answers as team-join-8.lua does: with the team's seats taken after it.
          const seats = team.members.filter((m) => ['h', 'p'].includes(s.orders.get(m)?.state ?? '')).length;
          o.idem = { field: `${e.user} ${e.idem}`, answer: `1,${e.order},${e.qty},${e.price},${e.deadline},${s.avail},${e.ver},${e.team},${seats},${team.size},${team.endsAt}` };
        } else if (e.idem) {
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
      case 'team.configured':
        s.teams.cfg = `${e.size},${e.price},${e.windowMs},${e.teamsPerUser}`;
        break;
      case 'team.opened':
        // The settings in force at the opening: they stand in for a team.configured the ledger lacks.
        if (e.windowMs !== undefined && e.teamsPerUser !== undefined) s.teams.cfg = `${e.size},${e.price},${e.windowMs},${e.teamsPerUser}`;
        if (!s.teams.teams.has(e.team)) {
          s.teams.teams.set(e.team, { state: 'o', endsAt: e.endsAt, size: e.size, price: e.price, leader: e.leader, members: [] });
          s.teams.opened++;
        }
        break;
      case 'team.formed':
      case 'team.failed': {
        const t = s.teams.teams.get(e.team);
        if (!t) s.anomalies.push(`${e.id}: no such team`);
        else if (t.state === 'o') {
          t.state = e.type === 'team.formed' ? 'f' : 'x';
          if (e.type === 'team.formed') s.teams.formed++;
          else {
            s.teams.failed++;
            s.teams.refunded += e.refunded;
          }
        }
        break;
      }
      case 'bargain.configured':
        s.bargains.cfg = `${e.start},${e.floor},${e.helpers},${e.windowMs},${e.newUsersOnly ? 1 : 0}`;
        break;
      case 'bargain.started':
        // The settings in force at the start (a start shares its version with the change before
        // it, which was that settings change or one before it).
        if (e.windowMs !== undefined && e.newUsersOnly !== undefined) s.bargains.cfg = `${e.start},${e.floor},${e.helpers},${e.windowMs},${e.newUsersOnly ? 1 : 0}`;
        break;
      case 'bargain.helped':
        // Folded after the loop with the starts: a help carries the version of the change before
        // it, so its place among equal versions is not its own; `helped` orders them.
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
  foldBargains(s, ordered);
  if (s.teams.teams.size && !s.teams.cfg) s.anomalies.push('team buy settings unknown (no team.configured): no team can be opened or joined until they are set again');
  if (s.bargains.bargains.size && !s.bargains.cfg) s.anomalies.push('bargain settings unknown (no bargain.configured): no bargain can be started until they are set again');
  return s;
}

const minstd = 2_147_483_647;

/**
 * The bargains of an item from their events: each from its bargain.started (terms, seed,
 * starter), its helps in the order they were counted (`helped`), and the holds that bought it.
 * The record is the one the scripts keep (includes/bargain.lua): the generator's state is the
 * seed advanced once per help, the price is the start less every cut.
 */
function foldBargains(s: FoldedItem, ordered: readonly InventoryEvent[]): void {
  const b = s.bargains;
  const helps = new Map<string, Extract<InventoryEvent, { type: 'bargain.helped' }>[]>();
  for (const e of ordered) {
    if (e.type === 'bargain.started' && !b.bargains.has(e.bargain)) {
      b.bargains.set(e.bargain, { st: 'o', start: e.start, floor: e.floor, k: e.helpers, helped: 0, cur: e.start, ends: e.endsAt, rng: e.seed, order: '', starter: e.user, helpers: [], at: e.at });
      b.started++;
      const latest = b.latest.get(e.user);
      if (latest === undefined || b.bargains.get(latest)!.at <= e.at) b.latest.set(e.user, e.bargain);
    } else if (e.type === 'bargain.helped') {
      const list = helps.get(e.bargain) ?? [];
      list.push(e);
      helps.set(e.bargain, list);
    }
  }
  for (const [id, list] of helps) {
    const r = b.bargains.get(id);
    if (!r) {
      s.anomalies.push(`${id}: helps of a bargain that has no bargain.started`);
      continue;
    }
    for (const h of list.sort((x, y) => x.helped - y.helped)) {
      if (h.helped !== r.helped + 1) {
        s.anomalies.push(`${h.id}: help ${h.helped} after help ${r.helped}`);
        continue;
      }
      r.rng = (r.rng * 48271) % minstd;
      r.cur -= h.cut;
      r.helped = h.helped;
      r.helpers.push(h.user);
      b.helps++;
      if (r.cur !== h.price) s.anomalies.push(`${h.id}: price ${h.price} where the cuts leave ${r.cur}`);
    }
  }
  for (const e of ordered) {
    if (e.type !== 'order.held' || !e.bargain) continue;
    const r = b.bargains.get(e.bargain);
    if (!r) {
      s.anomalies.push(`${e.id}: bought bargain ${e.bargain}, which has no bargain.started`);
      continue;
    }
    if (r.st !== 'b') b.bought++;
    r.st = 'b';
    r.order = e.order;
  }
}
