import { sql, type Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';

/**
 * Shopper segments (用户精细化运营) from the ledger: an RFM score and a lifecycle stage per
 * shopper, with the thresholds below (docs/referrals.md, "Segments"). A purchase is an order in
 * state `paid` (a partly refunded order still counts, at its net amount; a refunded one does not).
 *
 * - R (recency): days since the last purchase: ≤ 7 → 5, ≤ 30 → 4, ≤ 60 → 3, ≤ 90 → 2, else 1.
 * - F (frequency): purchases in the last 90 days: ≥ 10 → 5, ≥ 5 → 4, ≥ 3 → 3, 2 → 2, else 1.
 * - M (monetary): net spend (paid − refunded) in the last 90 days: ≥ ¥2,000 → 5, ≥ ¥800 → 4,
 *   ≥ ¥300 → 3, ≥ ¥100 → 2, else 1.
 * - Stage: `new` (first purchase in the last 30 days), `active` (last purchase in the last 30
 *   days, the first one earlier), `dormant` (last purchase 30 to 90 days ago), `churned` (more
 *   than 90 days ago). A shopper without a purchase has no segment.
 */

export const lifecycleStages = ['new', 'active', 'dormant', 'churned'] as const;
export type LifecycleStage = (typeof lifecycleStages)[number];

const day = 86_400_000;
export const segmentThresholds = {
  /** R = 5, 4, 3, 2 at most this many days since the last purchase (else 1). */
  recencyDays: [7, 30, 60, 90],
  /** F = 5, 4, 3, 2 at least this many purchases in the window (else 1). */
  frequency: [10, 5, 3, 2],
  /** M = 5, 4, 3, 2 at least this net spend in fen in the window (else 1). */
  monetaryFen: [200_000, 80_000, 30_000, 10_000],
  /** F and M count the purchases of this many days. */
  windowDays: 90,
  /** new / active: a purchase within this many days. */
  activeDays: 30,
  /** dormant up to this many days since the last purchase; churned after. */
  dormantDays: 90,
} as const;

/** What the ledger says of one shopper's purchases. */
export interface PurchaseFacts {
  firstAt: number;
  lastAt: number;
  /** Purchases and net spend within the window. */
  recentOrders: number;
  recentNet: number;
}

export interface Segment {
  userId: string;
  stage: LifecycleStage;
  r: number;
  f: number;
  m: number;
  /** The three digits, as marketers write them: "545". */
  rfm: string;
  lastPurchaseAt: number;
  recentOrders: number;
  recentNet: number;
}

function scoreDown(v: number, bounds: readonly number[]): number {
  for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]!) return 5 - i;
  return 1;
}

function scoreUp(v: number, bounds: readonly number[]): number {
  for (let i = 0; i < bounds.length; i++) if (v >= bounds[i]!) return 5 - i;
  return 1;
}

/** The segment the facts give at `now` (a pure function: the thresholds above). */
export function segmentFromFacts(userId: string, f: PurchaseFacts, now: number): Segment {
  const t = segmentThresholds;
  const sinceLast = Math.max(0, now - f.lastAt);
  const r = scoreDown(sinceLast / day, t.recencyDays);
  const fr = scoreUp(f.recentOrders, t.frequency);
  const m = scoreUp(f.recentNet, t.monetaryFen);
  let stage: LifecycleStage;
  if (now - f.firstAt <= t.activeDays * day) stage = 'new';
  else if (sinceLast <= t.activeDays * day) stage = 'active';
  else if (sinceLast <= t.dormantDays * day) stage = 'dormant';
  else stage = 'churned';
  return { userId, stage, r, f: fr, m, rfm: `${r}${fr}${m}`, lastPurchaseAt: f.lastAt, recentOrders: f.recentOrders, recentNet: f.recentNet };
}

