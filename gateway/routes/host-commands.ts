import { createHash } from 'node:crypto';
import { LivesaleError } from '../../common/platform/errors.ts';
import { GroupBuy } from '../../inventory/group-buy.ts';
import { documentExecutors, type ExecContext, type Executors } from '../commands.ts';
import type { GatewayContext } from '../context.ts';
import type { ItemInfo } from '../../common/contracts/protocol.ts';

/**
 * The executors of every host command: the document-only ones (commands.ts) and the ones that
 * go through the inventory wrappers first (stock, prices, sale windows, group buys). Inventory
 * operations get an operation id derived from the command's idempotency key, so a command
 * retried after a crash between the inventory call and the room append applies once there.
 */
export function hostExecutors(ctx: GatewayContext): Executors {
  const { config, catalog, flash, redis, keys, scripts } = ctx;
  const groups = new GroupBuy({ redis, keys, scripts });

  const opId = (x: ExecContext) => `cmd-${createHash('sha256').update(`${x.roomId} ${x.opId}`).digest('base64url').slice(0, 40)}`;
  const itemOf = (x: ExecContext, id: string, kind?: ItemInfo['kind']): ItemInfo => {
    const it = x.room.doc.items[id];
    if (!it) throw new LivesaleError('ITEM_NOT_FOUND', `room ${x.roomId} has no item ${id}`);
    if (kind && it.kind !== kind) throw new LivesaleError('WRONG_ITEM_KIND', `item ${id} is a ${it.kind === 'group' ? 'group buy' : 'flash-sale item'}`);
    return it;
  };

  return {
    ...documentExecutors(ctx.activity),

    addItem: async (x, c) => {
      const holdSeconds = c.holdSeconds ?? config.holdSeconds;
      const row = await catalog.createItem({
        roomId: x.roomId,
        kind: 'flash',
        title: c.title,
        price: c.price,
        totalStock: c.stock,
        perUserLimit: c.perUserLimit,
        startsAt: c.startsAt,
        endsAt: c.endsAt,
        holdSeconds,
      });
      await flash.createItem({
        itemId: row.id,
        roomId: x.roomId,
        total: c.stock,
        price: c.price,
        perUserLimit: c.perUserLimit,
        startsAt: c.startsAt,
        endsAt: c.endsAt,
        holdMs: holdSeconds * 1000,
      });
      const stock = await flash.stock(row.id);
      const item: ItemInfo = { id: row.id, kind: 'flash', title: c.title, price: c.price, total: c.stock, limit: c.perUserLimit, startsAt: c.startsAt, endsAt: c.endsAt };
      return {
        delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: stock?.available ?? c.stock, ver: stock?.ver ?? 1 } },
        data: { item },
      };
    },

    setPrice: async (x, c) => {
      const it = itemOf(x, c.itemId, 'flash');
      const r = await flash.setPrice(c.itemId, c.price, c.at === undefined ? {} : { at: c.at }, x.principal.sub, { opId: opId(x) });
      if (r.scheduled) {
        const item: ItemInfo = { ...it, price: r.price, scheduledPrice: { price: r.scheduled.price, at: r.scheduled.at } };
        return { delta: { t: 'item', item, listing: [...x.room.doc.listing] }, data: { price: r.price, scheduled: r.scheduled } };
      }
      return { delta: { t: 'price', item: c.itemId, price: r.price }, data: { price: r.price } };
    },

    adjustStock: async (x, c) => {
      const it = itemOf(x, c.itemId);
      const r = await flash.adjustStock(c.itemId, c.delta, x.principal.sub, { opId: opId(x) });
      ctx.hub.noteStock(x.roomId, c.itemId, r.available, r.ver);
      return {
        delta: { t: 'item', item: { ...it, total: r.total }, listing: [...x.room.doc.listing], stock: { available: r.available, ver: r.ver } },
        data: { total: r.total, available: r.available },
      };
    },

    openSale: async (x, c) => {
      itemOf(x, c.itemId);
      const r = await flash.setWindow(c.itemId, 'now', c.endsAt, x.principal.sub, { opId: opId(x) });
      return { delta: { t: 'sale', item: c.itemId, startsAt: r.startsAt, endsAt: r.endsAt }, data: { startsAt: r.startsAt, endsAt: r.endsAt, phase: r.phase } };
    },

    closeSale: async (x, c) => {
      itemOf(x, c.itemId);
      const r = await flash.setWindow(c.itemId, undefined, 'now', x.principal.sub, { opId: opId(x) });
      return { delta: { t: 'sale', item: c.itemId, startsAt: r.startsAt, endsAt: r.endsAt }, data: { startsAt: r.startsAt, endsAt: r.endsAt, phase: r.phase } };
    },

    openGroup: async (x, c) => {
      const holdSeconds = c.holdSeconds ?? config.holdSeconds;
      const startsAt = await groups.serverTime();
      if (!(c.endsAt > startsAt)) throw new LivesaleError('INVALID_ARGUMENT', 'endsAt must be in the future');
      const row = await catalog.createItem({
        roomId: x.roomId,
        kind: 'group',
        title: c.title,
        price: c.basePrice,
        totalStock: c.stock,
        perUserLimit: c.perUserLimit,
        startsAt,
        endsAt: c.endsAt,
        holdSeconds,
        group: { tiers: c.tiers.map((t) => ({ threshold: t.threshold, price: t.price })), countBy: c.countBy ?? 'people', belowFirstTier: c.belowFirstTier === 'base_price' ? 'base' : 'fail' },
      });
      await groups.create({
        itemId: row.id,
        roomId: x.roomId,
        capacity: c.stock,
        basePrice: c.basePrice,
        tiers: c.tiers,
        countBy: c.countBy ?? 'people',
        belowFirstTier: c.belowFirstTier === 'base_price' ? 'base' : 'fail',
        perUserLimit: c.perUserLimit,
        startsAt,
        endsAt: c.endsAt,
        holdMs: holdSeconds * 1000,
      });
      const v = await groups.view(row.id);
      const item: ItemInfo = {
        id: row.id,
        kind: 'group',
        title: c.title,
        price: c.basePrice,
        total: c.stock,
        limit: c.perUserLimit,
        startsAt,
        endsAt: c.endsAt,
        tiers: c.tiers.map((t) => ({ threshold: t.threshold, price: t.price })),
      };
      return {
        delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: v?.available ?? c.stock, ver: v?.ver ?? 1 } },
        data: { item },
      };
    },

    closeGroup: async (x, c) => {
      itemOf(x, c.itemId, 'group');
      const closed = await groups.close(c.itemId, x.principal.sub, { opId: opId(x) });
      const settled = await groups.settle(c.itemId, x.principal.sub);
      ctx.hub.noteStock(x.roomId, c.itemId, settled.available, settled.ver);
      return {
        delta: { t: 'groupClosed', item: c.itemId, count: closed.count, finalPrice: closed.finalPrice, outcome: closed.outcome },
        data: { count: closed.count, finalPrice: closed.finalPrice, outcome: closed.outcome, refunds: settled.refunds, refundTotal: settled.refundTotal },
      };
    },
  };
}
