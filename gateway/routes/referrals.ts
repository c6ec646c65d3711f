import type { Kysely } from 'kysely';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { commissionRateBody, myCommissionsQuery, referralClickBody } from '../../common/contracts/protocol.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Catalog } from '../../orders/catalog.ts';
import { listCommissions, recordClick, setCommissionRate } from '../../orders/referrals.ts';
import { parseBody, parseQuery } from '../http.ts';
import type { Router } from '../router.ts';

/**
 * Referral commissions (docs/referrals.md): a shopper opening a share link records the click
 * (the page calls this when it is opened with a referrer), the room's host sets an item's rate,
 * and a referrer lists its own commissions. None of it touches the buy path: the writer
 * attributes each payment to the buyer's last click (orders/referrals.ts).
 */
export function registerReferralRoutes(router: Router, deps: { db: Kysely<Database>; catalog: Catalog; windowSeconds: number }): void {
  const { db, catalog, windowSeconds } = deps;

  router.route('post', '/rooms/:roomId/referrals', 'referrals.click', 'referral.click', async (r, call) => {
    call.authorize();
    const b = parseBody(referralClickBody, r.body);
    const click = await recordClick(db, { userId: call.principal.sub, referrer: b.referrer, roomId: r.params[0]!, itemId: b.itemId, windowSeconds });
    return { status: 201, body: click };
  });

  router.route('put', '/rooms/:roomId/items/:itemId/commission', 'items.commission', 'referral.rate.set', async (r, call) => {
    // The role gate first: a shopper learns nothing about the room.
    call.authorize();
    const b = parseBody(commissionRateBody, r.body);
    const roomId = r.params[0]!;
    const room = await catalog.room(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 40))}`);
    call.authorize({ id: room.id, hostId: room.hostId });
    const itemId = r.params[1]!;
    const item = await catalog.item(itemId);
    if (!item || item.roomId !== room.id) throw new LivesaleError('ITEM_NOT_FOUND', `no item ${JSON.stringify(itemId.slice(0, 40))} in room ${room.id}`);
    await setCommissionRate(db, item.id, b.rateBp, `${call.principal.role}:${call.principal.sub}`);
    return { status: 200, body: { itemId: item.id, rateBp: b.rateBp } };
  });

  router.route('get', '/me/commissions', 'me.commissions', 'referral.commissions.own', async (r, call) => {
    call.authorize();
    const q = parseQuery(myCommissionsQuery, r.query);
    return { status: 200, body: await listCommissions(db, call.principal.sub, q) };
  });
}
