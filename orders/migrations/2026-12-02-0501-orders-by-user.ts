import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// A shopper reads their own orders, newest first, in pages (orders/my-orders.ts): the index
// serves the keyset (user, held_at, order_id) without reading anyone else's rows.

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX orders_user_held ON orders (user_id, held_at DESC, order_id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('orders_user_held').execute();
}
