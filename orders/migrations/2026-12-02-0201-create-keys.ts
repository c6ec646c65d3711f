import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The idempotency keys of the creates (a room, a flash-sale item, a group buy): the key names the
// row it created, written in the same transaction as that row, so a create retried after a crash
// at any later step finds its row instead of making a second one. The key belongs to one
// request: op and fingerprint (a hash of its parameters) are kept to refuse it for another one.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('create_keys')
    .addColumn('principal', 'text', (c) => c.notNull())
    // The room an item is created in; '' for a room.
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('idem_key', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_id', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(db.fn('now')))
    .addPrimaryKeyConstraint('create_keys_pkey', ['principal', 'room_id', 'idem_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('create_keys').execute();
}
