import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError } from '../common/platform/errors.ts';
import type { FlashSale } from '../inventory/flash-sale.ts';
import type { GroupBuy } from '../inventory/group-buy.ts';
import type { Catalog } from '../orders/catalog.ts';
import type { CommandResult, ItemInfo } from '../common/contracts/protocol.ts';
import type { ActivityPublisher } from './activity.ts';
import type { ExecContext, HostCommands } from './commands.ts';
import type { RoomHub } from './room-hub.ts';

export interface HostCommandDeps {
  config: Pick<Config, 'holdSeconds'>;
  catalog: Catalog;
  flash: FlashSale;
  groups: GroupBuy;
  hub: RoomHub;
  activity: ActivityPublisher;
}

/**
 * Every host console command, by name: the table the command pipeline (commands.ts) runs.
 * An entry turns a validated command (its fields are `commandShapes` in
 * common/contracts/protocol.ts) into the delta appended to the room and the reply's data. The
 * pipeline has already authorized the caller (`room.command`, plus the entry's `action` when
 * it names a stricter one), checked the base version and taken the room's lock.
 *
 * Commands that touch inventory call its wrappers first, with an operation id derived from the
 * command's idempotency key, so a command retried after a crash between the inventory call and
 * the room append applies once there. How to add one: docs/host-commands.md.
 */
