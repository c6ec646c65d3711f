import type { LotteryEligibility, LotteryInfo, LotteryPrize } from '../common/contracts/protocol.ts';
import type { HttpClient } from '../web/client.ts';
import { paced } from './paced.ts';

export interface SeedLotteryOptions {
  title?: string;
  /** Default: a coupon placeholder. */
  prize?: LotteryPrize;
  winners?: number;
  /** Default: anyone. */
  eligibility?: LotteryEligibility;
  /** When entries close (ms); default thirty minutes from `now`. */
  closesAt?: number;
  claimSeconds?: number;
  /** A show of the room; the room's live show when absent. */
  showId?: string;
}

/**
 * Creates a lottery in a room's show through the createLottery host command (`host` is a client
 * with the room host's or an ops token) and returns it as the room shows it.
 */
export async function seedLottery(host: HttpClient, roomId: string, opts: SeedLotteryOptions = {}, now = Date.now()): Promise<LotteryInfo> {
  const r = await paced(() =>
    host.command(roomId, {
    command: 'createLottery',
    title: opts.title ?? 'Lucky bag: 100-yuan coupon',
    prize: opts.prize ?? { kind: 'coupon', title: '100-yuan coupon' },
    winners: opts.winners ?? 3,
    eligibility: opts.eligibility ?? { kind: 'anyone' },
    closesAt: opts.closesAt ?? now + 30 * 60_000,
    ...(opts.claimSeconds !== undefined ? { claimSeconds: opts.claimSeconds } : {}),
    ...(opts.showId !== undefined ? { showId: opts.showId } : {}),
    }),
  );
  return (r.data as { lottery: LotteryInfo }).lottery;
}
