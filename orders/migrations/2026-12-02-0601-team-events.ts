import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The team-buy and bargain figures of a room (orders/team-stats.ts) count its team and bargain
// events, the holds that bought a bargain and the refunds of failed teams: partial indexes on
// those events of order_events and one on the refunds of a room by reason read them without
// scanning the room's order events.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX order_events_team ON order_events (room_id, type) WHERE type LIKE 'team.%' OR type LIKE 'bargain.%'`.execute(db);
  await sql`CREATE INDEX order_events_bargain_holds ON order_events (room_id) WHERE type = 'order.held' AND payload ? 'bargain'`.execute(db);
  await sql`CREATE INDEX refunds_room_reason ON refunds (room_id, reason)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('refunds_room_reason').execute();
  await db.schema.dropIndex('order_events_bargain_holds').execute();
  await db.schema.dropIndex('order_events_team').execute();
}
