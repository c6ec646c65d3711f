import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Keys } from '../../common/contracts/keys.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { couponCampaignBody, memberDayBody, memberTierBody } from '../../common/contracts/protocol.ts';
import type { Promotions } from '../../inventory/promotions.ts';
import type { Catalog } from '../../orders/catalog.ts';
import { setMemberTier } from '../../orders/members.ts';
import { parseBody } from '../http.ts';
import type { Call, Router } from '../router.ts';

/**
 * The merchant's marketing tools of one price (common/contracts/pricing.ts): a shopper's member
 * tier, an item's member-day rule and its coupon campaigns. A shopper names a campaign in a buy
 * (`coupon`); the reserve script prices the hold and reserves the coupon with it.
 */
export interface PromotionRouteDeps {
  db: Kysely<Database>;
  redis: Redis | Cluster;
  keys: Keys;
  promotions: Promotions;
  catalog: Catalog;
}

export function registerPromotionRoutes(router: Router, deps: PromotionRouteDeps): void {
  const { db, redis, keys, promotions, catalog } = deps;

  /** The room's host or ops, and an item of that room. */
  async function itemOfRoom(call: Call<'item.promotion.set'>, roomId: string, itemId: string): Promise<void> {
    call.authorize();
    const room = await catalog.room(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 40))}`);
    call.authorize({ id: room.id, hostId: room.hostId });
    const item = await catalog.item(itemId);
    if (!item || item.roomId !== room.id) throw new LivesaleError('ITEM_NOT_FOUND', `room ${room.id} has no item ${JSON.stringify(itemId.slice(0, 40))}`);
    if (item.kind !== 'flash') throw new LivesaleError('WRONG_ITEM_KIND', 'member-day rules and coupons are for flash-sale items');
  }

  router.route('put', '/members/:userId/tier', 'members.tier', 'member.tier.set', async (r, call) => {
    call.authorize();
    const b = parseBody(memberTierBody, r.body);
    const userId = r.params[0]!;
    if (!/^[\x21-\x7e]{1,128}$/.test(userId)) throw new LivesaleError('INVALID_ARGUMENT', 'a user id is 1 to 128 printable characters without spaces');
    await setMemberTier({ db, redis, keys }, userId, b.tier, call.principal.sub);
    return { status: 200, body: { userId, tier: b.tier } };
  });

  router.route('put', '/rooms/:roomId/items/:itemId/member-day', 'items.memberDay', 'item.promotion.set', async (r, call) => {
    const b = parseBody(memberDayBody, r.body);
    const itemId = r.params[1]!;
    await itemOfRoom(call, r.params[0]!, itemId);
    await promotions.setMemberDay(itemId, b);
    return { status: 200, body: { itemId, ...b } };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/coupons', 'items.coupons', 'item.promotion.set', async (r, call) => {
    const b = parseBody(couponCampaignBody, r.body);
    const itemId = r.params[1]!;
    await itemOfRoom(call, r.params[0]!, itemId);
    const created = await promotions.addCampaign(itemId, b);
    const state = (await promotions.campaign(itemId, b.id))!;
    return { status: created ? 201 : 200, body: { itemId, created, ...state } };
  });
}
