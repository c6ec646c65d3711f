import type { ColumnType, Generated, Kysely } from 'kysely';
import type { Config } from '../platform/config.ts';
import { createDb as createPostgres, type DbOptions } from '../platform/postgres.ts';

/**
 * The ledger's tables as kysely sees them: the one `Database` interface every module that reads or
 * writes Postgres uses. The migrations in orders/migrations create these tables.
 * bigint columns come back as strings (see platform/postgres.ts).
 */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** A timestamp the database fills in (now()) unless given. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface RoomsTable {
  id: Generated<string>;
  title: string;
  host_id: string;
  created_at: DefaultTimestamp;
}

export interface CampaignItemsTable {
  id: Generated<string>;
  room_id: string;
  kind: 'flash' | 'group';
  title: string;
  price_fen: ColumnType<string, number | string, number | string>;
  total_stock: number;
  per_user_limit: number;
  starts_at: Timestamp;
  ends_at: Timestamp;
  hold_seconds: number;
  created_at: DefaultTimestamp;
  /** Tiered group buys: [{ threshold, price }] ascending (null for flash-sale items). */
  group_tiers: ColumnType<{ threshold: number; price: number }[] | null, string | null | undefined, string | null>;
  group_count_by: ColumnType<'people' | 'units' | null, 'people' | 'units' | null | undefined, 'people' | 'units' | null>;
  group_below_first_tier: ColumnType<'fail' | 'base' | null, 'fail' | 'base' | null | undefined, 'fail' | 'base' | null>;
  /** The show the item was created in; NULL for items from before shows (the room's shelf). */
  show_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The item's marketing offers as the room shows them (ItemOffers of common/contracts/protocol.ts); null: none set. */
  offers: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
}

export interface OrderEventsTable {
  event_id: string;
  /** null for item-level events (stock, price, sale window, group tiers). */
  order_id: string | null;
  type: string;
  item_id: string;
  room_id: string;
  occurred_at: Timestamp;
  recorded_at: DefaultTimestamp;
  payload: ColumnType<unknown, string, string>;
  /** The item's inventory version after the change. */
  ver: string | null;
}

export type OrderState = 'held' | 'paid' | 'cancelled' | 'expired' | 'refunded';

export interface OrdersTable {
  order_id: string;
  item_id: string;
  room_id: string;
  user_id: string;
  qty: number;
  unit_price: ColumnType<string, number | string, number | string>;
  amount: ColumnType<string, number | string, number | string>;
  state: OrderState;
  held_at: Timestamp;
  deadline_at: Timestamp | null;
  paid_at: Timestamp | null;
  updated_at: DefaultTimestamp;
  kind: Generated<'flash' | 'group'>;
  idem: string | null;
  /** null while the hold has not arrived (the row was made from its payment). */
  held_ver: string | null;
  price_ver: string | null;
  paid_ver: string | null;
  paid_amount: ColumnType<string | null, number | string | null, number | string | null>;
  refunded_amount: Generated<Fen>;
  cancelled_at: NullableTimestamp;
  cancel_ver: string | null;
  cancel_reason: string | null;
  expired_at: NullableTimestamp;
  expire_ver: string | null;
  reminded_at: NullableTimestamp;
}

type Fen = ColumnType<string, number | string, number | string>;

export interface RefundsTable {
  event_id: string;
  order_id: string;
  item_id: string;
  room_id: string;
  user_id: string;
  amount: Fen;
  reason: string;
  refunded_at: Timestamp;
  recorded_at: DefaultTimestamp;
}

export interface StatsMinuteTable {
  room_id: string;
  item_id: string;
  minute: Timestamp;
  placed_orders: number;
  ordered_gmv: Fen;
  paid_orders: number;
  paid_gmv: Fen;
  refunds: number;
  refunded: Fen;
}

export interface RoomBuyersTable {
  room_id: string;
  item_id: string;
  user_id: string;
  first_paid_at: Timestamp;
}

export interface RoomActivityTable {
  event_id: string;
  room_id: string;
  type: string;
  user_id: string | null;
  item_id: string | null;
  at: Timestamp;
  value: ColumnType<string | null, number | null | undefined, number | null>;
  recorded_at: DefaultTimestamp;
}

export interface RoomViewersTable {
  room_id: string;
  user_id: string;
  first_at: NullableTimestamp;
  entries: number;
  watch_ms: Fen;
}

