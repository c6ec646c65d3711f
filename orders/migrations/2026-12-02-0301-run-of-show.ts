import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The run of show: each run-sheet row records what happened to it. A row is pending until the
// host's `next` puts it on air, then done when the next one goes on air; `skip` marks a pending
// row skipped; `swap` marks a main row replaced and names the backup that stands in its place
// (the backup row names the main position it replaces). Actual start and end are the server's
// clock at the command. Every applied run-of-show command is kept by its operation id, so a
// command retried after a crash changes the sheet once.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('run_sheet')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'on_air', 'done', 'skipped', 'replaced')`))
    .execute();
  await db.schema.alterTable('run_sheet').addColumn('actual_start', 'timestamptz').execute();
  await db.schema.alterTable('run_sheet').addColumn('actual_end', 'timestamptz').execute();
  await db.schema.alterTable('run_sheet').addColumn('replaced_by', 'integer').execute();
  await db.schema.alterTable('run_sheet').addColumn('replaces', 'integer').execute();
  await sql`CREATE UNIQUE INDEX run_sheet_one_on_air ON run_sheet (show_id) WHERE status = 'on_air'`.execute(db);

  await db.schema
    .createTable('run_sheet_ops')
    .addColumn('show_id', 'bigint', (c) => c.notNull().references('shows.id').onDelete('cascade'))
    .addColumn('op_id', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('answer', 'jsonb', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('run_sheet_ops_pk', ['show_id', 'op_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('run_sheet_ops').execute();
  await db.schema.dropIndex('run_sheet_one_on_air').execute();
  for (const c of ['replaces', 'replaced_by', 'actual_end', 'actual_start', 'status']) await db.schema.alterTable('run_sheet').dropColumn(c).execute();
}
