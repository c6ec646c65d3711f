import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Keys } from '../common/contracts/keys.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { LivesaleError } from '../common/platform/errors.ts';
import { memberTiers, type MemberTier } from '../common/contracts/pricing.ts';

/**
 * Member tiers: the merchant assigns each shopper regular, silver or gold (no row: regular).
 * The ledger's member_tiers is the record; Redis keeps the serving copy (Keys.memberTiers) that
 * a buy reads, so a buy needs no Postgres. The reserve script prices the tier with the item's
 * member-day rule (common/contracts/pricing.ts); a hold keeps the tier it was priced at.
 *
 * After Redis lost its data the serving copy is empty, and an empty copy would price every gold
 * member as regular. So the copy carries a marker field, written once it holds every tier of the
 * ledger: a buy that finds no marker restores the copy from the ledger before it prices (once
 * per process at a time; `ensureMemberTiers`), and the rebuild of a lost item does the same
 * before the item sells again (inventory/rebuild.ts `beforeReopen`, wired by scripts/sweeper.ts).
 * The marker lives in the same hash as the tiers, so the copy and its marker are lost together.
 */

export interface MemberDeps {
  readonly db: Kysely<Database>;
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
}

/** The field of the serving copy that says it is complete (a user id never has a space). */
export const tiersRestoredField = '~ restored';

/** The tier a buy is priced at: the serving copy, restored from the ledger first if Redis lost it. */
export async function memberTier(d: MemberDeps, userId: string): Promise<MemberTier> {
  const [first, restored] = await d.redis.hmget(d.keys.memberTiers, userId, tiersRestoredField);
  let t = first ?? null;
  if (restored == null) {
    // Priced at a tier the copy may have lost: never. Without the ledger the buy waits (503, retriable).
    await ensureMemberTiers(d).catch((err: unknown) => {
      throw new LivesaleError('ITEM_UNAVAILABLE', `member tiers are being restored after a Redis loss: ${(err as Error).message}`);
    });
    t = await d.redis.hget(d.keys.memberTiers, userId);
  }
  return t !== null && (memberTiers as readonly string[]).includes(t) ? (t as MemberTier) : 'regular';
}

/**
 * Records the tier in the ledger, then the serving copy (a retry after a failure in between
 * repeats both). Regular is written as a value, not deleted, so a restore that read the ledger
 * before this change cannot put the old tier back (it writes only fields that are absent).
 */
export async function setMemberTier(d: MemberDeps, userId: string, tier: MemberTier, by: string): Promise<void> {
  await d.db
    .insertInto('member_tiers')
    .values({ user_id: userId, tier, assigned_by: by })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ tier, assigned_by: by, assigned_at: new Date() }))
    .execute();
  await d.redis.hset(d.keys.memberTiers, userId, tier);
}

/**
 * Copies every tier of the ledger to the serving copy (after Redis lost its data), then marks
 * the copy complete. Returns how many tiers the ledger has. A field already in the copy is kept:
 * it was written by a tier change after the ledger was read here (setMemberTier writes the ledger
 * first), so it is the newer one.
 */
export async function restoreMemberTiers(d: MemberDeps): Promise<number> {
  const rows = await d.db.selectFrom('member_tiers').select(['user_id', 'tier']).execute();
  for (let i = 0; i < rows.length; i += 1000) {
    const p = d.redis.pipeline();
    for (const r of rows.slice(i, i + 1000)) p.hsetnx(d.keys.memberTiers, r.user_id, r.tier);
    const results = await p.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }
  await d.redis.hset(d.keys.memberTiers, tiersRestoredField, String(Date.now()));
  return rows.length;
}

/** Restores in progress, per Redis client and serving copy. */
const restoring = new WeakMap<object, Map<string, Promise<number | undefined>>>();

/**
 * Restores the serving copy unless it is marked complete; concurrent callers on one Redis client
 * share one restore. Returns how many tiers were restored, or undefined when nothing was needed.
 */
export function ensureMemberTiers(d: MemberDeps): Promise<number | undefined> {
  let byKey = restoring.get(d.redis);
  if (!byKey) restoring.set(d.redis, (byKey = new Map()));
  const key = d.keys.memberTiers;
  let p = byKey.get(key);
  if (!p) {
    p = (async () => ((await d.redis.hexists(key, tiersRestoredField)) === 1 ? undefined : restoreMemberTiers(d)))().finally(() => byKey.delete(key));
    byKey.set(key, p);
  }
  return p;
}