export interface ProductVisitorsTable {
  room_id: string;
  item_id: string;
  user_id: string;
  first_at: Timestamp;
  clicks: number;
}

export interface RoomFollowersTable {
  room_id: string;
  user_id: string;
  followed_at: Timestamp;
}

export interface OnAirIntervalsView {
  room_id: string;
  item_id: string;
  started_at: Date;
  ended_at: Date | null;
}

export interface ShowsTable {
  id: Generated<string>;
  room_id: string;
  title: string;
  host_id: string;
  planned_start: Timestamp;
  planned_end: Timestamp;
  created_at: DefaultTimestamp;
  /** planned → live → ended; at most one live show per room (migration 2026-12-02-0101). */
  state: ColumnType<ShowState, ShowState | undefined, ShowState>;
  started_at: NullableTimestamp;
  ended_at: NullableTimestamp;
}

export type ShowState = 'planned' | 'live' | 'ended';

export interface RunSheetTable {
  show_id: string;
  position: number;
  role: 'main' | 'backup' | 'lottery';
  title: string;
  item_id: string | null;
  planned_start: NullableTimestamp;
  planned_end: NullableTimestamp;
  /** What the run of show did with the row (migration 2026-12-02-0301). */
  status: ColumnType<SlotStatus, SlotStatus | undefined, SlotStatus>;
  actual_start: NullableTimestamp;
  actual_end: NullableTimestamp;
  /** A replaced main row: the position of the backup that stands in its place. */
  replaced_by: ColumnType<number | null, number | null | undefined, number | null>;
  /** A backup row standing in for a main row: that row's position. */
  replaces: ColumnType<number | null, number | null | undefined, number | null>;
}

export type SlotStatus = 'pending' | 'on_air' | 'done' | 'skipped' | 'replaced';

/** Applied run-of-show commands by operation id: a retried command answers its first answer. */
export interface RunSheetOpsTable {
  show_id: string;
  op_id: string;
  command: string;
  answer: ColumnType<unknown, string, string>;
  at: Timestamp;
}

/** The host_commands table (migrations 2026-11-24-0201-host-command-audit, 2026-12-02-0201-host-command-outbox). */
export interface HostCommandsTable {
  id: Generated<string>;
  /** The audit outbox record this row came from (room and stream entry id), unique; null on older rows. */
  record_key: string | null;
  room_id: string;
  actor: string;
  role: string;
  command: string;
  idempotency_key: string | null;
  base_version: number | null;
  payload: string;
  outcome: 'applied' | 'duplicate' | 'rejected';
  version: number | null;
  room_offset: string | number | null;
  error_code: string | null;
  error_message: string | null;
  via: string;
  node: string;
  duration_ms: number;
  at: Date;
}

/** Items whose Redis state retired on purpose (inventory/retirement.ts): never rebuilt. */
export interface ItemRetirementsTable {
  item_id: string;
  /** When Redis marked it retired (the Redis clock). */
  retired_at: Timestamp;
  recorded_at: DefaultTimestamp;
}

/** Lotteries of a show (migration 2026-12-02-0401-lotteries, docs/lottery.md). */
export interface LotteriesTable {
  id: Generated<string>;
  room_id: string;
  show_id: string;
  /** The creating command's operation id: creation is idempotent. */
  op_id: string;
  title: string;
  prize_kind: 'item' | 'coupon';
  prize_item_id: string | null;
  prize_title: string | null;
  winners: number;
  eligibility: ColumnType<unknown, string, string>;
  opens_at: Timestamp;
  closes_at: Timestamp;
  claim_seconds: number;
  /** Secret until the draw (state 'drawn'); its SHA-256 is the published commitment. */
  seed: string;
  commitment: string;
  /** open → closed (entries stopped, the draw under way) → drawn. */
  state: ColumnType<'open' | 'closed' | 'drawn', 'open' | 'closed' | 'drawn' | undefined, 'open' | 'closed' | 'drawn'>;
  entrants: ColumnType<number, number | undefined, number>;
  entrants_hash: string | null;
  shortfall: number | null;
  drawn_at: NullableTimestamp;
  created_by: string;
  created_at: DefaultTimestamp;
}

export interface LotteryEntriesTable {
  lottery_id: string;
  user_id: string;
  entered_at: DefaultTimestamp;
  via: 'http' | 'ws';
}

export interface LotteryWinnersTable {
  lottery_id: string;
  rank: number;
  user_id: string;
  /** The zero-price prize hold (item prizes). */
  order_id: string | null;
  claim_deadline: NullableTimestamp;
}

