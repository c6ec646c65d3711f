import type { Cluster, Redis } from 'ioredis';
import type { Keys } from '../../common/contracts/keys.ts';
import { memberTier } from '../../orders/members.ts';
import { memberStage } from '../../orders/segments.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import type { ReserveResult } from '../../inventory/flash-sale.ts';
import { isRetired } from '../../inventory/retirement.ts';
import type { Logger } from '../../common/platform/logger.ts';
import type { FlashSale } from '../../inventory/flash-sale.ts';
import type { GroupBuy, JoinResult as InventoryJoinResult } from '../../inventory/group-buy.ts';
import type { Payments } from '../../inventory/payments.ts';
import type { TeamBuy } from '../../inventory/team-buy.ts';
import { publishTeam } from './teams.ts';
import type { Principal } from '../auth.ts';
import { parseBody } from '../http.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RoomHub } from '../room-hub.ts';
import type { RoomStore } from '../room-store.ts';
import type { Call, Router } from '../router.ts';
import {
  buyBody,
  buyMessage,
  cancelBody,
  cancelMessage,
  joinBody,
  joinMessage,
  payBody,
  payMessage,
  subscribeBody,
  subscribeMessage,
  type BuyResult,
  type GroupProgress,
  type JoinResult,
} from '../../common/contracts/protocol.ts';

function buyReply(r: ReserveResult): BuyResult {
  switch (r.outcome) {
    case 'held':
      return { outcome: 'held', orderId: r.orderId, qty: r.qty, unitPrice: r.unitPrice, amount: r.amount, deadline: r.deadline, available: r.available, breakdown: r.breakdown };
    case 'duplicate':
      return { outcome: 'duplicate', first: buyReply(r.first) };
    default: {
      const { outcome, code, message, ...rest } = r;
      return { outcome, code, message, ...rest };
    }
  }
}

function joinReply(r: InventoryJoinResult): JoinResult {
  switch (r.outcome) {
    case 'held':
      return {
        outcome: 'held',
        orderId: r.orderId,
        qty: r.qty,
        unitPrice: r.unitPrice,
        amount: r.amount,
        deadline: r.deadline,
        available: r.available,
        count: r.count,
        tier: r.tier,
        nextThreshold: r.nextThreshold,
        crossed: r.crossed,
        version: r.version,
      };
    case 'duplicate':
      return { outcome: 'duplicate', first: joinReply(r.first) as Exclude<JoinResult, { outcome: 'duplicate' }> };
    default: {
      const { outcome, code, message, ...rest } = r;
      return { outcome, code, message, ...rest };
    }
  }
}

/**
 * Shopper commands, over HTTP and WebSocket: buy (reserve), pay (answered only once the payment
 * is durable in Kafka), cancel an unpaid hold, join a tiered group, subscribe to a pre-heat
 * reminder. What viewers must see goes to the room: stock levels (coalesced by the hub), group
 * progress (coalesced here; a tier crossing at once, as an event).
 */
export interface OrderRouteDeps {
  /** How often group progress is published (at most). */
  stockTickMs: number;
  log: Logger;
  flash: FlashSale;
  groups: GroupBuy;
  /** Payments, answered only once durable in Kafka. */
  payments: Payments;
  /** Team buys: a paid seat may complete its team. */
  teams: TeamBuy;
  hub: RoomHub;
  store: RoomStore;
  metrics: GatewayMetrics;
  /** The ledger: whether an item whose Redis keys are gone retired. */
  db: Kysely<Database>;
  /** Member tiers' serving copy (orders/members.ts). */
  redis: Redis | Cluster;
  keys: Keys;
}

