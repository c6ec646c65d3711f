import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError } from '../common/platform/errors.ts';
import { faultAt } from '../common/platform/faults.ts';
import type { FlashSale } from '../inventory/flash-sale.ts';
import type { GroupBuy } from '../inventory/group-buy.ts';
import type { Bargains } from '../inventory/bargain.ts';
import type { Promotions } from '../inventory/promotions.ts';
import type { TeamBuy } from '../inventory/team-buy.ts';
import { setCommissionRate } from '../orders/referrals.ts';
import type { Kysely } from 'kysely';
import type { Catalog, CreateKey } from '../orders/catalog.ts';
import { appliedStep, applyStep, decideNext, decideSkip, decideSwap, requireLiveShow, sheetRows, type LiveShow, type RunStep, type SheetRow } from '../orders/run-of-show.ts';
import { prizeOrderId, type Lotteries } from '../orders/lottery.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { maxAnnouncements, type CommandName, type CommandOf, type CommandResult, type Delta, type ItemInfo, type ItemOffers } from '../common/contracts/protocol.ts';
import type { ActivityPublisher } from './activity.ts';
import type { ExecContext, HostCommands } from './commands.ts';
import type { RoomHub } from './room-hub.ts';
import type { Reminders } from './reminders.ts';
import type { RunOfShowPush } from './run-of-show.ts';

export interface HostCommandDeps {
  config: Pick<Config, 'holdSeconds' | 'faultPoint'>;
  db: Kysely<Database>;
  catalog: Catalog;
  flash: FlashSale;
  groups: GroupBuy;
  hub: RoomHub;
  activity: ActivityPublisher;
  runOfShow: RunOfShowPush;
  lotteries: Lotteries;
  teams: TeamBuy;
  bargains: Bargains;
  promotions: Promotions;
  reminders: Reminders;
}

type CouponOffer = NonNullable<ItemOffers['coupons']>[number];
/** Most coupon campaigns an item shows (itemOffersSchema). */
const maxCoupons = 50;

/** A coupon campaign's terms as viewers see them: the command's fields less its budget (counts come from the campaign's read). */
function couponOffer(c: CommandOf<'addCoupon'>): CouponOffer {
  return {
    id: c.id,
    kind: c.kind,
    amount: c.amount,
    percent: c.percent,
    minSpend: c.minSpend,
    perUser: c.perUser,
    startsAt: c.startsAt,
    endsAt: c.endsAt,
    ...(c.audience ? { audience: { ...(c.audience.tiers ? { tiers: [...c.audience.tiers] } : {}), ...(c.audience.stages ? { stages: [...c.audience.stages] } : {}) } } : {}),
  };
}

/** JSON with object keys sorted: two offers compare equal whatever their key order. */
function sameTerms(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([p], [q]) => (p < q ? -1 : 1)).map(([k, x]) => [k, canon(x)])) : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/**
 * The operation id a command passes to the inventory and the run sheet: derived from the room
 * and the command's actor and idempotency key, so a retried command applies once there.
 */