/** Purchase facts per shopper (all of them, or `users`, or the buyers of a room). */
async function facts(db: Kysely<Database>, now: number, scope: { users?: readonly string[]; roomId?: string }): Promise<Map<string, PurchaseFacts>> {
  const since = new Date(now - segmentThresholds.windowDays * day);
  const rows = await db
    .selectFrom('orders')
    .select([
      'user_id',
      sql<string>`(extract(epoch from min(paid_at)) * 1000)::bigint`.as('first_at'),
      sql<string>`(extract(epoch from max(paid_at)) * 1000)::bigint`.as('last_at'),
      sql<string>`count(*) filter (where paid_at >= ${since})`.as('recent'),
      sql<string>`coalesce(sum(paid_amount - refunded_amount) filter (where paid_at >= ${since}), 0)`.as('net'),
    ])
    .where('state', '=', 'paid')
    .where('paid_at', 'is not', null)
    .where('paid_at', '<=', new Date(now))
    .$if(scope.users !== undefined, (q) => q.where('user_id', 'in', scope.users!.length ? [...scope.users!] : ['']))
    .$if(scope.roomId !== undefined, (q) => q.where('user_id', 'in', (s) => s.selectFrom('orders as b').select('b.user_id').where('b.room_id', '=', scope.roomId!).where('b.paid_at', 'is not', null)))
    .groupBy('user_id')
    .execute();
  return new Map(rows.map((r) => [r.user_id, { firstAt: Number(r.first_at), lastAt: Number(r.last_at), recentOrders: Number(r.recent), recentNet: Number(r.net) }]));
}

/** A shopper's segment at `now`; null when they have no purchase. */
export async function segmentOf(db: Kysely<Database>, userId: string, now = Date.now()): Promise<Segment | null> {
  const f = (await facts(db, now, { users: [userId] })).get(userId);
  return f ? segmentFromFacts(userId, f, now) : null;
}

/** Which shoppers a campaign or reminder may target: a stage and/or minimum R, F, M scores. */
export interface SegmentFilter {
  stage?: LifecycleStage;
  minR?: number;
  minF?: number;
  minM?: number;
}

export function inSegment(s: Segment, q: SegmentFilter): boolean {
  return (q.stage === undefined || s.stage === q.stage) && s.r >= (q.minR ?? 1) && s.f >= (q.minF ?? 1) && s.m >= (q.minM ?? 1);
}

/** The shoppers in a segment at `now`, sorted by user id. */
export async function usersInSegment(db: Kysely<Database>, q: SegmentFilter, now = Date.now()): Promise<string[]> {
  const all = await facts(db, now, {});
  const out: string[] = [];
  for (const [userId, f] of all) if (inSegment(segmentFromFacts(userId, f, now), q)) out.push(userId);
  return out.sort();
}

export interface SegmentSizes {
  stages: Record<LifecycleStage, number>;
  /** Shoppers per R, F and M score (index 0 is score 1). */
  r: number[];
  f: number[];
  m: number[];
  shoppers: number;
}

/** Segment sizes at `now`: of every shopper, or of a room's buyers (their segment over the whole ledger). */
export async function segmentSizes(db: Kysely<Database>, opts: { roomId?: string; now?: number } = {}): Promise<SegmentSizes> {
  const now = opts.now ?? Date.now();
  const all = await facts(db, now, opts.roomId !== undefined ? { roomId: opts.roomId } : {});
  const sizes: SegmentSizes = { stages: { new: 0, active: 0, dormant: 0, churned: 0 }, r: [0, 0, 0, 0, 0], f: [0, 0, 0, 0, 0], m: [0, 0, 0, 0, 0], shoppers: 0 };
  for (const [userId, f] of all) {
    const s = segmentFromFacts(userId, f, now);
    sizes.stages[s.stage]++;
    sizes.r[s.r - 1] = (sizes.r[s.r - 1] ?? 0) + 1;
    sizes.f[s.f - 1] = (sizes.f[s.f - 1] ?? 0) + 1;
    sizes.m[s.m - 1] = (sizes.m[s.m - 1] ?? 0) + 1;
    sizes.shoppers++;
  }
  return sizes;
}
