import type { Kysely } from 'kysely';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Logger } from '../../common/platform/logger.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { myOrdersQuery, ordersMessage, settlementQuery, type MyOrder, type MyOrdersReply } from '../../common/contracts/protocol.ts';
import type { FlashSale } from '../../inventory/flash-sale.ts';
import type { HoldView } from '../../inventory/item-ops.ts';
import type { PriceStep } from '../../common/contracts/pricing.ts';
import { groupSettlement } from '../../orders/group-settlement.ts';
import { knownOrders, listMyOrders, liveOrder, liveScope, type MyOrdersFilter, type ScopeItem } from '../../orders/my-orders.ts';
import type { Catalog } from '../../orders/catalog.ts';
import { parseQuery } from '../http.ts';
import type { Router } from '../router.ts';

/**
 * A shopper's own orders (GET /me/orders and the `orders` message: the subject is always the
 * token's user) and a tiered group's settlement list for the room's host and ops.
 *
 * The listing reads the ledger, which lags the inventory by the pipeline. So that a hold just
 * made shows at once, the first page also asks the inventory, for each item in the listing's
 * scope, how many units the user holds or bought there; where that is more than the ledger
 * counts, the user's holds of that item the ledger does not know yet are added (`source: live`).
 * An item with very many buyers is not looked up (ItemOps.userHolds): its holds show once the
 * ledger has them.
 */
export interface MyOrderRouteDeps {
  db: Kysely<Database>;
  /** The inventory (any item kind): the user's live holds. */
  flash: FlashSale;
  catalog: Catalog;
  log: Logger;
}

export function registerMyOrderRoutes(router: Router, deps: MyOrderRouteDeps): void {
  const { db, flash, catalog, log } = deps;

  /** The user's live holds on the items of the scope that the ledger has not recorded yet. */
  async function freshHolds(userId: string, f: MyOrdersFilter): Promise<MyOrder[]> {
    const scope = await liveScope(db, userId, f);
    const counts = await Promise.all(scope.map((s) => flash.userCount(s.itemId, userId)));
    const behind = scope.filter((s, i) => counts[i]! > s.ledgerQty);
    if (!behind.length) return [];
    const found: { item: ScopeItem; holds: HoldView[]; holdMs: number }[] = await Promise.all(
      behind.map(async (item) => {
        const [holds, view] = await Promise.all([flash.userHolds(item.itemId, userId), flash.view(item.itemId)]);
        return { item, holds: holds ?? [], holdMs: view?.holdMs ?? 0 };
      }),
    );
    const known = await knownOrders(
      db,
      found.flatMap((x) => x.holds.map((h) => h.orderId)),
    );
    const out: MyOrder[] = [];
    for (const { item, holds, holdMs } of found) {
      const listed = holds.filter((h) => !known.has(h.orderId) && (h.state === 'held' || h.state === 'paid') && (f.state === undefined || f.state === h.state));
      const prices = item.kind === 'flash' ? await flash.holdBreakdowns(item.itemId, listed) : new Map<string, PriceStep[]>();
      for (const h of listed) {
        const breakdown = prices.get(h.orderId);
        out.push(liveOrder(item, { orderId: h.orderId, state: h.state, qty: h.qty, unitPrice: h.unitPrice, deadline: h.deadline, heldAt: Math.max(0, h.deadline - holdMs), ...(breakdown ? { breakdown } : {}) }));
      }
    }
    return out;
  }

  async function myOrders(userId: string, f: MyOrdersFilter): Promise<MyOrdersReply> {
    if (f.cursor !== undefined) return listMyOrders(db, userId, f);
    // The first page: holds newer than anything the ledger has, read before the ledger's page so
    // that an order the writer records in between is in one of them (in both: the ledger's wins).
    // A failure to read them leaves the ledger's listing as it is (they appear once it has them).
    const live = await freshHolds(userId, f).catch((err: unknown) => {
      log.warn({ err: (err as Error).message }, 'live holds not read for an orders listing');
      return [];
    });
    const page = await listMyOrders(db, userId, f);
    const listed = new Set(page.orders.map((o) => o.orderId));
    const fresh = live.filter((o) => !listed.has(o.orderId));
    if (!fresh.length) return page;
    const orders = [...fresh, ...page.orders].sort((a, b) => b.heldAt - a.heldAt || (a.orderId < b.orderId ? 1 : -1));
    return { ...page, orders };
  }

  router.route('get', '/me/orders', 'me.orders', 'order.list.own', async (r, call) => {
    call.authorize();
    const q = parseQuery(myOrdersQuery, r.query);
    return { status: 200, body: await myOrders(call.principal.sub, q) };
  });

  router.wsMessage('orders', {
    schema: ordersMessage,
    action: 'order.list.own',
    handler: async (_ws, msg, reply, call) => {
      call.authorize();
      const { type: _t, reqId, ...f } = msg;
      reply({ type: 'orders.result', ...(reqId ? { reqId } : {}), result: await myOrders(call.principal.sub, f) });
    },
  });

  router.route('get', '/rooms/:roomId/items/:itemId/settlement', 'items.settlement', 'group.settlement.read', async (r, call) => {
    // The role gate first: a shopper learns nothing about the room.
    call.authorize();
    const q = parseQuery(settlementQuery, r.query);
    const roomId = r.params[0]!;
    const room = await catalog.room(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 40))}`);
    call.authorize({ id: room.id, hostId: room.hostId });
    return { status: 200, body: await groupSettlement(db, room.id, r.params[1]!, q) };
  });
}
