import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// An item's marketing offers (team buy, bargain, member-day rule, coupon campaigns, commission
// rate) as viewers see them in the room (`offers` of ItemInfo), kept with the item's row: the
// durable copy the host commands write before the room hears of a change, and what a rebuild
// after a Redis loss reads to restore the team buy and bargain settings the ledger has no event
// for.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('campaign_items').addColumn('offers', 'jsonb').execute();
}
