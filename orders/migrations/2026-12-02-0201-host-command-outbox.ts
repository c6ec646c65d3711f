import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Host command audit rows arrive through the rooms' audit outboxes (a stream drained into this
 * table): each row carries the key of its record (room and stream entry), unique, so a record
 * written twice (a drainer died between the insert and the acknowledgement) is one row.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('host_commands').addColumn('record_key', 'text').execute();
  await db.schema.createIndex('host_commands_record_key').unique().on('host_commands').column('record_key').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('host_commands_record_key').execute();
  await db.schema.alterTable('host_commands').dropColumn('record_key').execute();
}
