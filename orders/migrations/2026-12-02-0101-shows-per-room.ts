import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// A room is a channel with many shows over time. A show goes planned → live → ended (at most
// one live show per room), and every item belongs to the show it was created in: an order's show
// is its item's show, so a show's figures are the figures of its items and a room's second show
// starts from zero. Items created before this migration keep show_id NULL (the room's shelf).

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE shows DROP CONSTRAINT IF EXISTS shows_room_id_key`.execute(db);
  await db.schema
    .alterTable('shows')
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('planned').check(sql`state in ('planned', 'live', 'ended')`))
    .execute();
  await db.schema.alterTable('shows').addColumn('started_at', 'timestamptz').execute();
  await db.schema.alterTable('shows').addColumn('ended_at', 'timestamptz').execute();
  await db.schema.createIndex('shows_room').on('shows').columns(['room_id', 'id']).execute();
  await sql`CREATE UNIQUE INDEX shows_one_live_per_room ON shows (room_id) WHERE state = 'live'`.execute(db);

  await db.schema.alterTable('campaign_items').addColumn('show_id', 'bigint', (c) => c.references('shows.id')).execute();
  await db.schema.createIndex('campaign_items_show').on('campaign_items').column('show_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('campaign_items_show').execute();
  await db.schema.alterTable('campaign_items').dropColumn('show_id').execute();
  await db.schema.dropIndex('shows_one_live_per_room').execute();
  await db.schema.dropIndex('shows_room').execute();
  for (const c of ['ended_at', 'started_at', 'state']) await db.schema.alterTable('shows').dropColumn(c).execute();
  await sql`ALTER TABLE shows ADD CONSTRAINT shows_room_id_key UNIQUE (room_id)`.execute(db);
}
