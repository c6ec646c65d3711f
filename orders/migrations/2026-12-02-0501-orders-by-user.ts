import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// A shopper reads their own orders, newest first, in pages (orders/my-orders.ts): the index
// serves the keyset (user, held_at, order_id) without reading anyone else's rows. The first page
// also looks for holds the ledger has not recorded yet on items whose sale is open around now:
// the index on ends_at finds them without reading the whole catalog.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX orders_user_held ON orders (user_id, held_at DESC, order_id DESC)`.execute(db);
  await db.schema.createIndex('campaign_items_ends').on('campaign_items').column('ends_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('campaign_items_ends').execute();
  await db.schema.dropIndex('orders_user_held').execute();
}