/** The idempotency key of a create (room, flash-sale item, group buy) and the row it made. */
export interface CreateKeysTable {
  /** `<role>:<sub>` of the caller. */
  principal: string;
  /** The room an item is created in; '' for a room. */
  room_id: string;
  idem_key: string;
  /** 'createRoom', 'addItem' or 'openGroup'. */
  op: string;
  /** A hash of the create's parameters: the same key with other parameters is refused. */
  fingerprint: string;
  /** The id of the room or item it created. */
  created_id: string;
  created_at: DefaultTimestamp;
}

/** The commission rate of an item (migration 2026-12-02-0801-referrals, docs/referrals.md). */
export interface ReferralRatesTable {
  item_id: string;
  /** Basis points of the amount paid: 500 is 5%. */
  rate_bp: number;
  set_by: string;
  set_at: DefaultTimestamp;
}

/** A share link a shopper opened: the referrer, and until when an order is attributed to it. */
export interface ReferralClicksTable {
  id: Generated<string>;
  referrer_id: string;
  user_id: string;
  room_id: string;
  /** The item the link was for; null: the room. */
  item_id: string | null;
  clicked_at: Timestamp;
  expires_at: Timestamp;
}

/** One commission per attributed paid order, as credited, and how much of it refunds reversed. */
export interface ReferralCommissionsTable {
  order_id: string;
  referrer_id: string;
  user_id: string;
  room_id: string;
  item_id: string;
  click_id: string;
  rate_bp: number;
  /** The amount paid the commission was computed on. */
  base: Fen;
  amount: Fen;
  reversed: ColumnType<string, number | string | undefined, number | string>;
  credited_at: Timestamp;
  updated_at: DefaultTimestamp;
}

/** The commission ledger: a credit (≥ 0) or a reversal (< 0), keyed by the event that caused it. */
export interface ReferralCommissionEntriesTable {
  id: Generated<string>;
  order_id: string;
  referrer_id: string;
  kind: 'credit' | 'reversal';
  amount: Fen;
  cause: string;
  at: DefaultTimestamp;
}

/** A shopper's member tier, as the merchant assigned it (no row: regular). */
export interface MemberTiersTable {
  user_id: string;
  tier: 'regular' | 'silver' | 'gold';
  assigned_by: string;
  assigned_at: DefaultTimestamp;
}

/** The price breakdown of a hold with a discount (common/contracts/pricing.ts), from its order.held event. */
export interface OrderPricesTable {
  order_id: string;
  item_id: string;
  room_id: string;
  base: Fen;
  member_off: Fen;
  coupon: string | null;
  coupon_off: Fen;
  /** The steps as the reserve script wrote them (pricing.ts parseBreakdown). */
  breakdown: string;
}

export interface Database {
  rooms: RoomsTable;
  campaign_items: CampaignItemsTable;
  order_events: OrderEventsTable;
  orders: OrdersTable;
  refunds: RefundsTable;
  stats_minute: StatsMinuteTable;
  room_buyers: RoomBuyersTable;
  room_activity: RoomActivityTable;
  room_viewers: RoomViewersTable;
  product_visitors: ProductVisitorsTable;
  room_followers: RoomFollowersTable;
  on_air_intervals: OnAirIntervalsView;
  shows: ShowsTable;
  run_sheet: RunSheetTable;
  run_sheet_ops: RunSheetOpsTable;
  host_commands: HostCommandsTable;
  item_retirements: ItemRetirementsTable;
  lotteries: LotteriesTable;
  lottery_entries: LotteryEntriesTable;
  lottery_winners: LotteryWinnersTable;
  create_keys: CreateKeysTable;
  referral_rates: ReferralRatesTable;
  referral_clicks: ReferralClicksTable;
  referral_commissions: ReferralCommissionsTable;
  referral_commission_entries: ReferralCommissionEntriesTable;
  member_tiers: MemberTiersTable;
  order_prices: OrderPricesTable;
}

/** A kysely instance on the ledger. */
export function createDb(opts: DbOptions): Kysely<Database> {
  return createPostgres<Database>(opts);
}

/** The ledger from the process's settings, with a pool of at most `max` connections. */
export function createDbFromConfig(config: Pick<Config, 'databaseUrl' | 'databaseSchema'>, max = 10): Kysely<Database> {
  return createDb({ url: config.databaseUrl, schema: config.databaseSchema, max });
}
