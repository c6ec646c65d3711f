import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Keys } from '../common/contracts/keys.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { memberTiers, type MemberTier } from '../common/contracts/pricing.ts';

/**
 * Member tiers: the merchant assigns each shopper regular, silver or gold (no row: regular).
 * The ledger's member_tiers is the record; Redis keeps the serving copy (Keys.memberTiers) that
 * a buy reads, so a buy needs no Postgres. The reserve script prices the tier with the item's
 * member-day rule (common/contracts/pricing.ts); a hold keeps the tier it was priced at.
 */

export interface MemberDeps {
  readonly db: Kysely<Database>;
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
}

/** The tier a buy is priced at (the serving copy). */
export async function memberTier(d: Pick<MemberDeps, 'redis' | 'keys'>, userId: string): Promise<MemberTier> {
  const t = await d.redis.hget(d.keys.memberTiers, userId);
  return t !== null && (memberTiers as readonly string[]).includes(t) ? (t as MemberTier) : 'regular';
}

/** Records the tier in the ledger, then the serving copy (a retry after a failure in between repeats both). */
export async function setMemberTier(d: MemberDeps, userId: string, tier: MemberTier, by: string): Promise<void> {
  await d.db
    .insertInto('member_tiers')
    .values({ user_id: userId, tier, assigned_by: by })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ tier, assigned_by: by, assigned_at: new Date() }))
    .execute();
  if (tier === 'regular') await d.redis.hdel(d.keys.memberTiers, userId);
  else await d.redis.hset(d.keys.memberTiers, userId, tier);
}

/** Copies every tier of the ledger to the serving copy (after Redis lost its data). Returns how many. */
export async function restoreMemberTiers(d: MemberDeps): Promise<number> {
  const rows = await d.db.selectFrom('member_tiers').select(['user_id', 'tier']).where('tier', '<>', 'regular').execute();
  for (let i = 0; i < rows.length; i += 1000) {
    const part = rows.slice(i, i + 1000);
    await d.redis.hset(d.keys.memberTiers, Object.fromEntries(part.map((r) => [r.user_id, r.tier])));
  }
  return rows.length;
}
