import { LivesaleError } from '../common/platform/errors.ts';
import type { Principal, Role } from './auth.ts';

/**
 * Who may do what: one policy per action, the only place the gateway decides it. Every HTTP
 * route and every WebSocket message type names its action when it is registered (router.ts);
 * the server authenticates the caller of a non-public action before the handler runs, and the
 * handler calls `authorize` where it knows the resource (the room, the show) the action is on.
 * A handler that answers without having authorized is a defect the server refuses to hide.
 *
 * A policy is called with the resource once it is loaded, or without one for the role gate
 * that comes before loading it (so a shopper learns nothing about rooms it may not touch).
 */
export interface Policy<R = never> {
  /** Who may, in words: the protocol documentation prints it. */
  readonly who: string;
  /** No token is needed (nor read). */
  readonly public?: boolean;
  /** Throws FORBIDDEN when `p` may not; `resource` is absent for the role gate. */
  readonly check: (p: Principal, resource: R | undefined) => void;
}

/** What an action's policy checks ownership against. */
export interface RoomRef {
  readonly id: string;
  readonly hostId: string;
}
export interface ShowRef {
  readonly hostId: string;
}

const forbidden = (message: string) => new LivesaleError('FORBIDDEN', message);

const anyone: Policy = { who: 'anyone', public: true, check: () => {} };

/** Any authenticated principal (a WebSocket connection always has one). */
const signedIn: Policy = { who: 'any role', check: () => {} };

function only(role: Role, who: string = role): Policy {
  return {
    who,
    check: (p) => {
      if (p.role !== role) throw forbidden(`this needs a ${role} token`);
    },
  };
}

/** Ops, or the host the resource belongs to (a host token for another room or show is refused). */
function opsOrOwner<R extends { hostId: string }>(who: string, notHost: string, notOwner: (r: R) => string): Policy<R> {
  return {
    who,
    check: (p, r) => {
      if (p.role === 'ops') return;
      if (p.role !== 'host') throw forbidden(notHost);
      if (r && r.hostId !== p.sub) throw forbidden(notOwner(r));
    },
  };
}

/** Shows are created by the room's own host (ops run no shows). */
function ownHostOnly(): Policy<RoomRef> {
  return {
    who: "the room's host",
    check: (p, room) => {
      if (p.role !== 'host') throw forbidden('this needs a host token');
      if (room && room.hostId !== p.sub) throw forbidden('this host token is not for this room');
    },
  };
}

const roomHostOrOps = opsOrOwner<RoomRef>("the room's host, ops", 'host commands need a host or ops token', (r) => `this host token is not for room ${r.id}`);
const showFigures = opsOrOwner<ShowRef>("ops, the show's host", 'show figures are for ops and the show host', () => 'show figures are for ops and the show host');

