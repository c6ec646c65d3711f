import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Items whose Redis state retired (sale over, everything in the ledger, keys expiring): the
// keeper and the rebuild tell a retired item, whose keys are gone on purpose, from one Redis lost.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('item_retirements')
    .addColumn('item_id', 'bigint', (c) => c.primaryKey())
    .addColumn('retired_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(db.fn('now')))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('item_retirements').execute();
}
