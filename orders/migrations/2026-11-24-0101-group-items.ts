import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Tiered group buys in the catalog: their tiers, what the thresholds count, and what happens
// below the first threshold. Null for flash-sale items.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('campaign_items')
    .addColumn('group_tiers', 'jsonb')
    .addColumn('group_count_by', 'text', (c) => c.check(sql`group_count_by in ('people', 'units')`))
    .addColumn('group_below_first_tier', 'text', (c) => c.check(sql`group_below_first_tier in ('fail', 'base')`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('campaign_items').dropColumn('group_tiers').dropColumn('group_count_by').dropColumn('group_below_first_tier').execute();
}
