import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// The order state machine's facts, refunds, per-minute order stats, room activity and its
// distinct-viewer sets, shows and their run sheets, and on-air intervals.

export async function up(db: Kysely<any>): Promise<void> {
  // Item-level events (stock, price, sale window, group tiers) have no order.
  await sql`ALTER TABLE order_events ALTER COLUMN order_id DROP NOT NULL`.execute(db);
  await sql`UPDATE order_events SET order_id = NULL WHERE order_id = ''`.execute(db);
  await db.schema.alterTable('order_events').addColumn('ver', 'bigint').execute();
  await db.schema.createIndex('order_events_item').on('order_events').columns(['item_id', 'ver']).execute();

  // The facts each order's events established. The state is derived from them, so events may
  // arrive in any order (or twice) and the row still ends the same.
  await db.schema
    .alterTable('orders')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('flash').check(sql`kind in ('flash', 'group')`))
    .addColumn('idem', 'text')
    .addColumn('held_ver', 'bigint') // null: the hold has not arrived yet (row made from its payment)
    .addColumn('price_ver', 'bigint') // version of the event that set unit_price and amount
    .addColumn('paid_ver', 'bigint')
    .addColumn('paid_amount', 'bigint', (c) => c.check(sql`paid_amount >= 0`))
    .addColumn('refunded_amount', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`refunded_amount >= 0`))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('cancel_ver', 'bigint')
    .addColumn('cancel_reason', 'text')
    .addColumn('expired_at', 'timestamptz')
    .addColumn('expire_ver', 'bigint')
    .addColumn('reminded_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('orders_room_paid').on('orders').columns(['room_id', 'paid_at']).where(sql.ref('paid_at'), 'is not', null).execute();

  // Money returned to buyers: one row per refund event.
  await db.schema
    .createTable('refunds')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('refunded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('refunds_room').on('refunds').columns(['room_id', 'item_id']).execute();
  await db.schema.createIndex('refunds_order').on('refunds').column('order_id').execute();

  // Order figures per room, item and minute, kept by the writer in the same transaction as the
  // orders they come from (append-and-aggregate).
  await db.schema
    .createTable('stats_minute')
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('minute', 'timestamptz', (c) => c.notNull())
    .addColumn('placed_orders', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ordered_gmv', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('paid_orders', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('paid_gmv', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refunds', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('refunded', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('stats_minute_pk', ['room_id', 'item_id', 'minute'])
    .execute();

  // Distinct paying users per room and item (a paid order stays counted: refunds are their own metric).
  await db.schema
    .createTable('room_buyers')
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('first_paid_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_buyers_pk', ['room_id', 'item_id', 'user_id'])
    .execute();

  // Every room-activity event accepted from Kafka (the primary key makes re-delivery harmless).
  // value: watched ms (viewer.left) or the online count (room.online).
  await db.schema
    .createTable('room_activity')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('item_id', 'bigint')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('value', 'bigint')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('room_activity_room').on('room_activity').columns(['room_id', 'type', 'at']).execute();

  // Distinct viewers of a room: entries (pv) and total watch time.
  await db.schema
    .createTable('room_viewers')
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('first_at', 'timestamptz')
    .addColumn('entries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('watch_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('room_viewers_pk', ['room_id', 'user_id'])
    .execute();

  // Distinct viewers who opened a product's detail.
  await db.schema
    .createTable('product_visitors')
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('first_at', 'timestamptz', (c) => c.notNull())
    .addColumn('clicks', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('product_visitors_pk', ['room_id', 'item_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('room_followers')
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('followed_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('room_followers_pk', ['room_id', 'user_id'])
    .execute();

  // On-air intervals: each item.on_air event starts an interval that the room's next one ends
  // (still open: ended_at null). Derived at read time, so events may arrive in any order.
  await sql`
    CREATE VIEW on_air_intervals AS
    SELECT room_id, item_id, started_at, ended_at FROM (
      SELECT room_id, item_id, at AS started_at,
             lead(at) OVER (PARTITION BY room_id ORDER BY at, event_id) AS ended_at
      FROM room_activity WHERE type = 'item.on_air'
    ) s
    WHERE item_id IS NOT NULL`.execute(db);

  // A show: one room's broadcast, with its planned times and run sheet.
  await db.schema
    .createTable('shows')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('room_id', 'bigint', (c) => c.notNull().unique().references('rooms.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('host_id', 'text', (c) => c.notNull())
    .addColumn('planned_start', 'timestamptz', (c) => c.notNull())
    .addColumn('planned_end', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('shows_window', sql`planned_end > planned_start`)
    .execute();

  await db.schema
    .createTable('run_sheet')
    .addColumn('show_id', 'bigint', (c) => c.notNull().references('shows.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('main', 'backup', 'lottery')`))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.references('campaign_items.id'))
    .addColumn('planned_start', 'timestamptz')
    .addColumn('planned_end', 'timestamptz')
    .addPrimaryKeyConstraint('run_sheet_pk', ['show_id', 'position'])
    .addCheckConstraint('run_sheet_window', sql`planned_end IS NULL OR planned_start IS NULL OR planned_end > planned_start`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('run_sheet').execute();
  await db.schema.dropTable('shows').execute();
  await sql`DROP VIEW on_air_intervals`.execute(db);
  for (const t of ['room_followers', 'product_visitors', 'room_viewers', 'room_activity', 'room_buyers', 'stats_minute', 'refunds']) {
    await db.schema.dropTable(t).execute();
  }
  await db.schema.dropIndex('orders_room_paid').execute();
  for (const c of ['reminded_at', 'expire_ver', 'expired_at', 'cancel_reason', 'cancel_ver', 'cancelled_at', 'refunded_amount', 'paid_amount', 'paid_ver', 'price_ver', 'held_ver', 'idem', 'kind']) {
    await db.schema.alterTable('orders').dropColumn(c).execute();
  }
  await db.schema.dropIndex('order_events_item').execute();
  await db.schema.alterTable('order_events').dropColumn('ver').execute();
  await sql`UPDATE order_events SET order_id = '' WHERE order_id IS NULL`.execute(db);
  await sql`ALTER TABLE order_events ALTER COLUMN order_id SET NOT NULL`.execute(db);
}
