import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Keys } from '../../common/contracts/keys.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { couponCampaignBody, memberDayBody, memberTierBody } from '../../common/contracts/protocol.ts';
import { setMemberTier } from '../../orders/members.ts';
import type { Commands } from '../commands.ts';
import { parseBody } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Router } from '../router.ts';
import { runOfferCommand } from './offer-commands.ts';

/**
 * The merchant's marketing tools of one price (common/contracts/pricing.ts): a shopper's member
 * tier, an item's member-day rule and its coupon campaigns. A shopper names a campaign in a buy
 * (`coupon`); the reserve script prices the hold and reserves the coupon with it. The item's rule
 * and campaigns are host commands (setMemberDay, addCoupon); these routes run them.
 */
export interface PromotionRouteDeps {
  db: Kysely<Database>;
  redis: Redis | Cluster;
  keys: Keys;
  commands: Commands;
  hub: RoomHub;
}

export function registerPromotionRoutes(router: Router, deps: PromotionRouteDeps): void {
  const { db, redis, keys, commands, hub } = deps;

  router.route('put', '/members/:userId/tier', 'members.tier', 'member.tier.set', async (r, call) => {
    call.authorize();
    const b = parseBody(memberTierBody, r.body);
    const userId = r.params[0]!;
    if (!/^[\x21-\x7e]{1,128}$/.test(userId)) throw new LivesaleError('INVALID_ARGUMENT', 'a user id is 1 to 128 printable characters without spaces');
    await setMemberTier({ db, redis, keys }, userId, b.tier, call.principal.sub);
    return { status: 200, body: { userId, tier: b.tier } };
  });

  // The setMemberDay and addCoupon host commands (gateway/host-commands.ts) with these routes' bodies and replies.
  router.route('put', '/rooms/:roomId/items/:itemId/member-day', 'items.memberDay', 'item.promotion.set', async (r, call) => {
    call.authorize();
    const b = parseBody(memberDayBody, r.body);
    const result = await runOfferCommand({ commands, hub }, call, r, r.params[0]!, { command: 'setMemberDay', itemId: r.params[1]!, ...b });
    return { status: 200, body: result.data };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/coupons', 'items.coupons', 'item.promotion.set', async (r, call) => {
    call.authorize();
    const b = parseBody(couponCampaignBody, r.body);
    const result = await runOfferCommand({ commands, hub }, call, r, r.params[0]!, { command: 'addCoupon', itemId: r.params[1]!, ...b });
    return { status: (result.data as { created?: boolean } | undefined)?.created ? 201 : 200, body: result.data };
  });
}