export function hostCommands(deps: HostCommandDeps): HostCommands {
  const { config, catalog, flash, groups, hub, activity } = deps;

  const opId = (x: ExecContext) => `cmd-${createHash('sha256').update(`${x.roomId} ${x.opId}`).digest('base64url').slice(0, 40)}`;
  const itemOf = (x: ExecContext, id: string, kind?: ItemInfo['kind']): ItemInfo => {
    const it = x.room.doc.items[id];
    if (!it) throw new LivesaleError('ITEM_NOT_FOUND', `room ${x.roomId} has no item ${id}`);
    if (kind && it.kind !== kind) throw new LivesaleError('WRONG_ITEM_KIND', `item ${id} is a ${it.kind === 'group' ? 'group buy' : 'flash-sale item'}`);
    return it;
  };
  /** The on-air activity event of an applied onAir command. */
  const onAirActivity = (x: ExecContext, itemId: string | null) => (r: CommandResult) =>
    activity.publish({ type: 'item.on_air', id: `onair:${x.roomId}:${r.version}`, room: x.roomId, at: Date.now(), item: itemId, by: x.principal.sub });

  return {
    // ---- the room document only

    onAir: {
      run: async (x, c) => {
        if (c.itemId !== null) itemOf(x, c.itemId);
        return { delta: { t: 'onAir', item: c.itemId }, after: onAirActivity(x, c.itemId) };
      },
    },

    list: {
      run: async (x, c) => {
        itemOf(x, c.itemId);
        const listing = [...x.room.doc.listing];
        if (listing.includes(c.itemId)) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is already listed`);
        listing.splice(Math.min(c.position ?? listing.length, listing.length), 0, c.itemId);
        return { delta: { t: 'listing', listing } };
      },
    },

    delist: {
      run: async (x, c) => {
        itemOf(x, c.itemId);
        if (!x.room.doc.listing.includes(c.itemId)) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is not listed`);
        if (x.room.doc.onAir === c.itemId) throw new LivesaleError('INVALID_ARGUMENT', `item ${c.itemId} is on air; put another item (or none) on air first`);
        return { delta: { t: 'listing', listing: x.room.doc.listing.filter((i) => i !== c.itemId) } };
      },
    },

    reorder: {
      run: async (x, c) => {
        const cur = x.room.doc.listing;
        const same = c.listing.length === cur.length && new Set(c.listing).size === c.listing.length && c.listing.every((i) => cur.includes(i));
        if (!same) throw new LivesaleError('INVALID_ARGUMENT', 'a reorder must list exactly the listed items, each once');
        return { delta: { t: 'listing', listing: [...c.listing] } };
      },
    },

    announce: {
      run: async (x, c) => ({
        delta: { t: 'announce', announcement: { id: `${x.now.toString(36)}-${randomBytes(3).toString('hex')}`, text: c.text, at: x.now } },
      }),
    },

    // ---- inventory first, then the room document

    addItem: {
      run: async (x, c) => {
        const holdSeconds = c.holdSeconds ?? config.holdSeconds;
        const showId = await catalog.showForNewItem(x.roomId, c.showId);
        const row = await catalog.createItem({
          roomId: x.roomId,
          showId,
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
        const item: ItemInfo = {
          id: row.id,
          kind: 'flash',
          title: c.title,
          price: c.price,
          total: c.stock,
          limit: c.perUserLimit,
          startsAt: c.startsAt,
          endsAt: c.endsAt,
          ...(showId === null ? {} : { showId }),
        };
        return {
          delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: stock?.available ?? c.stock, ver: stock?.ver ?? 1 } },
          data: { item },
        };
      },
    },

    setPrice: {
      run: async (x, c) => {
        const it = itemOf(x, c.itemId, 'flash');
        const r = await flash.setPrice(c.itemId, c.price, c.at === undefined ? {} : { at: c.at }, x.principal.sub, { opId: opId(x) });
        if (r.scheduled) {
          const item: ItemInfo = { ...it, price: r.price, scheduledPrice: { price: r.scheduled.price, at: r.scheduled.at } };
          return { delta: { t: 'item', item, listing: [...x.room.doc.listing] }, data: { price: r.price, scheduled: r.scheduled } };
        }
        return { delta: { t: 'price', item: c.itemId, price: r.price }, data: { price: r.price } };
      },
    },

    adjustStock: {
      run: async (x, c) => {
        const it = itemOf(x, c.itemId);
        const r = await flash.adjustStock(c.itemId, c.delta, x.principal.sub, { opId: opId(x) });
        hub.noteStock(x.roomId, c.itemId, r.available, r.ver);
        return {
          delta: { t: 'item', item: { ...it, total: r.total }, listing: [...x.room.doc.listing], stock: { available: r.available, ver: r.ver } },
          data: { total: r.total, available: r.available },
        };
      },
    },

    openSale: {
      run: async (x, c) => {
        itemOf(x, c.itemId);
        const r = await flash.setWindow(c.itemId, 'now', c.endsAt, x.principal.sub, { opId: opId(x) });
        return { delta: { t: 'sale', item: c.itemId, startsAt: r.startsAt, endsAt: r.endsAt }, data: { startsAt: r.startsAt, endsAt: r.endsAt, phase: r.phase } };
      },
    },

    closeSale: {
      run: async (x, c) => {
        itemOf(x, c.itemId);
        const r = await flash.setWindow(c.itemId, undefined, 'now', x.principal.sub, { opId: opId(x) });
        return { delta: { t: 'sale', item: c.itemId, startsAt: r.startsAt, endsAt: r.endsAt }, data: { startsAt: r.startsAt, endsAt: r.endsAt, phase: r.phase } };
      },
    },

    openGroup: {
      run: async (x, c) => {
        const holdSeconds = c.holdSeconds ?? config.holdSeconds;
        const startsAt = await groups.serverTime();
        if (!(c.endsAt > startsAt)) throw new LivesaleError('INVALID_ARGUMENT', 'endsAt must be in the future');
        const showId = await catalog.showForNewItem(x.roomId, c.showId);
        const row = await catalog.createItem({
          roomId: x.roomId,
          showId,
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
          ...(showId === null ? {} : { showId }),
        };
        return {
          delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: v?.available ?? c.stock, ver: v?.ver ?? 1 } },
          data: { item },
        };
      },
    },

    closeGroup: {
      run: async (x, c) => {
        itemOf(x, c.itemId, 'group');
        const closed = await groups.close(c.itemId, x.principal.sub, { opId: opId(x) });
        const settled = await groups.settle(c.itemId, x.principal.sub);
        hub.noteStock(x.roomId, c.itemId, settled.available, settled.ver);
        return {
          delta: { t: 'groupClosed', item: c.itemId, count: closed.count, finalPrice: closed.finalPrice, outcome: closed.outcome },
          data: { count: closed.count, finalPrice: closed.finalPrice, outcome: closed.outcome, refunds: settled.refunds, refundTotal: settled.refundTotal },
        };
      },
    },
  };
}