export function registerOrderRoutes(router: Router, deps: OrderRouteDeps): void {
  const { stockTickMs, log, flash, groups, payments, teams, hub, metrics, db, redis, keys } = deps;

  // Group progress per item, latest version wins, published once per tick.
  const pendingGroups = new Map<string, { roomId: string; itemId: string; p: GroupProgress }>();
  let groupTimer: NodeJS.Timeout | undefined;
  const publishGroup = (roomId: string, itemId: string, p: GroupProgress, tier?: number) => {
    if (tier !== undefined) {
      // An event: retried until it is in the room's log (or the gateway closes).
      hub.publish(roomId, { t: 'group', item: itemId, ...p, tier }).catch((err: unknown) => log.warn({ err: (err as Error).message, roomId }, 'tier crossing publish given up'));
      return;
    }
    const key = `${roomId}/${itemId}`;
    const cur = pendingGroups.get(key);
    if (!cur || p.ver > cur.p.ver) pendingGroups.set(key, { roomId, itemId, p });
    if (groupTimer) return;
    groupTimer = setTimeout(() => {
      groupTimer = undefined;
      const batch = [...pendingGroups.values()];
      pendingGroups.clear();
      for (const g of batch) {
        hub.publish(g.roomId, { t: 'group', item: g.itemId, ...g.p }).catch((err: unknown) => log.warn({ err: (err as Error).message, roomId: g.roomId }, 'group progress publish given up'));
      }
    }, stockTickMs);
    groupTimer.unref?.();
  };

  /** Authorizes the call (a shopper's), then checks the item is in the room. */
  async function itemIn(call: Call, roomId: string, itemId: string): Promise<Principal> {
    call.authorize();
    const room = await hub.require(roomId);
    if (!room.view.doc.items[itemId]) throw new LivesaleError('ITEM_NOT_FOUND', `room ${roomId} has no item ${itemId}`);
    return call.principal;
  }

  async function timed<T>(command: string, itemId: string, run: () => Promise<T>): Promise<T> {
    const end = metrics.commandLatency.startTimer({ command });
    try {
      return await run();
    } catch (err) {
      // A retired item whose keys have expired: its sale is over (ENDED), not temporarily unavailable.
      if (err instanceof LivesaleError && err.code === 'ITEM_UNAVAILABLE' && (await isRetired(db, itemId).catch(() => false))) {
        throw new LivesaleError('ENDED', undefined, { retired: true });
      }
      throw err;
    } finally {
      end();
    }
  }

  async function buy(call: Call, roomId: string, itemId: string, qty: number, idempotencyKey: string, coupon?: string): Promise<BuyResult> {
    const p = await itemIn(call, roomId, itemId);
    return timed('buy', itemId, async () => {
      try {
        // The serving copies (no Postgres on a buy); a coupon's audience checks both in the script.
        const [tier, stage] = await Promise.all([memberTier({ db, redis, keys }, p.sub), coupon === undefined ? undefined : memberStage({ redis, keys }, p.sub)]);
        const r = await flash.reserve(itemId, p.sub, qty, idempotencyKey, { tier, stage, coupon });
        metrics.reservations.inc({ outcome: r.outcome });
        if (r.outcome === 'held') hub.noteStock(roomId, itemId, r.available, r.ver);
        return buyReply(r);
      } catch (err) {
        metrics.reservations.inc({ outcome: err instanceof LivesaleError ? err.code : 'error' });
        throw err;
      }
    });
  }

  async function join(call: Call, roomId: string, itemId: string, qty: number, idempotencyKey: string): Promise<JoinResult> {
    const p = await itemIn(call, roomId, itemId);
    return timed('join', itemId, async () => {
      const r = await groups.join(itemId, p.sub, qty, idempotencyKey);
      metrics.reservations.inc({ outcome: `join_${r.outcome}` });
      if (r.outcome === 'held') {
        hub.noteStock(roomId, itemId, r.available, r.ver);
        publishGroup(roomId, itemId, { count: r.count, price: r.unitPrice, next: r.nextThreshold, ver: r.ver }, r.crossed ? r.tier : undefined);
      }
      return joinReply(r);
    });
  }

  async function pay(call: Call, roomId: string, itemId: string, orderId: string, version: number | undefined) {
    const p = await itemIn(call, roomId, itemId);
    return timed('pay', itemId, async () => {
      try {
        const r = await payments.pay(itemId, orderId, p.sub, version);
        hub.noteStock(roomId, itemId, r.available, r.ver);
        // The last seat of a team paid: the team forms now (the sweeper settles it at its end otherwise).
        const team = await teams.afterPaid(itemId, orderId).catch((err: unknown) => void log.warn({ err: (err as Error).message, itemId, orderId }, 'settling the team of a paid seat failed'));
        if (team) void publishTeam(teams, hub, log, roomId, itemId, team.teamId);
        return { outcome: 'paid' as const, orderId: r.orderId, qty: r.qty, amount: r.amount, already: r.already };
      } catch (err) {
        // An overdue hold was expired by this very payment: its stock is back.
        if (err instanceof LivesaleError && err.code === 'HOLD_EXPIRED' && err.details?.ver !== undefined) {
          hub.noteStock(roomId, itemId, Number(err.details.available), Number(err.details.ver));
        }
        throw err;
      }
    });
  }

  async function cancel(call: Call, roomId: string, itemId: string, orderId: string) {
    const p = await itemIn(call, roomId, itemId);
    return timed('cancel', itemId, async () => {
      const r = await flash.cancel(itemId, orderId, { userId: p.sub });
      hub.noteStock(roomId, itemId, r.available, r.ver);
      if (r.group && !r.already) {
        const v = await groups.view(itemId);
        if (v?.group) publishGroup(roomId, itemId, { count: v.group.count, price: v.group.priceNow, next: v.group.nextThreshold, ver: v.ver });
      }
      return { outcome: r.outcome, orderId: r.orderId, refund: r.refund, already: r.already };
    });
  }

  async function subscribe(call: Call, roomId: string, itemId: string) {
    const p = await itemIn(call, roomId, itemId);
    return timed('subscribe', itemId, () => flash.subscribe(itemId, p.sub));
  }

  const refusal = (outcome: string) => (outcome === 'held' ? 201 : outcome === 'duplicate' ? 200 : 409);

  router.route('post', '/rooms/:roomId/items/:itemId/buy', 'items.buy', 'order.buy', async (r, call) => {
    const b = parseBody(buyBody, r.body);
    const result = await buy(call, r.params[0]!, r.params[1]!, b.qty, r.headers['idempotency-key'] ?? b.idempotencyKey, b.coupon);
    return { status: refusal(result.outcome), body: result };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/join', 'items.join', 'group.join', async (r, call) => {
    const b = parseBody(joinBody, r.body);
    const result = await join(call, r.params[0]!, r.params[1]!, b.qty, r.headers['idempotency-key'] ?? b.idempotencyKey);
    return { status: refusal(result.outcome), body: result };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/pay', 'items.pay', 'order.pay', async (r, call) => {
    const b = parseBody(payBody, r.body);
    return { status: 200, body: await pay(call, r.params[0]!, r.params[1]!, b.orderId, b.version) };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/cancel', 'items.cancel', 'order.cancel', async (r, call) => {
    const b = parseBody(cancelBody, r.body);
    return { status: 200, body: await cancel(call, r.params[0]!, r.params[1]!, b.orderId) };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/subscribe', 'items.subscribe', 'sale.subscribe', async (r, call) => {
    if (r.body.length) parseBody(subscribeBody, r.body);
    return { status: 200, body: await subscribe(call, r.params[0]!, r.params[1]!) };
  });

  const reqIdOf = (msg: { reqId?: string | undefined }) => (msg.reqId ? { reqId: msg.reqId } : {});

  router.wsMessage('buy', {
    schema: buyMessage,
    action: 'order.buy',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      const result = await buy(call, ud.roomId, msg.itemId, msg.qty, msg.idempotencyKey, msg.coupon);
      reply({ type: 'buy.result', ...reqIdOf(msg), result });
    },
  });

  router.wsMessage('join', {
    schema: joinMessage,
    action: 'group.join',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'join', result: await join(call, ud.roomId, msg.itemId, msg.qty, msg.idempotencyKey) });
    },
  });

  router.wsMessage('pay', {
    schema: payMessage,
    action: 'order.pay',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'pay', result: await pay(call, ud.roomId, msg.itemId, msg.orderId, msg.version) });
    },
  });

  router.wsMessage('cancel', {
    schema: cancelMessage,
    action: 'order.cancel',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'cancel', result: await cancel(call, ud.roomId, msg.itemId, msg.orderId) });
    },
  });

  router.wsMessage('subscribe', {
    schema: subscribeMessage,
    action: 'sale.subscribe',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'subscribe', result: await subscribe(call, ud.roomId, msg.itemId) });
    },
  });
}
