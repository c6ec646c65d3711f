import type { Cluster, Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import type { Keys } from '../common/contracts/keys.ts';
import type { Logger } from '../common/platform/logger.ts';
import { RoundLoop } from '../common/platform/round-loop.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { lifecycleStages, type LifecycleStage } from '../common/contracts/pricing.ts';

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
 *
 * The stage is also kept in Redis (Keys.memberStages, `refreshStageCopy`), refreshed by the
 * writer's round and on demand by ops: the copy a buy's coupon audience and a reminder read
 * (docs/segments.md says how stale it may be).
 */

// The stage list is the contracts' (a coupon's audience and the protocol name the same stages).
export { lifecycleStages, type LifecycleStage };

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

// ---------------------------------------------------------------------------------------------
// The serving copy: each shopper's stage in Redis (Keys.memberStages), for the buy path and
// reminders, which must not query the ledger per shopper.

export interface StageCopyDeps {
  readonly db: Kysely<Database>;
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
}

export interface StageRefresh {
  /** Shoppers with a stage now (the copy's size). */
  readonly shoppers: number;
  readonly stages: Record<LifecycleStage, number>;
  /** Fields written (a new stage, or a changed one). */
  readonly changed: number;
  /** Shoppers taken out (no purchase any more: their paid orders were refunded). */
  readonly removed: number;
  /** The time the stages are of (ms). */
  readonly at: number;
}

const chunk = 1000;

/** The copy's current content (user -> stage), read in pages. */
async function readCopy(d: Pick<StageCopyDeps, 'redis' | 'keys'>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, flat] = await d.redis.hscan(d.keys.memberStages, cursor, 'COUNT', chunk);
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/**
 * Recomputes every shopper's stage at `now` from the ledger (one aggregate query) and brings the
 * copy to it: changed stages written, shoppers without a purchase removed. Field by field, so a
 * buy during a refresh reads a shopper's old or new stage, never a missing one (unless the
 * shopper lost it). Safe to run from several processes at once: each writes the ledger's answer.
 */
export async function refreshStageCopy(d: StageCopyDeps, now = Date.now()): Promise<StageRefresh> {
  const all = await facts(d.db, now, {});
  const next = new Map<string, LifecycleStage>();
  for (const [userId, f] of all) next.set(userId, segmentFromFacts(userId, f, now).stage);
  const prior = await readCopy(d);
  const writes: string[] = [];
  const stages: Record<LifecycleStage, number> = { new: 0, active: 0, dormant: 0, churned: 0 };
  for (const [userId, stage] of next) {
    stages[stage]++;
    if (prior.get(userId) !== stage) writes.push(userId, stage);
  }
  const gone = [...prior.keys()].filter((u) => !next.has(u));
  for (let i = 0; i < writes.length; i += 2 * chunk) await d.redis.hset(d.keys.memberStages, ...writes.slice(i, i + 2 * chunk));
  for (let i = 0; i < gone.length; i += chunk) await d.redis.hdel(d.keys.memberStages, ...gone.slice(i, i + chunk));
  await d.redis.set(d.keys.memberStagesRefreshed, `${now},${next.size}`);
  return { shoppers: next.size, stages, changed: writes.length / 2, removed: gone.length, at: now };
}

/**
 * Brings the copy up to date for these shoppers only, from the ledger at `now`: after a ledger
 * batch brought their payments or refunds, so a first purchase gives a stage within the writer's
 * lag instead of a refresh period. Returns how many were written or removed.
 */
export async function refreshStagesOf(d: StageCopyDeps, users: readonly string[], now = Date.now()): Promise<number> {
  let n = 0;
  for (let i = 0; i < users.length; i += chunk) {
    const part = [...new Set(users.slice(i, i + chunk))];
    const f = await facts(d.db, now, { users: part });
    const writes: string[] = [];
    const gone: string[] = [];
    for (const u of part) {
      const x = f.get(u);
      if (x) writes.push(u, segmentFromFacts(u, x, now).stage);
      else gone.push(u);
    }
    if (writes.length) await d.redis.hset(d.keys.memberStages, ...writes);
    if (gone.length) await d.redis.hdel(d.keys.memberStages, ...gone);
    n += part.length;
  }
  return n;
}

/** The stage a buy is checked at (the serving copy); undefined: none (no paid order as of the last refresh). */
export async function memberStage(d: Pick<StageCopyDeps, 'redis' | 'keys'>, userId: string): Promise<LifecycleStage | undefined> {
  const s = await d.redis.hget(d.keys.memberStages, userId);
  return s !== null && (lifecycleStages as readonly string[]).includes(s) ? (s as LifecycleStage) : undefined;
}

/** The stages of many shoppers from the copy, in their order (undefined: none). */
export async function memberStages(d: Pick<StageCopyDeps, 'redis' | 'keys'>, userIds: readonly string[]): Promise<(LifecycleStage | undefined)[]> {
  const out: (LifecycleStage | undefined)[] = [];
  for (let i = 0; i < userIds.length; i += chunk) {
    const part = await d.redis.hmget(d.keys.memberStages, ...userIds.slice(i, i + chunk));
    for (const s of part) out.push(s !== null && (lifecycleStages as readonly string[]).includes(s) ? (s as LifecycleStage) : undefined);
  }
  return out;
}

/** Every shopper of the copy with their stage (a reminder's audience by stage). */
export async function stageCopy(d: Pick<StageCopyDeps, 'redis' | 'keys'>): Promise<Map<string, LifecycleStage>> {
  const out = new Map<string, LifecycleStage>();
  for (const [u, s] of await readCopy(d)) if ((lifecycleStages as readonly string[]).includes(s)) out.set(u, s as LifecycleStage);
  return out;
}

/** When the copy was last refreshed and its size then; undefined: never. */
export async function stageCopyRefreshed(d: Pick<StageCopyDeps, 'redis' | 'keys'>): Promise<{ at: number; shoppers: number } | undefined> {
  const raw = await d.redis.get(d.keys.memberStagesRefreshed);
  const m = raw ? /^(\d+),(\d+)$/.exec(raw) : null;
  return m ? { at: Number(m[1]), shoppers: Number(m[2]) } : undefined;
}

/**
 * The background round that keeps the copy current (the ledger writer runs it every
 * SEGMENT_REFRESH_SECONDS): a stage moves with time alone (new becomes active, active dormant),
 * so every shopper is recomputed, not only those a batch brought.
 */
export class StageRefresher {
  readonly #rounds: RoundLoop;
  readonly #d: StageCopyDeps & { log?: Logger };
  /** Shoppers whose purchases changed, waiting for their own refresh (one at a time). */
  #pending = new Set<string>();
  #flushing: Promise<void> | undefined;

  constructor(d: StageCopyDeps & { intervalMs: number; log?: Logger }) {
    this.#d = d;
    this.#rounds = RoundLoop.logged(
      async () => {
        const r = await refreshStageCopy(d);
        d.log?.info({ shoppers: r.shoppers, changed: r.changed, removed: r.removed }, 'lifecycle stages refreshed');
      },
      d.intervalMs,
      d.log,
      'lifecycle stage refresh',
    );
  }

  start(): void {
    this.#rounds.start();
  }

  /**
   * Shoppers a committed ledger batch paid, cancelled or refunded: their stages are refreshed
   * soon, one refresh at a time (those noted meanwhile go in the next). A failure is logged; the
   * next round covers them.
   */
  note(users: Iterable<string>): void {
    for (const u of users) this.#pending.add(u);
    if (this.#pending.size === 0 || this.#flushing) return;
    this.#flushing = (async () => {
      while (this.#pending.size) {
        const batch = [...this.#pending];
        this.#pending = new Set();
        await refreshStagesOf(this.#d, batch).catch((err: unknown) => this.#d.log?.warn({ err: (err as Error).message, shoppers: batch.length }, 'refreshing the stages of paying shoppers failed'));
      }
    })().finally(() => {
      this.#flushing = undefined;
    });
  }

  /** Resolves once the shoppers noted so far are refreshed. */
  async settled(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  async stop(): Promise<void> {
    await this.#rounds.stop();
    await this.settled();
  }
}

/** The shoppers whose purchases the events change (payments, cancellations, refunds). */
export function purchasersOf(events: readonly { type: string; user?: unknown }[]): string[] {
  const out = new Set<string>();
  for (const e of events) if ((e.type === 'order.paid' || e.type === 'order.cancelled' || e.type === 'refund.issued') && typeof e.user === 'string') out.add(e.user);
  return [...out];
}
