import type { Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { recordClick, type ReferralClick } from '../orders/referrals.ts';
import type { HttpClient } from '../web/client.ts';
import { paced } from './paced.ts';

/** The demo's referral: a commission rate on an item and one share link opened. */
export interface SeedReferral {
  roomId: string;
  itemId: string;
  /** The sharer credited with the commission. */
  referrer: string;
  /** The shopper who opened the link (their orders of the room are attributed for the window). */
  shopper: string;
  /** Commission in basis points of the amount paid (500 = 5%). */
  rateBp: number;
  /** The attribution window; the REFERRAL_WINDOW_SECONDS default when omitted. */
  windowSeconds?: number;
}

/**
 * Seeds a referral: records that `shopper` opened `referrer`'s share link for the item, as
 * POST /rooms/{roomId}/referrals does (with the seed's window), then sets the item's commission
 * rate with the room host's setCommission command, so the room shows it in the item's offers
 * and the audit has it. The shopper's next order of the item, paid within the window, credits
 * the referrer. Refuses a self-referral like the endpoint (SELF_REFERRAL), before any change.
 */
export async function seedReferral(db: Kysely<Database>, host: HttpClient, s: SeedReferral): Promise<ReferralClick> {
  const click = await recordClick(db, { userId: s.shopper, referrer: s.referrer, roomId: s.roomId, itemId: s.itemId, windowSeconds: s.windowSeconds ?? 86_400 });
  await paced(() => host.command(s.roomId, { command: 'setCommission', itemId: s.itemId, rateBp: s.rateBp }));
  return click;
}
