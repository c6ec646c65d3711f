import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Member tiers (assigned by the merchant: regular, silver, gold) and the price breakdown of every
// hold that had a discount (member-day or coupon), written by the ledger writer from the
// order.held event in the same transaction as the order row. A hold without one has no row:
// its price is its base (qty × unit price).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('member_tiers')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('tier', 'text', (c) => c.notNull().check(sql`tier IN ('regular', 'silver', 'gold')`))
    .addColumn('assigned_by', 'text', (c) => c.notNull())
    .addColumn('assigned_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('order_prices')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('base', 'bigint', (c) => c.notNull())
    .addColumn('member_off', 'bigint', (c) => c.notNull())
    .addColumn('coupon', 'text')
    .addColumn('coupon_off', 'bigint', (c) => c.notNull())
    .addColumn('breakdown', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('order_prices_room').on('order_prices').columns(['room_id', 'coupon']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('order_prices').execute();
  await db.schema.dropTable('member_tiers').execute();
}
