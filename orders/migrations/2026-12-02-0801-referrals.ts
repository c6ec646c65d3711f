import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Referral commissions (分销, docs/referrals.md): the commission rate of an item, the share links
// shoppers opened (one row per opening, with the end of its attribution window), one commission
// per attributed paid order (the rate and base it was credited at, and how much of it has been
// reversed), and the commission ledger: one signed entry per credit or reversal, keyed by the
// event that caused it so that a re-delivered batch can never post twice.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('referral_rates')
    .addColumn('item_id', 'bigint', (c) => c.primaryKey().references('campaign_items.id'))
    .addColumn('rate_bp', 'integer', (c) => c.notNull().check(sql`rate_bp between 0 and 10000`))
    .addColumn('set_by', 'text', (c) => c.notNull())
    .addColumn('set_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('referral_clicks')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('referrer_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'bigint', (c) => c.notNull().references('rooms.id'))
    .addColumn('item_id', 'bigint', (c) => c.references('campaign_items.id'))
    .addColumn('clicked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('referral_clicks_not_self', sql`referrer_id <> user_id`)
    .addCheckConstraint('referral_clicks_window', sql`expires_at > clicked_at`)
    .execute();
  // The writer's lookup: a buyer's latest click in a room.
  await sql`CREATE INDEX referral_clicks_user ON referral_clicks (user_id, room_id, clicked_at DESC, id DESC)`.execute(db);

  await db.schema
    .createTable('referral_commissions')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('referrer_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('room_id', 'bigint', (c) => c.notNull())
    .addColumn('item_id', 'bigint', (c) => c.notNull())
    .addColumn('click_id', 'bigint', (c) => c.notNull().references('referral_clicks.id'))
    .addColumn('rate_bp', 'integer', (c) => c.notNull())
    .addColumn('base', 'bigint', (c) => c.notNull().check(sql`base > 0`))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('reversed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('credited_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('referral_commissions_reversed', sql`reversed between 0 and amount`)
    .addCheckConstraint('referral_commissions_not_self', sql`referrer_id <> user_id`)
    .execute();
  await sql`CREATE INDEX referral_commissions_referrer ON referral_commissions (referrer_id, credited_at DESC, order_id DESC)`.execute(db);
  await db.schema.createIndex('referral_commissions_room').on('referral_commissions').columns(['room_id', 'referrer_id']).execute();

  await db.schema
    .createTable('referral_commission_entries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('order_id', 'text', (c) => c.notNull().references('referral_commissions.order_id'))
    .addColumn('referrer_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('credit', 'reversal')`))
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('cause', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('referral_entries_sign', sql`(kind = 'credit' and amount >= 0) or (kind = 'reversal' and amount < 0)`)
    .addUniqueConstraint('referral_entries_cause', ['order_id', 'cause'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('referral_commission_entries').execute();
  await db.schema.dropTable('referral_commissions').execute();
  await db.schema.dropTable('referral_clicks').execute();
  await db.schema.dropTable('referral_rates').execute();
}
