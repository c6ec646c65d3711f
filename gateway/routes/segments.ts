import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Keys } from '../../common/contracts/keys.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import type { SegmentRefreshReply } from '../../common/contracts/protocol.ts';
import { refreshStageCopy } from '../../orders/segments.ts';
import type { Router } from '../router.ts';

/**
 * Ops refresh the serving copy of every shopper's lifecycle stage on demand (the writer also does
 * it every SEGMENT_REFRESH_SECONDS): after a campaign's target shoppers paid, say, so a coupon or
 * reminder for a stage reaches them without waiting for the next round.
 */
export interface SegmentRouteDeps {
  db: Kysely<Database>;
  redis: Redis | Cluster;
  keys: Keys;
}

export function registerSegmentRoutes(router: Router, deps: SegmentRouteDeps): void {
  router.route('post', '/segments/refresh', 'segments.refresh', 'segment.refresh', async (_r, call) => {
    call.authorize();
    const body: SegmentRefreshReply = await refreshStageCopy(deps);
    return { status: 200, body };
  });
}