/** Every action, with its policy. A new route or message type adds its action here first. */
export const policies = {
  // Public: health, metrics, pages, the room snapshot, the metric dictionary, demo tokens.
  'system.read': anyone,
  'auth.demo': anyone,
  'web.read': anyone,
  'room.read': anyone,
  'stats.dictionary.read': anyone,

  // Rooms and their host console.
  'room.create': only('host'),
  /** Host console commands, over HTTP and WebSocket (the command pipeline audits refusals). */
  'room.command': roomHostOrOps,
  'room.audit.read': roomHostOrOps,
  'room.stats.read': opsOrOwner<RoomRef>("ops, the room's host", 'stats are for ops and the room host', () => 'stats are for ops and the room host'),

  // Shows and their figures.
  'show.create': ownHostOnly(),
  'show.read': showFigures,
  'show.report': showFigures,
  /** Starting and ending a show (planned → live → ended). */
  'show.run': opsOrOwner<RoomRef>("the room's host, ops", 'shows are started and ended by ops or the room host', (r) => `this host token is not for room ${r.id}`),

  // Shopper commands, over HTTP and WebSocket.
  'order.buy': only('shopper'),
  'group.join': only('shopper'),
  'order.pay': only('shopper', 'shopper (the holder)'),
  'order.cancel': only('shopper', 'shopper (the holder)'),
  'sale.subscribe': only('shopper'),
  /** Opening or joining a team of a team buy. */
  'team.join': only('shopper'),
  /** Bargains: a shopper starts one, other shoppers help, the starter buys. */
  'bargain.start': only('shopper'),
  'bargain.help': only('shopper'),
  'bargain.buy': only('shopper', 'shopper (the starter)'),
  /** Offering a flash-sale item for bargains: the room's host and ops. */
  'bargain.configure': opsOrOwner<RoomRef>("the room's host, ops", 'bargains are set by ops and the room host', (r) => `this host token is not for room ${r.id}`),
  /** Offering a flash-sale item in teams: the room's host and ops. */
  'team.configure': opsOrOwner<RoomRef>("the room's host, ops", 'team buys are set by ops and the room host', (r) => `this host token is not for room ${r.id}`),
  /** A lottery entry, over HTTP and WebSocket (eligibility is the lottery's own rule). */
  'lottery.enter': only('shopper'),

  // Lotteries: public, so anyone can verify a draw.
  'lottery.read': anyone,
  /** The caller's own orders: the subject is the token's user, there is no user to name. */
  'order.list.own': only('shopper', 'shopper (their own orders only)'),
  /** A tiered group's settlement per order: every shopper's amounts, so the room's host and ops only. */
  'group.settlement.read': opsOrOwner<RoomRef>("the room's host, ops", 'settlement lists are for ops and the room host', (r) => `this host token is not for room ${r.id}`),

  // Referral commissions (docs/referrals.md).
  /** Opening a share link: the caller is the referred shopper (self-referral is refused). */
  'referral.click': only('shopper'),
  /** The caller's own commissions as a referrer: the subject is the token's user. */
  'referral.commissions.own': only('shopper', 'shopper (their own commissions only)'),
  /** An item's commission rate. */
  'referral.rate.set': roomHostOrOps,
  // Marketing tools (common/contracts/pricing.ts).
  /** The merchant assigns a shopper's member tier (tiers hold across rooms: hosts and ops). */
  'member.tier.set': {
    who: 'host, ops',
    check: (p) => {
      if (p.role !== 'host' && p.role !== 'ops') throw forbidden('member tiers are set by a host or ops');
    },
  } satisfies Policy,
  /** Recomputing every shopper's lifecycle stage from the ledger (a full scan of paid orders): ops only. */
  'segment.refresh': only('ops'),
  /** An item's member-day rule and coupon campaigns. */
  'item.promotion.set': opsOrOwner<RoomRef>("the room's host, ops", 'promotions are set by a host or ops', (r) => `this host token is not for room ${r.id}`),

  // The room's WebSocket.
  'room.watch': signedIn,
  'ws.ping': signedIn,
  /** A token refresh: the resource is the new token's principal, which must be the same user and role. */
  'ws.auth': {
    who: 'any role',
    check: (p, next) => {
      if (next && (next.sub !== p.sub || next.role !== p.role)) throw forbidden('a refreshed token must be for the same user and role');
    },
  } satisfies Policy<Principal>,
  'ws.product.click': only('shopper'),
  'ws.follow': only('shopper'),
} as const satisfies Record<string, Policy<never> | Policy<RoomRef> | Policy<ShowRef> | Policy<Principal>>;

export type Action = keyof typeof policies;
export type ResourceOf<A extends Action> = (typeof policies)[A] extends Policy<infer R> ? R : never;

export const actions = Object.keys(policies) as Action[];

export function isAction(a: string): a is Action {
  return Object.hasOwn(policies, a);
}

export function isPublic(a: Action): boolean {
  return (policies[a] as Policy<unknown>).public === true;
}

/** Throws FORBIDDEN unless `p` may do `action` (on `resource`, when given). */
export function authorize<A extends Action>(action: A, p: Principal, resource?: ResourceOf<A>): void {
  (policies[action] as Policy<unknown>).check(p, resource);
}

/** Whether `p` may do `action`: for choices that are not refusals (who gets live figures). */
export function allows<A extends Action>(action: A, p: Principal, resource?: ResourceOf<A>): boolean {
  try {
    authorize(action, p, resource);
    return true;
  } catch (err) {
    if (err instanceof LivesaleError && err.code === 'FORBIDDEN') return false;
    throw err;
  }
}
