import type { Kysely } from 'kysely';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { commissionRateBody, myCommissionsQuery, referralClickBody, referralClickMessage } from '../../common/contracts/protocol.ts';
import { listCommissions, recordClick } from '../../orders/referrals.ts';
import type { Commands } from '../commands.ts';
import { parseBody, parseQuery } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Router } from '../router.ts';
import { runOfferCommand } from './offer-commands.ts';

/**
 * Referral commissions (docs/referrals.md): a shopper opening a share link records the click
 * (the page calls this when it is opened with a referrer), the room's host sets an item's rate,
 * and a referrer lists its own commissions. The rate is the setCommission host command; its route runs it. None of it touches the buy path: the writer
 * attributes each payment to the buyer's last click (orders/referrals.ts).
 */
export function registerReferralRoutes(router: Router, deps: { db: Kysely<Database>; commands: Commands; hub: RoomHub; windowSeconds: number }): void {
  const { db, commands, hub, windowSeconds } = deps;

  router.route('post', '/rooms/:roomId/referrals', 'referrals.click', 'referral.click', async (r, call) => {
    call.authorize();
    const b = parseBody(referralClickBody, r.body);
    const click = await recordClick(db, { userId: call.principal.sub, referrer: b.referrer, roomId: r.params[0]!, itemId: b.itemId, windowSeconds });
    return { status: 201, body: click };
  });

  // The setCommission host command (gateway/host-commands.ts) with this route's body and reply.
  // The same click over WebSocket, for the socket's room.
  router.wsMessage('referral.click', {
    schema: referralClickMessage,
    action: 'referral.click',
    handler: async (ws, msg, reply, call) => {
      call.authorize();
      const click = await recordClick(db, { userId: call.principal.sub, referrer: msg.referrer, roomId: ws.getUserData().roomId, itemId: msg.itemId, windowSeconds });
      reply({ type: 'referral.result', ...(msg.reqId ? { reqId: msg.reqId } : {}), result: click });
    },
  });

  router.route('put', '/rooms/:roomId/items/:itemId/commission', 'items.commission', 'referral.rate.set', async (r, call) => {
    // The role gate first: a shopper learns nothing about the room.
    call.authorize();
    const b = parseBody(commissionRateBody, r.body);
    const result = await runOfferCommand({ commands, hub }, call, r, r.params[0]!, { command: 'setCommission', itemId: r.params[1]!, ...b });
    return { status: 200, body: result.data };
  });

  router.route('get', '/me/commissions', 'me.commissions', 'referral.commissions.own', async (r, call) => {
    call.authorize();
    const q = parseQuery(myCommissionsQuery, r.query);
    return { status: 200, body: await listCommissions(db, call.principal.sub, q) };
  });
}
