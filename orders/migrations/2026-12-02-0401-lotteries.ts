import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.
//
// Lotteries (福袋) of a show: the lottery with its secret seed and published commitment, one
// entry per user (the primary key), and the winners by rank with their prize holds
// (docs/lottery.md). `op_id` makes creation idempotent: the host command's operation id.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lotteries')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('room_id', 'bigint', (c) => c.notNull().references('rooms.id'))
    .addColumn('show_id', 'bigint', (c) => c.notNull().references('shows.id'))
    .addColumn('op_id', 'text', (c) => c.notNull().unique())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('prize_kind', 'text', (c) => c.notNull().check(sql`prize_kind in ('item', 'coupon')`))
    .addColumn('prize_item_id', 'bigint', (c) => c.references('campaign_items.id'))
    .addColumn('prize_title', 'text')
    .addColumn('winners', 'integer', (c) => c.notNull().check(sql`winners >= 1`))
    .addColumn('eligibility', 'jsonb', (c) => c.notNull())
    .addColumn('opens_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closes_at', 'timestamptz', (c) => c.notNull())
    .addColumn('claim_seconds', 'integer', (c) => c.notNull())
    .addColumn('seed', 'text', (c) => c.notNull())
    .addColumn('commitment', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('open').check(sql`state in ('open', 'closed', 'drawn')`))
    .addColumn('entrants', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('entrants_hash', 'text')
    .addColumn('shortfall', 'integer')
    .addColumn('drawn_at', 'timestamptz')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('lotteries_window', sql`closes_at > opens_at`)
    .addCheckConstraint('lotteries_prize', sql`(prize_kind = 'item') = (prize_item_id is not null)`)
    .execute();
  await db.schema.createIndex('lotteries_show').on('lotteries').columns(['show_id', 'id']).execute();

  await db.schema
    .createTable('lottery_entries')
    .addColumn('lottery_id', 'bigint', (c) => c.notNull().references('lotteries.id'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('entered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('via', 'text', (c) => c.notNull().check(sql`via in ('http', 'ws')`))
    .addPrimaryKeyConstraint('lottery_entries_pk', ['lottery_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('lottery_winners')
    .addColumn('lottery_id', 'bigint', (c) => c.notNull().references('lotteries.id'))
    .addColumn('rank', 'integer', (c) => c.notNull().check(sql`rank >= 1`))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text')
    .addColumn('claim_deadline', 'timestamptz')
    .addPrimaryKeyConstraint('lottery_winners_pk', ['lottery_id', 'rank'])
    .addUniqueConstraint('lottery_winners_user', ['lottery_id', 'user_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lottery_winners').execute();
  await db.schema.dropTable('lottery_entries').execute();
  await db.schema.dropTable('lotteries').execute();
}
