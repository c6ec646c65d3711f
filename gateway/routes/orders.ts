import { LivesaleError } from '../../common/platform/errors.ts';
import type { ReserveResult } from '../../inventory/flash-sale.ts';
import { GroupBuy, type JoinResult as InventoryJoinResult } from '../../inventory/group-buy.ts';
import { isRetired } from '../../inventory/retirement.ts';
import { requireRole, type Principal } from '../auth.ts';
import type { GatewayContext } from '../context.ts';
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

export function buyReply(r: ReserveResult): BuyResult {
  switch (r.outcome) {
    case 'held':
      return { outcome: 'held', orderId: r.orderId, qty: r.qty, unitPrice: r.unitPrice, amount: r.amount, deadline: r.deadline, available: r.available };
    case 'duplicate':
      return { outcome: 'duplicate', first: buyReply(r.first) };
    default: {
      const { outcome, code, message, ...rest } = r;
      return { outcome, code, message, ...rest };
    }
  }
}

export function joinReply(r: InventoryJoinResult): JoinResult {
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
export function registerOrderRoutes(ctx: GatewayContext): void {
  const { flash, hub, metrics } = ctx;
  const groups = new GroupBuy({ redis: ctx.redis, keys: ctx.keys, scripts: ctx.scripts });

  // Group progress per item, latest version wins, published once per tick.
  const pendingGroups = new Map<string, { roomId: string; itemId: string; p: GroupProgress }>();
  let groupTimer: NodeJS.Timeout | undefined;
  const publishGroup = (roomId: string, itemId: string, p: GroupProgress, tier?: number) => {
    if (tier !== undefined) {
      ctx.store.append(roomId, { t: 'group', item: itemId, ...p, tier }).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message, roomId }, 'tier crossing publish failed'));
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
        ctx.store.append(g.roomId, { t: 'group', item: g.itemId, ...g.p }).catch((err: unknown) => ctx.log.warn({ err: (err as Error).message, roomId: g.roomId }, 'group progress publish failed'));
      }
    }, ctx.config.stockTickMs);
    groupTimer.unref?.();
  };

  async function itemIn(p: Principal, roomId: string, itemId: string): Promise<void> {
    requireRole(p, 'shopper');
    const room = await ctx.roomFor(roomId);
    if (!room.view.doc.items[itemId]) throw new LivesaleError('ITEM_NOT_FOUND', `room ${roomId} has no item ${itemId}`);
  }

  async function timed<T>(command: string, itemId: string, run: () => Promise<T>): Promise<T> {
    const end = metrics.commandLatency.startTimer({ command });
    try {
      return await run();
    } catch (err) {
      // A retired item whose keys have expired: its sale is over (ENDED), not temporarily unavailable.
      if (err instanceof LivesaleError && err.code === 'ITEM_UNAVAILABLE' && (await isRetired(ctx.db, itemId).catch(() => false))) {
        throw new LivesaleError('ENDED', undefined, { retired: true });
      }
      throw err;
    } finally {
      end();
    }
  }

  async function buy(p: Principal, roomId: string, itemId: string, qty: number, idempotencyKey: string): Promise<BuyResult> {
    await itemIn(p, roomId, itemId);
    return timed('buy', itemId, async () => {
      try {
        const r = await flash.reserve(itemId, p.sub, qty, idempotencyKey);
        metrics.reservations.inc({ outcome: r.outcome });
        if (r.outcome === 'held') hub.noteStock(roomId, itemId, r.available, r.ver);
        return buyReply(r);
      } catch (err) {
        metrics.reservations.inc({ outcome: err instanceof LivesaleError ? err.code : 'error' });
        throw err;
      }
    });
  }

  async function join(p: Principal, roomId: string, itemId: string, qty: number, idempotencyKey: string): Promise<JoinResult> {
    await itemIn(p, roomId, itemId);
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

  async function pay(p: Principal, roomId: string, itemId: string, orderId: string, version: number | undefined) {
    await itemIn(p, roomId, itemId);
    return timed('pay', itemId, async () => {
      try {
        const r = await ctx.payments.pay(itemId, orderId, p.sub, version);
        hub.noteStock(roomId, itemId, r.available, r.ver);
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

  async function cancel(p: Principal, roomId: string, itemId: string, orderId: string) {
    await itemIn(p, roomId, itemId);
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

  async function subscribe(p: Principal, roomId: string, itemId: string) {
    await itemIn(p, roomId, itemId);
    return timed('subscribe', itemId, () => flash.subscribe(itemId, p.sub));
  }

  const refusal = (outcome: string) => (outcome === 'held' ? 201 : outcome === 'duplicate' ? 200 : 409);

  ctx.route('post', '/rooms/:roomId/items/:itemId/buy', 'items.buy', async (r) => {
    const p = await ctx.principalOf(r);
    const b = ctx.parseBody(buyBody, r.body);
    const result = await buy(p, r.params[0]!, r.params[1]!, b.qty, r.headers['idempotency-key'] ?? b.idempotencyKey);
    return { status: refusal(result.outcome), body: result };
  });

  ctx.route('post', '/rooms/:roomId/items/:itemId/join', 'items.join', async (r) => {
    const p = await ctx.principalOf(r);
    const b = ctx.parseBody(joinBody, r.body);
    const result = await join(p, r.params[0]!, r.params[1]!, b.qty, r.headers['idempotency-key'] ?? b.idempotencyKey);
    return { status: refusal(result.outcome), body: result };
  });

  ctx.route('post', '/rooms/:roomId/items/:itemId/pay', 'items.pay', async (r) => {
    const p = await ctx.principalOf(r);
    const b = ctx.parseBody(payBody, r.body);
    return { status: 200, body: await pay(p, r.params[0]!, r.params[1]!, b.orderId, b.version) };
  });

  ctx.route('post', '/rooms/:roomId/items/:itemId/cancel', 'items.cancel', async (r) => {
    const p = await ctx.principalOf(r);
    const b = ctx.parseBody(cancelBody, r.body);
    return { status: 200, body: await cancel(p, r.params[0]!, r.params[1]!, b.orderId) };
  });

  ctx.route('post', '/rooms/:roomId/items/:itemId/subscribe', 'items.subscribe', async (r) => {
    const p = await ctx.principalOf(r);
    if (r.body.length) ctx.parseBody(subscribeBody, r.body);
    return { status: 200, body: await subscribe(p, r.params[0]!, r.params[1]!) };
  });

  const reqIdOf = (msg: { reqId?: string | undefined }) => (msg.reqId ? { reqId: msg.reqId } : {});

  ctx.wsMessage('buy', {
    schema: buyMessage,
    roles: ['shopper'],
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      const result = await buy(ud.principal, ud.roomId, msg.itemId, msg.qty, msg.idempotencyKey);
      reply({ type: 'buy.result', ...reqIdOf(msg), result });
    },
  });

  ctx.wsMessage('join', {
    schema: joinMessage,
    roles: ['shopper'],
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'join', result: await join(ud.principal, ud.roomId, msg.itemId, msg.qty, msg.idempotencyKey) });
    },
  });

  ctx.wsMessage('pay', {
    schema: payMessage,
    roles: ['shopper'],
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'pay', result: await pay(ud.principal, ud.roomId, msg.itemId, msg.orderId, msg.version) });
    },
  });

  ctx.wsMessage('cancel', {
    schema: cancelMessage,
    roles: ['shopper'],
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'cancel', result: await cancel(ud.principal, ud.roomId, msg.itemId, msg.orderId) });
    },
  });

  ctx.wsMessage('subscribe', {
    schema: subscribeMessage,
    roles: ['shopper'],
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      reply({ type: 'order.result', ...reqIdOf(msg), command: 'subscribe', result: await subscribe(ud.principal, ud.roomId, msg.itemId) });
    },
  });
}