export function commandOpId(roomId: string, commandId: string): string {
  return `cmd-${createHash('sha256').update(`${roomId} ${commandId}`).digest('base64url').slice(0, 40)}`;
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
 *
 * The creates (addItem, openGroup) apply once even when the process dies between any two of
 * their steps: the catalog row is made once per idempotency key (its key row in the same
 * transaction), the inventory is created from that row (a second create of the same item
 * changes nothing), and the room append is the command's own, keyed by the same key. A retry
 * with the key resumes at the step that is missing and names the same item.
 */
export function hostCommands(deps: HostCommandDeps): HostCommands {
  const { config, db, catalog, flash, groups, hub, activity, runOfShow, lotteries, teams, bargains, promotions, reminders } = deps;

  const opId = (x: ExecContext) => commandOpId(x.roomId, x.opId);
  /** The catalog key of a create: the caller, the room, the command's key and its parameters. */
  const createKey = (x: ExecContext, op: CreateKey['op']): CreateKey => ({
    principal: `${x.principal.role}:${x.principal.sub}`,
    roomId: x.roomId,
    key: x.idempotencyKey,
    op,
    fingerprint: x.fingerprint,
  });
  const itemOf = (x: ExecContext, id: string, kind?: ItemInfo['kind']): ItemInfo => {
    const it = x.room.doc.items[id];
    if (!it) throw new LivesaleError('ITEM_NOT_FOUND', `room ${x.roomId} has no item ${id}`);
    if (kind && it.kind !== kind) throw new LivesaleError('WRONG_ITEM_KIND', `item ${id} is a ${it.kind === 'group' ? 'group buy' : 'flash-sale item'}`);
    return it;
  };
  /** The on-air activity event of an applied onAir command. */
  const onAirActivity = (x: ExecContext, itemId: string | null) => (r: CommandResult) =>
    activity.publish({ type: 'item.on_air', id: `onair:${x.roomId}:${r.version}`, room: x.roomId, at: Date.now(), item: itemId, by: x.principal.sub });

  /**
   * A run-of-show step on the room's live show: the step this command's operation id already
   * wrote (a retry after a crash before the room append), or the one `decide` makes from the
   * sheet as stored, written with the operation id.
   */
  const runStep = async <N extends RunStep['command'] & CommandName>(x: ExecContext, command: N, decide: (show: LiveShow, rows: SheetRow[]) => Promise<Extract<RunStep, { command: N }>>) => {
    const show = await requireLiveShow(db, x.roomId);
    const id = opId(x);
    const prior = await appliedStep(db, show.id, id);
    if (prior && prior.command !== command) throw new LivesaleError('IDEMPOTENCY_KEY_REUSED', `this idempotency key was used for a ${prior.command} command`);
    const step = (prior ?? (await applyStep(db, id, await decide(show, await sheetRows(db, show.id))))) as Extract<RunStep, { command: N }>;
    return { show, step };
  };
  /** Whether the item's sale is scheduled: a flash sale in pre-heat (its window not yet open by the Redis clock). */
  const saleScheduled = async (x: ExecContext, itemId: string | null): Promise<boolean> => {
    if (itemId === null || itemOf(x, itemId).kind !== 'flash') return false;
    return (await flash.view(itemId))?.phase === 'preheat';
  };
  /** Opens a scheduled sale now, its end unchanged (as openSale does). */
  const openScheduled = async (x: ExecContext, itemId: string): Promise<NonNullable<Extract<Delta, { t: 'slot' }>['sale']>> => {
    const r = await flash.setWindow(itemId, 'now', undefined, x.principal.sub, { opId: opId(x) });
    return { item: itemId, startsAt: r.startsAt, endsAt: r.endsAt };
  };
  /** An item of the room that must be a flash-sale item: the offers below apply to those only. */
  const flashItem = (x: ExecContext, id: string, what: string): ItemInfo => {
    const it = itemOf(x, id);
    if (it.kind !== 'flash') throw new LivesaleError('WRONG_ITEM_KIND', `${what} apply to flash-sale items; item ${id} is a group buy`);
    return it;
  };
  /**
   * The item with one offer changed: stored in its catalog row first (the durable copy a rebuild
   * reads), then the `item` delta every viewer folds into the room. A retry after a crash before
   * the append writes the same offers again.
   */
  const withOffers = async (x: ExecContext, it: ItemInfo, patch: Partial<ItemOffers>): Promise<Delta> => {
    const offers: ItemOffers = { ...it.offers, ...patch };
    await catalog.setOffers(it.id, offers);
    return { t: 'item', item: { ...it, offers }, listing: [...x.room.doc.listing] };
  };
  const listed = (listing: readonly string[], itemId: string | null) => (itemId === null || listing.includes(itemId) ? [...listing] : [...listing, itemId]);

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

    pin: {
      run: async (x, c) => {
        if (c.announcementId === null) return { delta: { t: 'pin', announcement: null } };
        const a = (x.room.doc.announcements ?? []).find((n) => n.id === c.announcementId);
        if (!a) throw new LivesaleError('INVALID_ARGUMENT', `the room has no announcement ${c.announcementId} among its last ${maxAnnouncements}`);
        return { delta: { t: 'pin', announcement: { ...a } } };
      },
    },

    // ---- inventory first, then the room document

    addItem: {
      run: async (x, c) => {
        // Settings come from the row as first stored: a retry after a crash resumes that item.
        const { row } = await catalog.createItemOnce(createKey(x, 'addItem'), {
          roomId: x.roomId,
          showId: await catalog.showForNewItem(x.roomId, c.showId),
          kind: 'flash',
          title: c.title,
          price: c.price,
          totalStock: c.stock,
          perUserLimit: c.perUserLimit,
          startsAt: c.startsAt,
          endsAt: c.endsAt,
          holdSeconds: c.holdSeconds ?? config.holdSeconds,
        });
        faultAt(config, 'addItem.catalog');
        await flash.createItem({
          itemId: row.id,
          roomId: x.roomId,
          total: row.totalStock,
          price: row.price,
          perUserLimit: row.perUserLimit,
          startsAt: row.startsAt,
          endsAt: row.endsAt,
          holdMs: row.holdSeconds * 1000,
        });
        faultAt(config, 'addItem.inventory');
        const stock = await flash.stock(row.id);
        const item: ItemInfo = {
          id: row.id,
          kind: 'flash',
          title: row.title,
          price: row.price,
          total: row.totalStock,
          limit: row.perUserLimit,
          startsAt: row.startsAt,
          endsAt: row.endsAt,
          ...(row.showId ? { showId: row.showId } : {}),
        };
        return {
          delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: stock?.available ?? row.totalStock, ver: stock?.ver ?? 1 } },
          data: { item },
          after: () => faultAt(config, 'addItem.room'),
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
        const now = await groups.serverTime();
        // Checked for a new group only; it opens at the first try's time, and a retry after a
        // crash resumes that row.
        const fresh = () => {
          if (!(c.endsAt > now)) throw new LivesaleError('INVALID_ARGUMENT', 'endsAt must be in the future');
        };
        const { row } = await catalog.createItemOnce(createKey(x, 'openGroup'), {
          roomId: x.roomId,
          showId: await catalog.showForNewItem(x.roomId, c.showId),
          kind: 'group',
          title: c.title,
          price: c.basePrice,
          totalStock: c.stock,
          perUserLimit: c.perUserLimit,
          startsAt: now,
          endsAt: c.endsAt,
          holdSeconds,
          group: { tiers: c.tiers.map((t) => ({ threshold: t.threshold, price: t.price })), countBy: c.countBy ?? 'people', belowFirstTier: c.belowFirstTier === 'base_price' ? 'base' : 'fail' },
        }, fresh);
        faultAt(config, 'openGroup.catalog');
        const group = row.group!;
        await groups.create({
          itemId: row.id,
          roomId: x.roomId,
          capacity: row.totalStock,
          basePrice: row.price,
          tiers: group.tiers,
          countBy: group.countBy,
          belowFirstTier: group.belowFirstTier,
          perUserLimit: row.perUserLimit,
          startsAt: row.startsAt,
          endsAt: row.endsAt,
          holdMs: row.holdSeconds * 1000,
        });
        faultAt(config, 'openGroup.inventory');
        const v = await groups.view(row.id);
        const item: ItemInfo = {
          id: row.id,
          kind: 'group',
          title: row.title,
          price: row.price,
          total: row.totalStock,
          limit: row.perUserLimit,
          startsAt: row.startsAt,
          endsAt: row.endsAt,
          tiers: group.tiers.map((t) => ({ threshold: t.threshold, price: t.price })),
          ...(row.showId ? { showId: row.showId } : {}),
        };
        return {
          delta: { t: 'item', item, listing: [...x.room.doc.listing, item.id], stock: { available: v?.available ?? row.totalStock, ver: v?.ver ?? 1 } },
          data: { item },
          after: () => faultAt(config, 'openGroup.room'),
        };
      },
    },

    // ---- the run of show: the live show's sheet, then the room document

    next: {
      run: async (x) => {
        const { show, step } = await runStep(x, 'next', async (show, rows) => {
          const d = decideNext(rows, show.id, x.now);
          if (d.onAir?.itemId) itemOf(x, d.onAir.itemId);
          return { ...d, openSale: await saleScheduled(x, d.onAir?.itemId ?? null) };
        });
        const item = step.onAir?.itemId ?? null;
        const sale = step.openSale && item ? await openScheduled(x, item) : undefined;
        return {
          delta: { t: 'slot', onAir: item, listing: listed(x.room.doc.listing, item), ...(sale ? { sale } : {}) },
          data: { closed: step.closed, onAir: step.onAir, ...(sale ? { sale } : {}) },
          after: (r) => {
            onAirActivity(x, item)(r);
            void runOfShow.changed(show);
          },
        };
      },
    },

    swap: {
      run: async (x, c) => {
        const { show, step } = await runStep(x, 'swap', async (show, rows) => {
          const d = decideSwap(rows, show.id, x.now, c.mainPosition, c.backupPosition);
          itemOf(x, d.backupItemId);
          const goesOnAir = d.wasOnAir || (d.mainItemId !== null && x.room.doc.onAir === d.mainItemId);
          return { ...d, openSale: goesOnAir && (await saleScheduled(x, d.backupItemId)) };
        });
        const doc = x.room.doc;
        const listing = doc.listing.filter((i) => i !== step.backupItemId);
        const at = step.mainItemId === null ? -1 : listing.indexOf(step.mainItemId);
        if (at >= 0) listing[at] = step.backupItemId;
        else listing.push(step.backupItemId);
        const onAirChanges = step.wasOnAir || (step.mainItemId !== null && doc.onAir === step.mainItemId);
        const onAir = onAirChanges ? step.backupItemId : doc.onAir;
        const sale = step.openSale ? await openScheduled(x, step.backupItemId) : undefined;
        return {
          delta: { t: 'slot', onAir, listing, ...(sale ? { sale } : {}) },
          data: { mainPosition: step.mainPosition, backupPosition: step.backupPosition, delisted: step.mainItemId, listed: step.backupItemId, onAir, ...(sale ? { sale } : {}) },
          after: (r) => {
            if (onAirChanges) onAirActivity(x, onAir)(r);
            void runOfShow.changed(show);
          },
        };
      },
    },

    skip: {
      run: async (x, c) => {
        const { show, step } = await runStep(x, 'skip', async (show, rows) => decideSkip(rows, show.id, x.now, c.position));
        return {
          delta: { t: 'slot', onAir: x.room.doc.onAir, listing: [...x.room.doc.listing] },
          data: { skipped: step.position },
          after: () => void runOfShow.changed(show),
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

    // ---- lotteries (docs/lottery.md): the ledger first, then the room document

    createLottery: {
      run: async (x, c) => {
        // Created before this command's answer reached the room (a retry after a crash): the same lottery.
        const done = await lotteries.byOp(opId(x));
        if (done) {
          const lottery = await lotteries.info(done);
          return { delta: { t: 'lottery', lottery }, data: { lottery } };
        }
        if (c.prize.kind === 'item') {
          itemOf(x, c.prize.itemId, 'flash');
          const v = await flash.view(c.prize.itemId);
          if (!v) throw new LivesaleError('ITEM_UNAVAILABLE');
          // Refused rather than drawn short: the stock must cover every winner asked for now.
          if (v.available < c.winners) throw new LivesaleError('INSUFFICIENT_STOCK', `the prize has ${v.available} available, fewer than the ${c.winners} winners`, { available: v.available });
        }
        const { row } = await lotteries.create({
          opId: opId(x),
          roomId: x.roomId,
          ...(c.showId !== undefined ? { showId: c.showId } : {}),
          createdBy: x.principal.sub,
          title: c.title,
          prize: c.prize,
          winners: c.winners,
          eligibility: c.eligibility,
          ...(c.opensAt !== undefined ? { opensAt: c.opensAt } : {}),
          closesAt: c.closesAt,
          claimSeconds: c.claimSeconds ?? config.holdSeconds,
        });
        const lottery = await lotteries.info(row);
        return { delta: { t: 'lottery', lottery }, data: { lottery } };
      },
    },

    drawLottery: {
      run: async (x, c) => {
        const d = await lotteries.close(c.lotteryId, x.roomId);
        let row = d.row;
        if (!d.already) {
          const prize = row.prize_kind === 'item' ? row.prize_item_id : null;
          let winners = d.order.map((userId) => ({ userId, orderId: null as string | null, claimDeadline: null as number | null }));
          if (prize !== null) {
            // Holds in rank order while the stock lasts: the winners are a prefix of the draw's order.
            const a = await flash.awardPrizes(prize, row.id, d.order.map((userId, i) => ({ orderId: prizeOrderId(row.id, i + 1), userId })), row.claim_seconds * 1000);
            hub.noteStock(x.roomId, prize, a.available, a.ver);
            winners = d.order.slice(0, a.awarded).map((userId, i) => ({ userId, orderId: prizeOrderId(row.id, i + 1), claimDeadline: a.deadlines[i] ?? null }));
          }
          row = await lotteries.recordDraw(d, winners);
        }
        const lottery = await lotteries.info(row);
        return { delta: { t: 'lotteryDrawn', lottery }, data: { lottery } };
      },
    },

    // ---- marketing offers (docs/team-buy-bargain.md, docs/referrals.md): the inventory or the
    // ledger first, then the item's offers in the catalog, then the room document. Each setting
    // is a replacement (setting it again to the same values changes nothing), so a command retried
    // after a crash before its append applies once; the coupon campaign is added once by its id.

    setTeamBuy: {
      action: 'team.configure',
      run: async (x, c) => {
        const it = flashItem(x, c.itemId, 'team buys');
        const s = await teams.configure(c.itemId, { size: c.size, price: c.teamPrice, windowMs: c.windowSeconds * 1000, ...(c.teamsPerUser ? { teamsPerUser: c.teamsPerUser } : {}) });
        const delta = await withOffers(x, it, { team: { size: s.size, price: s.price, windowMs: s.windowMs, teamsPerUser: s.teamsPerUser } });
        return { delta, data: { ...s } };
      },
    },

    setBargain: {
      action: 'bargain.configure',
      run: async (x, c) => {
        const it = flashItem(x, c.itemId, 'bargains');
        const s = await bargains.configure(c.itemId, { start: c.start, floor: c.floor, helpers: c.helpers, windowMs: c.windowSeconds * 1000, newUsersOnly: c.newUsersOnly ?? false });
        const delta = await withOffers(x, it, { bargain: { start: s.start, floor: s.floor, helpers: s.helpers, windowMs: s.windowMs, newUsersOnly: s.newUsersOnly } });
        return { delta, data: { ...s } };
      },
    },

    setMemberDay: {
      action: 'item.promotion.set',
      run: async (x, c) => {
        const it = flashItem(x, c.itemId, 'member-day rules');
        const rule = { threshold: c.threshold, off: { regular: c.off.regular, silver: c.off.silver, gold: c.off.gold } };
        await promotions.setMemberDay(c.itemId, rule);
        const delta = await withOffers(x, it, { memberDay: rule });
        return { delta, data: { itemId: c.itemId, ...rule } };
      },
    },

    addCoupon: {
      action: 'item.promotion.set',
      run: async (x, c) => {
        const it = flashItem(x, c.itemId, 'coupon campaigns');
        const offer = couponOffer(c);
        const shown = it.offers?.coupons ?? [];
        const prior = shown.find((k) => k.id === c.id);
        // Checked before anything changes: the same id with other terms (its audience included) is another campaign.
        if (prior && !sameTerms(prior, offer)) throw new LivesaleError('CAMPAIGN_EXISTS', `item ${c.itemId} has a coupon campaign ${c.id} with other terms; use another id`);
        if (!prior && shown.length >= maxCoupons) throw new LivesaleError('INVALID_ARGUMENT', `an item shows at most ${maxCoupons} coupon campaigns`);
        const { itemId: _item, command: _c, idempotencyKey: _k, baseVersion: _v, ...campaign } = c;
        let created: boolean;
        try {
          created = await promotions.addCampaign(c.itemId, campaign);
        } catch (err) {
          // The inventory's answer for a campaign id taken by other terms (set-promotion-3.lua KEY_REUSED).
          if (err instanceof LivesaleError && err.code === 'IDEMPOTENCY_KEY_REUSED') throw new LivesaleError('CAMPAIGN_EXISTS', `item ${c.itemId} has a coupon campaign ${c.id} with other terms; use another id`);
          throw err;
        }
        const state = (await promotions.campaign(c.itemId, c.id))!;
        const delta = await withOffers(x, it, { coupons: prior ? [...shown] : [...shown, offer] });
        return { delta, data: { itemId: c.itemId, created, ...state } };
      },
    },

    setCommission: {
      action: 'referral.rate.set',
      run: async (x, c) => {
        // Any item of the room: a group buy's paid orders earn commissions too (docs/referrals.md).
        const it = itemOf(x, c.itemId);
        await setCommissionRate(db, c.itemId, c.rateBp, `${x.principal.role}:${x.principal.sub}`);
        const delta = await withOffers(x, it, { commissionBp: c.rateBp });
        return { delta, data: { itemId: c.itemId, rateBp: c.rateBp } };
      },
    },

    // ---- reminders

    // The audience's shoppers connected to the room get a reminder frame now (gateway/reminders.ts),
    // each once: the reminder is the command's operation id, so a retry after a crash sends
    // nothing again. The counts go in the reply and the audit record.
    remind: {
      run: async (x, c) => {
        const it = itemOf(x, c.itemId);
        const id = opId(x);
        const counts = await reminders.send({ id, roomId: x.roomId, itemId: c.itemId, text: c.text ?? it.title, audience: c.audience, at: x.now });
        return { delta: { t: 'reminder', item: c.itemId, audience: c.audience, at: x.now }, data: { reminder: id, ...counts }, audit: { ...counts } };
      },
    },
  };
}
