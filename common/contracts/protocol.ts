import { z } from 'zod';
import { lifecycleStages } from './pricing.ts';

/**
 * The wire protocol: every message the gateway accepts is validated with these schemas, every
 * frame it sends has one of the frame schemas below, and docs/ (JSON Schema, AsyncAPI, OpenAPI)
 * is generated from this file (`npm run protocol:docs`). The typed client uses the same file.
 */

// ---------------------------------------------------------------------------------------------
// Scalars: every number has its domain and every text field is well-formed (docs/protocol.md,
// "Input domains"), so nothing out of range reaches Redis, a Date or Postgres.

/** The latest time any field may name: 2100-01-01T00:00:00Z (far inside a Date's range and a Postgres timestamptz). */
export const maxEpochMs = Date.UTC(2100, 0, 1);

/** NUL (Postgres text cannot hold it) or a UTF-16 surrogate without its pair (not encodable as UTF-8). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point: it is refused.
const illFormed = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The one schema of a free text field: `min` to `max` characters, trimmed when `trim`, refusing
 * NUL and lone surrogates (VALIDATION_FAILED) so a text can always be stored and sent as UTF-8.
 */
export function text(opts: { min?: number; max: number; trim?: boolean }) {
  const base = opts.trim ? z.string().trim() : z.string();
  return base
    .min(opts.min ?? 0)
    .max(opts.max)
    .refine((s) => !illFormed.test(s), 'must not contain NUL or unpaired surrogate characters');
}

/** The one schema of a point in time: integer epoch milliseconds from 1970 up to maxEpochMs. */
export function epochMsSchema() {
  return z.number().int().min(0).max(maxEpochMs);
}

const reqId = text({ min: 1, max: 64 }).optional().describe('Echoed in the reply, to match it with the request');
export const idSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1 to 64 letters, digits, - or _');
export const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, '1 to 128 printable ASCII characters')
  .describe('The same key with the same parameters returns the first answer and never applies twice; with other parameters it is refused (IDEMPOTENCY_KEY_REUSED)');
export const quantity = z.number().int().min(1).max(10_000);
/** Money: integer minor units (fen). */
export const fen = z.number().int().min(0).max(1_000_000_000).describe('Amount in fen (integer minor units)');
const count = z.number().int().min(0).max(1_000_000_000);
const epochMs = epochMsSchema().describe('Epoch milliseconds');
const offsetSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Position in the room log');
const versionSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe('Room document version: changes with every host command');
const epochSchema = text({ min: 1, max: 64 }).describe('Room log epoch: a new epoch voids every offset');

// ---------------------------------------------------------------------------------------------
// The room document

export const tierSchema = z.object({
  threshold: z.number().int().min(1).max(1_000_000_000).describe('Participants (or units) needed'),
  price: fen.describe('Unit price once the threshold is reached'),
});
export type Tier = z.infer<typeof tierSchema>;

// ---------------------------------------------------------------------------------------------
// Marketing offers on an item (docs/team-buy-bargain.md, docs/referrals.md): what a viewer sees of
// the item's team buy, bargain, member-day rule, coupon campaigns and referral rate, set by the
// host commands setTeamBuy, setBargain, setMemberDay, addCoupon and setCommission.

export const memberTierSchema = z.enum(['regular', 'silver', 'gold']);
export const lifecycleStageSchema = z.enum(lifecycleStages).describe('Lifecycle stage from the ledger (orders/segments.ts)');
/** Who a coupon campaign or a reminder is for: absent fields admit everyone. */
export const audienceSchema = z
  .strictObject({
    tiers: z.array(memberTierSchema).min(1).max(3).optional().describe('Only shoppers of these member tiers'),
    stages: z.array(lifecycleStageSchema).min(1).max(4).optional().describe('Only shoppers in these lifecycle stages (a shopper who never paid is in none)'),
  })
  .describe('Targeting: a shopper must match every field given');
export type Audience = z.infer<typeof audienceSchema>;

export const teamOfferSchema = z.object({ size: z.number().int().min(2).max(100), price: fen, windowMs: z.number().int().min(1000), teamsPerUser: z.number().int().min(1).max(100) });
export const bargainOfferSchema = z.object({ start: fen, floor: fen, helpers: z.number().int().min(1).max(1000), windowMs: z.number().int().min(1000), newUsersOnly: z.boolean() });
export const memberDayOfferSchema = z.object({ threshold: fen, off: z.object({ regular: fen, silver: fen, gold: fen }) });
export const couponOfferSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  kind: z.enum(['fixed', 'percent', 'spend']),
  amount: fen,
  percent: z.number().int().min(0).max(99),
  minSpend: fen,
  perUser: z.number().int().min(1),
  startsAt: z.number().int(),
  endsAt: z.number().int(),
  audience: audienceSchema.optional(),
});
export const itemOffersSchema = z
  .object({
    team: teamOfferSchema.optional().describe('Team buy (拼团): seats per team, the seat price, the window'),
    bargain: bargainOfferSchema.optional().describe('Bargain (砍价): start and floor price, helps to the floor, the window'),
    memberDay: memberDayOfferSchema.optional().describe('Member-day rule: fen off per tier from the threshold'),
    coupons: z.array(couponOfferSchema).max(50).optional().describe("The item's coupon campaigns (their terms; counts come from the campaign's own read)"),
    commissionBp: z.number().int().min(0).max(10_000).optional().describe('Referral commission rate, basis points of the paid amount'),
  })
  .describe("The item's marketing offers");
export type ItemOffers = z.infer<typeof itemOffersSchema>;

export const itemInfoSchema = z.object({
  id: idSchema,
  kind: z.enum(['flash', 'group']),
  title: text({ max: 200 }),
  price: fen.describe('Unit price now (group buys: the base price)'),
  total: count.describe('Total stock'),
  limit: z.number().int().min(1).max(10_000).describe('Per-user limit'),
  startsAt: epochMs.describe('Sale window start (server clock)'),
  endsAt: epochMs.describe('Sale window end (server clock)'),
  scheduledPrice: z
    .object({ price: fen, at: epochMs })
    .optional()
    .describe('A price change that takes effect at `at` (server clock); from then on it is the price'),
  tiers: z.array(tierSchema).optional().describe('Group buys: the tiers, ascending thresholds'),
  closed: z
    .object({ count, finalPrice: fen, outcome: z.enum(['succeeded', 'failed', 'base_price']) })
    .optional()
    .describe('Group buys: the result once closed'),
  showId: idSchema.optional().describe('The show the item belongs to (absent: the room shelf, in no show)'),
  offers: itemOffersSchema.optional(),
});
export type ItemInfo = z.infer<typeof itemInfoSchema>;

/** A show's state: planned → live → ended (at most one live show per room). */
export const showStateSchema = z.enum(['planned', 'live', 'ended']);
export type ShowStateName = z.infer<typeof showStateSchema>;

/** What viewers see of the room's show: its id, title and state. */
export const roomShowSchema = z.object({ id: idSchema, title: text({ max: 200 }), state: showStateSchema }).describe("The room's show as viewers see it");
export type RoomShow = z.infer<typeof roomShowSchema>;

export const announcementSchema = z.object({ id: text({ min: 1, max: 64 }), text: text({ max: 1000 }), at: epochMs });
export type Announcement = z.infer<typeof announcementSchema>;

// ---------------------------------------------------------------------------------------------
// Lotteries (福袋, docs/lottery.md): a host creates one in a show, shoppers enter, the draw is
// verifiable from what is published (commitment first, seed and entrants after).

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex characters');

export const lotteryEligibilitySchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('anyone') }).describe('Any shopper'),
    z.strictObject({ kind: z.literal('present') }).describe('Shoppers connected to the room when they enter'),
    z.strictObject({ kind: z.literal('followers') }).describe('Followers of the room'),
    z.strictObject({ kind: z.literal('watched'), minMinutes: z.number().int().min(1).max(1440) }).describe('Viewers who watched this show for at least minMinutes'),
    z.strictObject({ kind: z.literal('buyers') }).describe('Shoppers with a paid order of an item of this show'),
  ])
  .describe('Who may enter, checked at entry');
export type LotteryEligibility = z.infer<typeof lotteryEligibilitySchema>;

export const lotteryPrizeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('item'), itemId: idSchema }).describe('One unit of a flash-sale item of the room per winner, held at price 0 until claimed'),
    z.strictObject({ kind: z.literal('coupon'), title: text({ trim: true, min: 1, max: 200 }) }).describe('A coupon: the winners are recorded, nothing is held'),
  ])
  .describe('What each winner gets');
export type LotteryPrize = z.infer<typeof lotteryPrizeSchema>;

/** The most winners a lottery may have. */
export const maxLotteryWinners = 1000;

export const lotteryInfoSchema = z
  .object({
    id: idSchema,
    showId: idSchema,
    title: text({ max: 200 }),
    prize: lotteryPrizeSchema,
    winners: z.number().int().min(1).max(maxLotteryWinners).describe('Winners asked for'),
    eligibility: lotteryEligibilitySchema,
    opensAt: epochMs.describe('Entries open (ledger clock)'),
    closesAt: epochMs.describe('Entries close (ledger clock); the draw closes them earlier'),
    claimSeconds: z.number().int().min(10).max(86_400).describe('How long a winner has to claim an item prize'),
    commitment: hex64.describe('SHA-256 of the secret seed, published before any entry'),
    state: z.enum(['open', 'drawn']),
    drawn: z
      .object({
        at: epochMs,
        seed: hex64.describe('The seed: its SHA-256 is the commitment'),
        entrantsHash: hex64.describe('SHA-256 of the sorted entrant ids joined with newlines'),
        entrants: count,
        winners: z.array(text({ min: 1, max: 128 })).describe('Winner user ids by rank'),
        shortfall: count.describe('Winners asked for that could not be drawn (too few entrants or prize stock)'),
      })
      .optional()
      .describe('The draw, once made'),
  })
  .describe('A lottery as the room shows it');
export type LotteryInfo = z.infer<typeof lotteryInfoSchema>;

export { maxAnnouncements, maxRoomLotteries } from './room-limits.ts';

export const roomDocSchema = z
  .object({
    id: idSchema,
    title: text({ max: 200 }),
    hostId: text({ max: 128 }),
    listing: z.array(idSchema).describe('Listed items in display order'),
    onAir: idSchema.nullable().describe('The item the host is presenting'),
    items: z.record(idSchema, itemInfoSchema).describe('Every item of the room, listed or not'),
    announcements: z.array(announcementSchema).optional().describe(`The last ${20} announcements, oldest first`),
    pinned: announcementSchema.nullable().optional().describe('The pinned announcement, shown first until unpinned (absent or null: none)'),
    show: roomShowSchema.nullable().optional().describe('The show last started or ended in the room (absent until one starts)'),
    lotteries: z.array(lotteryInfoSchema).optional().describe(`The last ${20} lotteries, oldest first`),
  })
  .describe('The structural part of a room, changed only by host commands');
export type RoomDoc = z.infer<typeof roomDocSchema>;

export const stockLevelSchema = z.object({
  available: count,
  ver: z.number().int().min(0).describe("The item's inventory version: a higher version is always newer"),
});
export type StockLevel = z.infer<typeof stockLevelSchema>;

export const groupProgressSchema = z.object({
  count: count.describe('Participants (or units) so far'),
  price: fen.describe('Unit price of the tier reached'),
  next: z.number().int().min(1).nullable().describe('The next threshold, or null above the top tier'),
  ver: z.number().int().min(0),
});
export type GroupProgress = z.infer<typeof groupProgressSchema>;

const stockItem = z.object({ id: idSchema, available: count, ver: z.number().int().min(0) });

export const deltaSchema = z
  .discriminatedUnion('t', [
    z.object({ t: z.literal('item'), item: itemInfoSchema, listing: z.array(idSchema), stock: stockLevelSchema.optional() }).describe('An item was added or its settings changed (event)'),
    z.object({ t: z.literal('onAir'), item: idSchema.nullable() }).describe('The item on air changed (state)'),
    z.object({ t: z.literal('listing'), listing: z.array(idSchema) }).describe('Items listed, delisted or reordered (state)'),
    z.object({ t: z.literal('price'), item: idSchema, price: fen }).describe('A price change in effect now (state)'),
    z.object({ t: z.literal('stock'), items: z.array(stockItem) }).describe('Stock levels (state; reaching 0 is an event)'),
    z.object({ t: z.literal('announce'), announcement: announcementSchema }).describe('A host announcement (event)'),
    z.object({ t: z.literal('pin'), announcement: announcementSchema.nullable() }).describe('An announcement was pinned, or the pin removed (null) (state)'),
    z.object({ t: z.literal('sale'), item: idSchema, startsAt: epochMs, endsAt: epochMs }).describe('A sale opened, closed or rescheduled (event)'),
    z.object({ t: z.literal('group'), item: idSchema, ...groupProgressSchema.shape, tier: z.number().int().min(0).optional() }).describe('Group buy progress (state; a tier crossing, with `tier`, is an event)'),
    z.object({ t: z.literal('groupClosed'), item: idSchema, count, finalPrice: fen, outcome: z.enum(['succeeded', 'failed', 'base_price']) }).describe('A group buy closed (event)'),
    z.object({ t: z.literal('show'), show: roomShowSchema }).describe("The room's show started or ended (state)"),
    z
      .object({
        t: z.literal('slot'),
        onAir: idSchema.nullable().describe('The item on air after the step'),
        listing: z.array(idSchema).describe('The listing after the step'),
        sale: z.object({ item: idSchema, startsAt: epochMs, endsAt: epochMs }).optional().describe('A pre-heated sale the step opened'),
      })
      .describe('A run-of-show step (next, swap, skip): the item on air, the listing and a sale it opened, in one change (event)'),
    z.object({ t: z.literal('lottery'), lottery: lotteryInfoSchema }).describe('A lottery was created (event)'),
    z.object({ t: z.literal('lotteryEntries'), lottery: idSchema, entrants: count }).describe('Entrants of a lottery so far (state, coalesced)'),
    z
      .object({ t: z.literal('team'), item: idSchema, team: idSchema, state: z.enum(['open', 'formed', 'failed']), seats: count, paid: count, size: count, ver: z.number().int().min(0) })
      .describe("A team buy's team: seats taken and paid of its size, and its state (state, latest version wins; formed or failed at once)"),
    z.object({ t: z.literal('lotteryDrawn'), lottery: lotteryInfoSchema }).describe('A lottery was drawn: seed, entrant hash and winners (event)'),
    z
      .object({ t: z.literal('reminder'), item: idSchema, audience: audienceSchema, at: epochMs })
      .describe('The host sent a reminder about an item to an audience (event; the shoppers of the audience connected to the room got a `reminder` frame)'),
  ])
  .describe('One ordered change of a room');
export type Delta = z.infer<typeof deltaSchema>;

/** A room as a subscriber holds it: the document, stock levels, group progress and its position in the log. */
export interface RoomView {
  doc: RoomDoc;
  stock: Record<string, StockLevel>;
  groups: Record<string, GroupProgress>;
  epoch: string;
  offset: number;
  version: number;
}

// ---------------------------------------------------------------------------------------------
// Lanes (docs/protocol.md): how a delta travels to a socket that cannot keep up.

export interface Lane {
  /** state: latest value per key wins for a backpressured socket; event: ordered, never dropped. */
  readonly lane: 'state' | 'event';
  /** The coalescing key of a state delta (per item for stock and group progress). */
  readonly keys?: readonly string[];
  /** Skips the batching tick (sale open/close, sold out, tier crossing, group closed). */
  readonly urgent: boolean;
}

export function laneOf(d: Delta): Lane {
  switch (d.t) {
    case 'onAir':
      return { lane: 'state', keys: ['onAir'], urgent: false };
    case 'listing':
      return { lane: 'state', keys: ['listing'], urgent: false };
    case 'price':
      return { lane: 'state', keys: [`price:${d.item}`], urgent: false };
    case 'stock': {
      const soldOut = d.items.some((s) => s.available === 0);
      return soldOut ? { lane: 'event', urgent: true } : { lane: 'state', keys: d.items.map((s) => `stock:${s.id}`), urgent: false };
    }
    case 'group':
      return d.tier !== undefined ? { lane: 'event', urgent: true } : { lane: 'state', keys: [`group:${d.item}`], urgent: false };
    case 'show':
      return { lane: 'state', keys: ['show'], urgent: true };
    case 'pin':
      return { lane: 'state', keys: ['pin'], urgent: false };
    case 'lotteryEntries':
      return { lane: 'state', keys: [`lottery:${d.lottery}`], urgent: false };
    case 'team':
      return { lane: 'state', keys: [`team:${d.team}`], urgent: d.state !== 'open' };
    case 'sale':
    case 'groupClosed':
    case 'lotteryDrawn':
      return { lane: 'event', urgent: true };
    case 'slot':
      return { lane: 'event', urgent: d.sale !== undefined };
    case 'lottery':
      return { lane: 'event', urgent: false };
    case 'item':
    case 'announce':
    case 'reminder':
      return { lane: 'event', urgent: false };
  }
}

// ---------------------------------------------------------------------------------------------
// Frames the server sends

/** A logged delta as it travels: offset, epoch, room version after it, and the change. */
export const envelopeSchema = z.object({ o: offsetSchema, e: epochSchema, v: versionSchema, d: deltaSchema });
export type Envelope = z.infer<typeof envelopeSchema>;

export const snapshotFrameSchema = z
  .object({
    type: z.literal('snapshot'),
    epoch: epochSchema,
    offset: offsetSchema,
    version: versionSchema,
    serverTime: epochMs.describe('Server clock when the snapshot was taken, for countdowns'),
    recovered: z.boolean().optional().describe('Present on reconnect or resync: false means the missed deltas were not all retained'),
    resync: z.string().optional().describe('Why the server sent a fresh snapshot mid-stream (the client could not keep up)'),
    room: roomDocSchema,
    stock: z.record(idSchema, stockLevelSchema),
    groups: z.record(idSchema, groupProgressSchema).optional(),
  })
  .describe('The whole room at (epoch, offset); the deltas after it follow');
export type SnapshotFrame = z.infer<typeof snapshotFrameSchema>;

export const resumedFrameSchema = z
  .object({
    type: z.literal('resumed'),
    epoch: epochSchema,
    offset: offsetSchema.describe('The offset the client had; the deltas after it follow'),
    replayed: z.number().int().min(0),
  })
  .describe('Sent on reconnect when every missed delta is still retained; the deltas follow, in order');
export type ResumedFrame = z.infer<typeof resumedFrameSchema>;

export const deltaFrameSchema = z.object({ type: z.literal('delta'), ...envelopeSchema.shape }).describe('One delta');
export type DeltaFrame = z.infer<typeof deltaFrameSchema>;

export const deltasFrameSchema = z
  .object({ type: z.literal('deltas'), items: z.array(envelopeSchema).min(2) })
  .describe('The deltas of one batching tick, in order, in one frame');
export type DeltasFrame = z.infer<typeof deltasFrameSchema>;

export const catchupFrameSchema = z
  .object({
    type: z.literal('catchup'),
    from: offsetSchema.describe('The offset the socket had when it fell behind'),
    to: offsetSchema.describe('The offset the client is at after applying the items'),
    v: versionSchema.describe('The room version at `to`'),
    items: z.array(envelopeSchema).describe('Every event delta in (from, to] and the latest state delta per key, in offset order'),
    coalesced: z.number().int().min(0).describe('State deltas left out because a newer value of the same key followed'),
  })
  .describe('Sent when a backpressured socket drains: brings it from `from` to `to`');
export type CatchupFrame = z.infer<typeof catchupFrameSchema>;

export const errorFrameSchema = z.object({
  type: z.literal('error'),
  reqId: z.string().optional(),
  code: z.string().describe('A code of the error table (docs/protocol.md)'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

export interface HeldResult {
  readonly outcome: 'held';
  readonly orderId: string;
  readonly qty: number;
  readonly unitPrice: number;
  readonly amount: number;
  readonly deadline: number;
  readonly available: number;
  readonly breakdown?: readonly PriceStepView[];
}

export interface PriceStepView {
  readonly step: 'base' | 'member' | 'coupon';
  readonly rule: string;
  readonly amount: number;
}

export interface RefusedResult {
  readonly outcome: 'sold_out' | 'insufficient_stock' | 'limit_reached' | 'not_started' | 'ended';
  readonly code: string;
  readonly message: string;
  readonly [k: string]: unknown;
}

export type BuyResult = HeldResult | RefusedResult | { readonly outcome: 'duplicate'; readonly first: BuyResult };

/** One step of an explained price (common/contracts/pricing.ts: base, member-day, one coupon). */
export const priceStepSchema = z
  .object({
    step: z.enum(['base', 'member', 'coupon']),
    rule: z.string().describe('The rule that fired: "unit <price> x <qty>", "member-day:<tier>", "coupon:<campaign id>"'),
    amount: z.number().int().describe('fen: the base positive, a discount negative'),
  })
  .describe('A price step; the steps of a price sum to its amount');

/** A coupon campaign id: what a shopper names in a buy. */
export const couponIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).describe('A coupon campaign of the item');

const heldResultSchema = z.object({
  outcome: z.literal('held'),
  orderId: z.string(),
  qty: quantity,
  unitPrice: fen,
  amount: z.number().int().min(0).describe('What the hold costs: the sum of its breakdown'),
  deadline: epochMs.describe('Pay before this (server clock) or the hold expires'),
  available: count,
  breakdown: z.array(priceStepSchema).optional().describe('The price steps (flash sales): base, member-day discount, coupon'),
});
const refusedResultSchema = z.looseObject({
  outcome: z.enum(['sold_out', 'insufficient_stock', 'limit_reached', 'not_started', 'ended']),
  code: z.string(),
  message: z.string(),
});
export const buyResultSchema = z.union([
  heldResultSchema,
  refusedResultSchema,
  z.object({ outcome: z.literal('duplicate'), first: z.union([heldResultSchema, refusedResultSchema]).describe('The first answer to this idempotency key') }),
]);

export const buyResultFrameSchema = z.object({ type: z.literal('buy.result'), reqId: z.string().optional(), result: buyResultSchema });
export interface BuyResultFrame {
  readonly type: 'buy.result';
  readonly reqId?: string;
  readonly result: BuyResult;
}

export const commandResultSchema = z.object({
  command: z.string(),
  roomId: idSchema,
  version: versionSchema.describe('The room version after the command'),
  offset: offsetSchema.describe('The offset of the delta the command appended'),
  duplicate: z.boolean().describe('True when this idempotency key was seen before: this is the first answer'),
  data: z.record(z.string(), z.unknown()).optional().describe('Command-specific output (e.g. the created item)'),
});
export type CommandResult = z.infer<typeof commandResultSchema>;

/** One row of a room's host command audit log: an applied or repeated command. */
export const auditEntrySchema = z.object({
  id: z.string(),
  roomId: idSchema,
  actor: z.string(),
  role: z.string(),
  command: z.string(),
  idempotencyKey: z.string().optional(),
  baseVersion: z.number().int().optional(),
  payload: z.unknown().describe('The command parameters (without the envelope); `result`: what a command records of its outcome (remind: the shoppers targeted and reached)'),
  outcome: z.enum(['applied', 'duplicate', 'rejected']).describe('rejected only on rows written before refusals were counted instead'),
  version: versionSchema.optional().describe('The room version the command produced (or, for a duplicate, first produced)'),
  offset: offsetSchema.optional(),
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  via: z.enum(['http', 'ws']),
  durationMs: z.number(),
  at: epochMs,
});
export type AuditEntryReply = z.infer<typeof auditEntrySchema>;

/** Refused host commands of a room, counted per actor, role, command and error code. */
export const refusalCountSchema = z.object({
  actor: z.string().describe('The refused caller, or * for the overflow count of a command and code once a room counts many callers'),
  role: z.string(),
  command: z.string(),
  errorCode: z.string(),
  count: z.number().int(),
});
export type RefusalCountReply = z.infer<typeof refusalCountSchema>;

export const auditReplySchema = z.object({ roomId: idSchema, entries: z.array(auditEntrySchema).describe('Newest first'), refusals: z.array(refusalCountSchema).describe('Most frequent first') });
export type AuditReply = z.infer<typeof auditReplySchema>;

export const commandResultFrameSchema = z.object({ type: z.literal('command.result'), reqId: z.string().optional(), result: commandResultSchema });
export type CommandResultFrame = z.infer<typeof commandResultFrameSchema>;

export const pongFrameSchema = z.object({ type: z.literal('pong'), reqId: z.string().optional(), serverTime: epochMs });
export type PongFrame = z.infer<typeof pongFrameSchema>;

export const ackFrameSchema = z
  .object({ type: z.literal('ack'), reqId: z.string().optional(), of: z.string().describe('The type of the message acknowledged') })
  .describe('Acknowledges a message that has no other answer (product.click, follow, auth)');
export type AckFrame = z.infer<typeof ackFrameSchema>;

export const goingAwayFrameSchema = z
  .object({
    type: z.literal('going_away'),
    reason: z.string(),
    reconnectInMs: z.number().int().min(0).describe('Reconnect after this delay (jittered per socket), with your last (epoch, offset)'),
  })
  .describe('Sent before the server closes a connection on purpose (shutdown)');
export type GoingAwayFrame = z.infer<typeof goingAwayFrameSchema>;

export const viewersFrameSchema = z
  .object({ type: z.literal('viewers'), online: count, peak: count })
  .describe('Ephemeral: viewers online in the room (all nodes) and the peak; may be dropped');
export type ViewersFrame = z.infer<typeof viewersFrameSchema>;

export const statsFrameSchema = z
  .looseObject({ type: z.literal('stats') })
  .describe('Ephemeral, ops and the room host only: live figures (see the stats API for the fields); may be dropped');
export type StatsFrame = z.infer<typeof statsFrameSchema>;

// The run of show: the host's live view of the run sheet (GET /shows/:showId/run and the
// ephemeral run_of_show frame). Times are the server clock; drift is actual − planned, in ms.

const position = z.number().int().min(1).max(500).describe('A run-sheet position (1 is the first row)');
const slotStatus = z.enum(['pending', 'on_air', 'done', 'skipped', 'replaced']);
const driftMs = z.number().int().nullable().describe('actual − planned, ms (positive: late); null until both are known');

export const runSlotSchema = z.object({
  position: position.describe('The main row of the slot'),
  title: text({ max: 200 }).describe("The slot's title now (a backup's after a swap)"),
  itemId: idSchema.nullable().describe("The slot's item now (a backup's after a swap)"),
  status: z.enum(['pending', 'on_air', 'done', 'skipped']),
  replacedBy: position.nullable().describe('The backup row that replaced the main item, if swapped'),
  mainItemId: idSchema.nullable().describe('The main row\'s own item'),
  plannedStart: epochMs.nullable(),
  plannedEnd: epochMs.nullable(),
  actualStart: epochMs.nullable(),
  actualEnd: epochMs.nullable(),
  startDriftMs: driftMs,
  endDriftMs: driftMs,
  durationDriftMs: driftMs.describe('(actual end − actual start) − (planned end − planned start), ms'),
});
export type RunSlot = z.infer<typeof runSlotSchema>;

export const runRowSchema = z.object({
  position,
  role: z.enum(['main', 'backup', 'lottery']),
  title: text({ max: 200 }),
  itemId: idSchema.nullable(),
  status: slotStatus,
  actualStart: epochMs.nullable(),
  actualEnd: epochMs.nullable(),
  replacedBy: position.nullable().describe('A replaced main row: the backup in its place'),
  replaces: position.nullable().describe('A backup standing in for a main row: that row'),
});
export type RunRow = z.infer<typeof runRowSchema>;

export const runOfShowSchema = z
  .object({
    showId: idSchema,
    roomId: idSchema,
    state: z.enum(['planned', 'live', 'ended']),
    serverTime: epochMs.describe('The server clock the view was computed at'),
    current: runSlotSchema
      .extend({ timeLeftMs: z.number().int().nullable().describe('planned end − server time, ms (negative: overrunning); null without a planned end') })
      .nullable()
      .describe('The slot on air'),
    next: runSlotSchema.nullable().describe('The next pending main slot'),
    slots: z.array(runSlotSchema).describe('Every main slot in sheet order'),
    rows: z.array(runRowSchema).describe('Every run-sheet row as recorded (backups and lottery rows included)'),
    driftMs: driftMs.describe("The show's drift: the current slot's start drift while one is on air, otherwise the end drift of the last slot that ended"),
  })
  .describe("The run of show: current and next slot, per-slot planned, actual and drift, and the show's drift");
export type RunOfShow = z.infer<typeof runOfShowSchema>;

export const runOfShowFrameSchema = runOfShowSchema
  .extend({ type: z.literal('run_of_show') })
  .describe('Ephemeral, ops and the room host only: the run of show, on every slot change and every few seconds while the show is live; may be dropped');
export type RunOfShowFrame = z.infer<typeof runOfShowFrameSchema>;

// Shopper order commands: results of pay, cancel, join (a tiered group) and subscribe (pre-heat)

export const paidResultSchema = z.object({
  outcome: z.literal('paid'),
  orderId: idSchema,
  qty: quantity,
  amount: z.number().int().min(0).describe('What was charged, in fen'),
  already: z.boolean().describe('True when it had been paid before: the same payment, confirmed again'),
});
export const cancelResultSchema = z.object({
  outcome: z.enum(['cancelled', 'refunded']).describe('cancelled: the hold released; refunded: a paid order refunded in full'),
  orderId: idSchema,
  refund: z.number().int().min(0),
  already: z.boolean().describe('True when it had been cancelled before (nothing changed now)'),
});
const joinedResultSchema = heldResultSchema.extend({
  count: count.describe('Participants (or units) counted after this join'),
  tier: z.number().int().min(0).describe('0 = base price; i = the i-th tier'),
  nextThreshold: z.number().int().min(1).nullable().describe('The next threshold, or null at the top tier'),
  crossed: z.boolean().describe('This join reached a new tier'),
  version: z.number().int().min(1).describe('The hold version a payment names'),
});
const joinRefusedSchema = z.looseObject({
  outcome: z.enum(['sold_out', 'insufficient_stock', 'limit_reached', 'not_started', 'ended', 'group_closed']),
  code: z.string(),
  message: z.string(),
});
export const joinResultSchema = z.union([
  joinedResultSchema,
  joinRefusedSchema,
  z.object({ outcome: z.literal('duplicate'), first: z.union([joinedResultSchema, joinRefusedSchema]).describe('The first answer to this idempotency key') }),
]);
export type JoinResult = z.infer<typeof joinResultSchema>;
export const subscribeResultSchema = z.object({
  outcome: z.enum(['subscribed', 'already_subscribed', 'live', 'ended']),
  subscribers: count.optional(),
  startsAt: epochMs.optional(),
  endsAt: epochMs.optional(),
});
export const orderResultFrameSchema = z
  .object({
    type: z.literal('order.result'),
    reqId: z.string().optional(),
    command: z.enum(['pay', 'cancel', 'join', 'subscribe']),
    result: z.union([paidResultSchema, cancelResultSchema, joinResultSchema, subscribeResultSchema]),
  })
  .describe('The answer to a pay, cancel, join or subscribe message');
export type OrderResultFrame = z.infer<typeof orderResultFrameSchema>;

export const lotteryEntryResultSchema = z
  .object({
    outcome: z.enum(['entered', 'duplicate']).describe('duplicate: this user had entered before; the first entry stands'),
    lotteryId: idSchema,
    userId: text({ min: 1, max: 128 }),
    enteredAt: epochMs,
    entrants: count.describe('Entrants so far'),
  })
  .describe('The answer to a lottery entry');
export type LotteryEntryResult = z.infer<typeof lotteryEntryResultSchema>;

export const lotteryResultFrameSchema = z
  .object({ type: z.literal('lottery.result'), reqId: z.string().optional(), result: lotteryEntryResultSchema })
  .describe('The answer to a lottery.enter message');
export type LotteryResultFrame = z.infer<typeof lotteryResultFrameSchema>;

export const lotteryWinnerSchema = z.object({
  rank: z.number().int().min(1),
  userId: text({ min: 1, max: 128 }),
  orderId: idSchema.nullable().describe('The prize hold (item prizes)'),
  claimDeadline: epochMs.nullable().describe('Claim (pay the zero-price hold) before this (server clock)'),
  claim: z.enum(['none', 'unclaimed', 'claimed', 'expired', 'cancelled']).describe('none: a coupon prize; the rest: the prize hold as the ledger has it'),
});

export const lotteryPublicSchema = lotteryInfoSchema
  .extend({
    roomId: idSchema,
    createdAt: epochMs,
    entrants: count.describe('Entrants so far'),
    entrantIds: z.array(text({ min: 1, max: 128 })).optional().describe('After the draw: every entrant, sorted (GET /lotteries/{lotteryId} only)'),
    winnerList: z.array(lotteryWinnerSchema).optional().describe('After the draw: the winners by rank with their prize holds'),
  })
  .describe('A lottery as anyone may read it: the commitment before the draw, everything needed to verify it after');
export type LotteryPublic = z.infer<typeof lotteryPublicSchema>;
// ---------------------------------------------------------------------------------------------
// A shopper's own orders (GET /me/orders, the `orders` message) and a group's settlement list
// (GET /rooms/:roomId/items/:itemId/settlement)

const ledgerId = z.string().regex(/^\d{1,18}$/, 'a numeric id');
export const orderStateSchema = z.enum(['held', 'paid', 'cancelled', 'expired', 'refunded']);
export type OrderStateName = z.infer<typeof orderStateSchema>;
/** A keyset position in a listing: opaque to clients, given back as `cursor` for the next page. */
export const pageCursor = z
  .string()
  .regex(/^\d{1,15}:[A-Za-z0-9_-]{1,64}$/, 'a cursor given by a previous page')
  .describe('The nextCursor of the previous page');
/** A page size given as a query string: 1 to `max`. */
const queryLimit = (max: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, `an integer from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .describe(`Page size, 1 to ${max}`);

const myOrdersFilters = {
  showId: ledgerId.optional().describe("Only orders of this show (the item's show)"),
  roomId: idSchema.optional().describe('Only orders in this room'),
  state: orderStateSchema.optional(),
  cursor: pageCursor.optional(),
};
/** The query of GET /me/orders (every value a string, as a query string carries it). */
export const myOrdersQuery = z.strictObject({ ...myOrdersFilters, limit: queryLimit(100).optional() });
export type MyOrdersQuery = z.infer<typeof myOrdersQuery>;
/** The same over the room WebSocket. */
export const ordersMessage = z.strictObject({
  type: z.literal('orders'),
  reqId,
  ...myOrdersFilters,
  limit: z.number().int().min(1).max(100).optional().describe('Page size, 1 to 100 (default 20)'),
});

export const orderAdjustmentSchema = z
  .discriminatedUnion('kind', [
    z
      .object({ kind: z.literal('refund'), at: epochMs, amount: fen, reason: z.enum(['tier_settlement', 'group_failed', 'cancelled_after_payment']), tierPrice: fen.optional().describe('Tier settlement: the final unit price of the group') })
      .describe('Money returned'),
    z.object({ kind: z.literal('repriced'), at: epochMs, price: fen, amount: fen }).describe('An unpaid hold repriced (a group settled at its final tier)'),
    z.object({ kind: z.literal('cancelled'), at: epochMs, reason: z.enum(['user', 'host', 'group_failed']) }).describe('The order was cancelled'),
    z.object({ kind: z.literal('expired'), at: epochMs }).describe('The hold passed its payment deadline unpaid'),
  ])
  .describe('A change to an order after it was placed, with its event time (server clock)');
export type OrderAdjustment = z.infer<typeof orderAdjustmentSchema>;

export const myOrderSchema = z
  .object({
    orderId: idSchema,
    item: z.object({ id: idSchema, title: text({ max: 200 }), kind: z.enum(['flash', 'group']) }),
    roomId: idSchema,
    showId: ledgerId.nullable().describe("The item's show (null: an item from before shows)"),
    state: orderStateSchema,
    qty: quantity,
    unitPrice: fen.describe('Unit price of the order as placed (a repriced hold: the new price)'),
    amount: z.number().int().min(0).describe('What the order costs, in fen: qty × unitPrice less its member-day and coupon discounts'),
    breakdown: z.array(priceStepSchema).describe('The price steps: base, member-day discount, coupon (they sum to amount as placed)'),
    paidAmount: z.number().int().min(0).describe('What was charged (0 unpaid)'),
    refundedAmount: z.number().int().min(0).describe('Every refund added up'),
    net: z.number().int().describe('paidAmount − refundedAmount: what the shopper paid in the end'),
    deadline: epochMs.nullable().describe('Pay before this (server clock)'),
    heldAt: epochMs,
    paidAt: epochMs.nullable(),
    adjustments: z.array(orderAdjustmentSchema).describe('Oldest first'),
    source: z.enum(['ledger', 'live']).describe('live: a hold just made, read from the inventory before the ledger recorded it'),
  })
  .describe("One of the caller's orders");
export type MyOrder = z.infer<typeof myOrderSchema>;

export const myOrdersReplySchema = z.object({
  orders: z.array(myOrderSchema).describe('Newest first'),
  nextCursor: pageCursor.nullable().describe('null on the last page'),
  asOf: epochMs.describe('When the listing was read'),
});
export type MyOrdersReply = z.infer<typeof myOrdersReplySchema>;

export const ordersResultFrameSchema = z.object({ type: z.literal('orders.result'), reqId: z.string().optional(), result: myOrdersReplySchema }).describe('The answer to an orders message');
export type OrdersResultFrame = z.infer<typeof ordersResultFrameSchema>;

// The answers to the team, bargain and referral messages: the body the HTTP route answers, as
// `result` (lazy: the result schemas are declared with their routes below).
export const teamResultFrameSchema = z
  .object({ type: z.literal('team.result'), reqId: z.string().optional(), command: z.enum(['open', 'join']), result: z.lazy(() => teamJoinResultSchema) })
  .describe('The answer to a team.open or team.join message: the body of the HTTP route');
export type TeamResultFrame = z.infer<typeof teamResultFrameSchema>;
export const bargainResultFrameSchema = z
  .object({
    type: z.literal('bargain.result'),
    reqId: z.string().optional(),
    command: z.enum(['start', 'help', 'buy']),
    result: z.lazy(() => z.union([bargainStartResultSchema, bargainHelpResultSchema, bargainBuyResultSchema])),
  })
  .describe('The answer to a bargain.start, bargain.help or bargain.buy message: the body of the HTTP route');
export type BargainResultFrame = z.infer<typeof bargainResultFrameSchema>;
export const referralResultFrameSchema = z
  .object({ type: z.literal('referral.result'), reqId: z.string().optional(), result: z.lazy(() => referralClickSchema) })
  .describe('The answer to a referral.click message: the click, as POST /rooms/{roomId}/referrals answers it');
export type ReferralResultFrame = z.infer<typeof referralResultFrameSchema>;

/** The query of GET /rooms/:roomId/items/:itemId/settlement. */
export const settlementQuery = z.strictObject({ cursor: pageCursor.optional(), limit: queryLimit(1000).optional() });

export const settlementOrderSchema = z.object({
  orderId: idSchema,
  userId: text({ max: 128 }),
  qty: quantity,
  unitPrice: fen.describe('Unit price when joining (a repriced hold: the final price)'),
  state: orderStateSchema,
  paid: z.number().int().min(0),
  refund: z.number().int().min(0),
  net: z.number().int().describe('paid − refund'),
  heldAt: epochMs,
  paidAt: epochMs.nullable(),
  refundedAt: epochMs.nullable().describe('The latest refund'),
});

export const settlementReplySchema = z.object({
  roomId: idSchema,
  itemId: idSchema,
  title: text({ max: 200 }),
  basePrice: fen,
  tiers: z.array(tierSchema),
  closed: z
    .object({ at: epochMs, count, outcome: z.enum(['succeeded', 'failed', 'base_price']), tier: z.number().int().min(0).describe('0 = base price; i = the i-th tier'), finalPrice: fen })
    .nullable()
    .describe('null while the group is open'),
  orders: z.array(settlementOrderSchema).describe('Oldest first'),
  nextCursor: pageCursor.nullable(),
  totals: z
    .object({ orders: count.describe('Orders in any state'), paidQty: count.describe('Units of the orders that were paid'), paid: z.number().int().min(0), refunds: z.number().int().min(0), net: z.number().int().describe('paid − refunds') })
    .describe('Over every order of the group (not only this page)'),
  asOf: epochMs,
});
export type SettlementReply = z.infer<typeof settlementReplySchema>;

export const reminderFrameSchema = z
  .object({
    type: z.literal('reminder'),
    id: z.string().describe('The reminder (one per remind command): a shopper gets each once'),
    roomId: idSchema,
    itemId: idSchema,
    text: text({ max: 200 }).describe("What the host said, or the item's title"),
    at: epochMs,
  })
  .describe("A reminder about an item, sent by the room's host to the shoppers of an audience (member tiers, lifecycle stages) connected to the room");
export type ReminderFrame = z.infer<typeof reminderFrameSchema>;

export type ServerFrame =
  | SnapshotFrame
  | ResumedFrame
  | DeltaFrame
  | DeltasFrame
  | CatchupFrame
  | ErrorFrame
  | BuyResultFrame
  | OrderResultFrame
  | CommandResultFrame
  | PongFrame
  | AckFrame
  | GoingAwayFrame
  | ViewersFrame
  | StatsFrame
  | RunOfShowFrame
  | LotteryResultFrame
  | OrdersResultFrame
  | TeamResultFrame
  | BargainResultFrame
  | ReferralResultFrame
  | ReminderFrame;

/** Every frame schema by type (conformance tests validate every received frame with these). */
export const serverFrameSchemas = {
  snapshot: snapshotFrameSchema,
  resumed: resumedFrameSchema,
  delta: deltaFrameSchema,
  deltas: deltasFrameSchema,
  catchup: catchupFrameSchema,
  error: errorFrameSchema,
  'buy.result': buyResultFrameSchema,
  'order.result': orderResultFrameSchema,
  'command.result': commandResultFrameSchema,
  pong: pongFrameSchema,
  ack: ackFrameSchema,
  going_away: goingAwayFrameSchema,
  viewers: viewersFrameSchema,
  stats: statsFrameSchema,
  run_of_show: runOfShowFrameSchema,
  'lottery.result': lotteryResultFrameSchema,
  'orders.result': ordersResultFrameSchema,
  'team.result': teamResultFrameSchema,
  'bargain.result': bargainResultFrameSchema,
  'referral.result': referralResultFrameSchema,
  reminder: reminderFrameSchema,
} as const satisfies Record<ServerFrame['type'], z.ZodType>;

/** WebSocket close codes the server uses, with their meaning. */
export const closeCodes = {
  1001: 'going away: the server is shutting down; reconnect after the delay of the going_away frame',
  1009: 'message too big',
  1011: 'internal error',
  4001: 'the access token expired or was revoked; reconnect with a fresh token',
  4008: 'too slow: the socket could not keep up with the room and was closed',
  4029: 'too many messages: the rate limit was exceeded repeatedly',
} as const;

// ---------------------------------------------------------------------------------------------
// Shows (HTTP replies)

const runSheetRowSchema = z.object({
  position: z.number().int().min(1),
  role: z.enum(['main', 'backup', 'lottery']),
  title: z.string(),
  itemId: z.string().nullable(),
  plannedStart: epochMs.nullable(),
  plannedEnd: epochMs.nullable(),
});

/** A show with its run sheet, as the show endpoints answer it. */
export const showSchema = z
  .object({
    id: idSchema,
    roomId: idSchema,
    title: z.string(),
    hostId: z.string(),
    state: showStateSchema,
    plannedStart: epochMs,
    plannedEnd: epochMs,
    startedAt: epochMs.nullable().describe('When it went live (null while planned)'),
    endedAt: epochMs.nullable().describe('When it ended (null until then)'),
    createdAt: epochMs,
    runSheet: z.array(runSheetRowSchema),
  })
  .describe('A show: one broadcast of a room, with its run sheet');

export const showReplySchema = z.object({ show: showSchema });

/** One show in a room's list (no run sheet). */
export const showListingSchema = showSchema.omit({ runSheet: true, hostId: true, createdAt: true });
export const showListReplySchema = z.object({ roomId: idSchema, shows: z.array(showListingSchema).describe('Newest planned start first') });

/** No body: POST /shows/:showId/start and /end. */
export const showTransitionBody = z.strictObject({});

// ---------------------------------------------------------------------------------------------
// Messages the server accepts (WebSocket)

export const buyMessage = z.strictObject({
  type: z.literal('buy'),
  reqId,
  itemId: idSchema,
  qty: quantity,
  idempotencyKey,
  coupon: couponIdSchema.optional(),
});

export const pingMessage = z.strictObject({ type: z.literal('ping'), reqId });

export const productClickMessage = z
  .strictObject({ type: z.literal('product.click'), reqId, itemId: idSchema })
  .describe('A viewer opened a product detail (shoppers; for the stats)');

export const followMessage = z.strictObject({ type: z.literal('follow'), reqId }).describe('A viewer followed the room (shoppers)');

export const authMessage = z
  .strictObject({ type: z.literal('auth'), reqId, token: text({ min: 1, max: 4096 }) })
  .describe('Replaces the access token of the connection before it expires (same user and role)');

// ---------------------------------------------------------------------------------------------
// Host console commands: the same fields over HTTP (POST /rooms/:roomId/commands) and WebSocket
// ({"type":"command", ...}). Every command carries an idempotency key and the room version it
// was based on.

const itemInput = {
  title: text({ trim: true, min: 1, max: 200 }),
  price: fen,
  stock: count,
  perUserLimit: z.number().int().min(1).max(10_000),
  startsAt: epochMs,
  endsAt: epochMs,
  holdSeconds: z.number().int().min(10).max(86_400).optional(),
  showId: idSchema.optional().describe("A planned or live show of the room the item belongs to; absent: the room's live show, else its next planned one, else the room shelf"),
};

const tiersInput = z
  .array(tierSchema)
  .min(1)
  .max(20)
  .refine((t) => t.every((x, i) => i === 0 || x.threshold > t[i - 1]!.threshold), 'thresholds must ascend')
  .refine((t) => t.every((x, i) => i === 0 || x.price < t[i - 1]!.price), 'tier prices must descend');

/** Command-specific fields, by command name. */
export const commandShapes = {
  addItem: itemInput,
  onAir: { itemId: idSchema.nullable() },
  list: { itemId: idSchema, position: z.number().int().min(0).max(10_000).optional() },
  delist: { itemId: idSchema },
  reorder: { listing: z.array(idSchema).max(10_000) },
  setPrice: { itemId: idSchema, price: fen, at: epochMs.optional().describe('Server-clock time the price takes effect; now when absent') },
  adjustStock: { itemId: idSchema, delta: z.number().int().min(-1_000_000_000).max(1_000_000_000).refine((n) => n !== 0, 'delta must not be 0') },
  announce: { text: text({ trim: true, min: 1, max: 1000 }) },
  pin: {
    announcementId: text({ min: 1, max: 64 })
      .nullable()
      .describe("The announcement to pin (one of the room's last announcements); null removes the pin"),
  },
  openSale: { itemId: idSchema, endsAt: epochMs.optional().describe('When the sale ends; the current end when absent') },
  closeSale: { itemId: idSchema },
  openGroup: {
    title: text({ trim: true, min: 1, max: 200 }),
    basePrice: fen,
    stock: count,
    perUserLimit: z.number().int().min(1).max(10_000),
    tiers: tiersInput,
    endsAt: epochMs,
    countBy: z.enum(['people', 'units']).optional(),
    belowFirstTier: z.enum(['fail', 'base_price']).optional(),
    holdSeconds: z.number().int().min(10).max(86_400).optional(),
    showId: itemInput.showId,
  },
  closeGroup: { itemId: idSchema },
  next: {},
  swap: {
    mainPosition: z.number().int().min(1).max(500).describe('The main slot whose item the backup replaces'),
    backupPosition: z.number().int().min(1).max(500).describe('The backup row that takes its place'),
  },
  skip: { position: z.number().int().min(1).max(500).describe('The pending run-sheet row to skip') },
  createLottery: {
    title: text({ trim: true, min: 1, max: 200 }),
    prize: lotteryPrizeSchema,
    winners: z.number().int().min(1).max(maxLotteryWinners),
    eligibility: lotteryEligibilitySchema,
    opensAt: epochMs.optional().describe('When entries open (ledger clock); now when absent'),
    closesAt: epochMs.describe('When entries close (ledger clock)'),
    claimSeconds: z.number().int().min(10).max(86_400).optional().describe('How long a winner has to claim an item prize; HOLD_SECONDS when absent'),
    showId: idSchema.optional().describe("The show (of this room, not ended); the room's live show when absent"),
  },
  drawLottery: { lotteryId: idSchema },
  setTeamBuy: {
    itemId: idSchema,
    size: z.number().int().min(2).max(100).describe('Members a team needs'),
    teamPrice: fen.describe('Unit price of a team seat (fen)'),
    windowSeconds: z.number().int().min(1).max(604_800).describe('How long a team has to form from its opening (at most until the sale ends)'),
    teamsPerUser: z.number().int().min(1).max(100).optional().describe('Live teams of the item a user may be in at once (default 1)'),
  },
  setBargain: {
    itemId: idSchema,
    start: fen.refine((n) => n >= 1, 'at least 1 fen').describe('Start price (fen)'),
    floor: fen.describe('Floor price (fen): start − floor ≥ helpers'),
    helpers: z.number().int().min(1).max(1000).describe('Helps that reach the floor'),
    windowSeconds: z.number().int().min(1).max(604_800).describe('How long a bargain stays open from its start'),
    newUsersOnly: z.boolean().optional().describe('Only users who never held or bought the item may help'),
  },
  setMemberDay: { itemId: idSchema, threshold: fen, off: z.strictObject({ regular: fen, silver: fen, gold: fen }) },
  addCoupon: {
    itemId: idSchema,
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a campaign id of 1 to 64 letters, digits, - or _'),
    kind: z.enum(['fixed', 'percent', 'spend']).describe('fixed: amount off (无门槛 with minSpend 0); percent: percent off; spend: 满减, amount off from minSpend'),
    amount: fen.default(0),
    percent: z.number().int().min(0).max(99).default(0),
    minSpend: fen.default(0),
    budget: z.number().int().min(1).max(100_000_000),
    perUser: z.number().int().min(1).max(1_000_000).default(1),
    startsAt: epochMs,
    endsAt: epochMs,
    audience: audienceSchema.optional(),
  },
  setCommission: { itemId: idSchema, rateBp: z.number().int().min(0).max(10_000).describe('Commission, basis points of the paid amount (0 turns it off)') },
  remind: {
    itemId: idSchema,
    audience: audienceSchema,
    text: text({ trim: true, min: 1, max: 200 }).optional().describe('What the reminder says; the item title when absent'),
  },
} as const;

export type CommandName = keyof typeof commandShapes;
export const commandNames = Object.keys(commandShapes) as CommandName[];

const envelopeFields = {
  idempotencyKey,
  baseVersion: versionSchema.describe('The room version the host saw; a stale one is refused with CONFLICT'),
};

function commandVariants(ws: boolean) {
  const extra = ws ? { type: z.literal('command'), reqId } : {};
  const v = <N extends CommandName>(name: N) => z.strictObject({ ...extra, command: z.literal(name), ...envelopeFields, ...commandShapes[name] });
  return [
    v('addItem').refine((b) => b.endsAt > b.startsAt, { message: 'endsAt must be after startsAt', path: ['endsAt'] }),
    v('onAir'),
    v('list'),
    v('delist'),
    v('reorder'),
    v('setPrice'),
    v('adjustStock'),
    v('announce'),
    v('pin'),
    v('openSale'),
    v('closeSale'),
    v('openGroup').refine((b) => b.tiers.every((t) => t.price < b.basePrice), { message: 'tier prices must be below the base price', path: ['tiers'] }),
    v('closeGroup'),
    v('next'),
    v('swap').refine((b) => b.mainPosition !== b.backupPosition, { message: 'the backup must be another row', path: ['backupPosition'] }),
    v('skip'),
    v('createLottery').refine((b) => b.opensAt === undefined || b.closesAt > b.opensAt, { message: 'closesAt must be after opensAt', path: ['closesAt'] }),
    v('drawLottery'),
    v('setTeamBuy'),
    v('setBargain').refine((b) => b.start - b.floor >= b.helpers, { message: 'start - floor must be at least helpers (every help cuts at least 1 fen)', path: ['floor'] }),
    v('setMemberDay'),
    v('addCoupon')
      .refine((c) => c.endsAt > c.startsAt, { message: 'endsAt must be after startsAt', path: ['endsAt'] })
      .refine((c) => c.kind !== 'percent' || c.percent >= 1, { message: 'a percent coupon takes 1..99 percent off', path: ['percent'] }),
    v('setCommission'),
    v('remind'),
  ] as const;
}

/** The body of POST /rooms/:roomId/commands. */
export const commandBody = z.discriminatedUnion('command', commandVariants(false)).describe('A host console command');
export type Command = z.infer<typeof commandBody>;
export type CommandOf<N extends CommandName> = Extract<Command, { command: N }>;

/** The same command over WebSocket, with `type` and `reqId`. */
export const commandMessage = z.discriminatedUnion('command', commandVariants(true)).describe('A host console command over WebSocket');

// ---------------------------------------------------------------------------------------------
// HTTP bodies

/** POST /rooms; with an idempotency key (here or in the Idempotency-Key header) the room is made once. */
export const createRoomBody = z.strictObject({ title: text({ trim: true, min: 1, max: 200 }), idempotencyKey: idempotencyKey.optional() });

/** POST /rooms/:roomId/items: addItem without the envelope (the envelope may come in headers). */
export const createItemBody = z
  .strictObject({ ...itemInput, idempotencyKey: idempotencyKey.optional(), baseVersion: versionSchema.optional() })
  .refine((b) => b.endsAt > b.startsAt, { message: 'endsAt must be after startsAt', path: ['endsAt'] });

export const onAirBody = z.strictObject({ itemId: idSchema.nullable(), idempotencyKey: idempotencyKey.optional(), baseVersion: versionSchema.optional() });

export const buyBody = z.strictObject({ qty: quantity, idempotencyKey, coupon: couponIdSchema.optional() });

export const demoTokenBody = z.strictObject({
  role: z.enum(['shopper', 'host', 'ops']),
  sub: z.string().regex(/^[\x21-\x7e]{1,128}$/),
});

/** A zod error as one readable line: "qty: Too small; idempotencyKey: Required". */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Shopper order commands (HTTP bodies and WebSocket messages)

const holdVersion = z.number().int().min(1).max(1_000_000).describe('The hold version the payment is made against (from the reservation; omit: the current one)');
export const payBody = z.strictObject({ orderId: idSchema, version: holdVersion.optional() });
export const cancelBody = z.strictObject({ orderId: idSchema });
export const joinBody = z.strictObject({ qty: quantity, idempotencyKey });
export const subscribeBody = z.strictObject({});

export const payMessage = z.strictObject({ type: z.literal('pay'), reqId, itemId: idSchema, orderId: idSchema, version: holdVersion.optional() });
export const cancelMessage = z.strictObject({ type: z.literal('cancel'), reqId, itemId: idSchema, orderId: idSchema });
export const joinMessage = z.strictObject({ type: z.literal('join'), reqId, itemId: idSchema, qty: quantity, idempotencyKey });
export const subscribeMessage = z.strictObject({ type: z.literal('subscribe'), reqId, itemId: idSchema });

// Lottery entry (HTTP body and WebSocket message)
export const lotteryEnterBody = z.strictObject({});
export const lotteryEnterMessage = z
  .strictObject({ type: z.literal('lottery.enter'), reqId, lotteryId: idSchema })
  .describe("Enters a lottery of the socket's room (shoppers; once per user)");

// ---------------------------------------------------------------------------------------------
// Referral commissions (分销, docs/referrals.md): a shopper opened a share link
// (POST /rooms/:roomId/referrals), an item's commission rate (PUT /rooms/:roomId/items/:itemId/commission),
// a referrer's own commissions (GET /me/commissions)

/** A referrer as a share link names it: a user id, as tokens carry them. */
const referrerId = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'a user id: 1 to 128 printable ASCII characters')
  .describe('The sharer: the user id the share link carries');

export const referralClickBody = z.strictObject({
  referrer: referrerId,
  itemId: idSchema.optional().describe('The item the link is for (omit: the room)'),
});
export type ReferralClickBody = z.infer<typeof referralClickBody>;

export const referralClickSchema = z
  .object({
    clickId: ledgerId,
    referrer: referrerId,
    roomId: idSchema,
    itemId: idSchema.nullable(),
    clickedAt: epochMs,
    expiresAt: epochMs.describe('Orders held before this (and after clickedAt) are attributed to the referrer, unless a later click names another'),
  })
  .describe('A share link opened by the caller');
export type ReferralClick = z.infer<typeof referralClickSchema>;

export const commissionRateBody = z.strictObject({
  rateBp: z.number().int().min(0).max(10_000).describe('Commission in basis points of the amount paid (500 = 5%; 0 = none)'),
});

export const commissionRateSchema = z.object({ itemId: idSchema, rateBp: z.number().int().min(0).max(10_000) }).describe("An item's commission rate");

/** The query of GET /me/commissions. */
export const myCommissionsQuery = z.strictObject({ cursor: pageCursor.optional(), limit: queryLimit(100).optional() });

export const commissionSchema = z
  .object({
    orderId: idSchema,
    roomId: idSchema,
    item: z.object({ id: idSchema, title: text({ max: 200 }) }),
    rateBp: z.number().int().min(0).max(10_000),
    base: fen.describe('The amount paid the commission was computed on'),
    credited: fen.describe('floor(base × rateBp / 10000), credited on payment'),
    reversed: fen.describe('Reversed by refunds: credited − floor((base − refunded) × rateBp / 10000), all of it once the order is refunded'),
    net: fen.describe('credited − reversed'),
    state: orderStateSchema.describe("The order's state"),
    creditedAt: epochMs,
  })
  .describe('One commission of the caller, as a referrer');

export const myCommissionsReplySchema = z.object({
  commissions: z.array(commissionSchema).describe('Newest first'),
  totals: z.object({ orders: count, credited: fen, reversed: fen, net: fen }).describe('Over every commission of the caller, not only this page'),
  nextCursor: pageCursor.nullable().describe('null on the last page'),
});
export type MyCommissionsReply = z.infer<typeof myCommissionsReplySchema>;
/** The merchant sets a shopper's member tier (regular, silver, gold). */
export const memberTierBody = z.strictObject({ tier: z.enum(['regular', 'silver', 'gold']) });
export const segmentRefreshReplySchema = z
  .object({
    shoppers: count.describe('Shoppers with a stage now (a paid order in the ledger)'),
    stages: z.object({ new: count, active: count, dormant: count, churned: count }).describe('Shoppers per lifecycle stage'),
    changed: count.describe('Shoppers whose stage was written (new, or changed)'),
    removed: count.describe('Shoppers taken out of the copy (no purchase any more)'),
    at: epochMs.describe('The time the stages are of'),
  })
  .describe("The serving copy of the shoppers' lifecycle stages, refreshed from the ledger");
export type SegmentRefreshReply = z.infer<typeof segmentRefreshReplySchema>;

export const memberTierReplySchema = z.object({ userId: z.string(), tier: z.enum(['regular', 'silver', 'gold']) }).describe("The shopper's member tier now");

/** The host sets an item's member-day rule: `off[tier]` fen off an order of at least `threshold` fen. */
export const memberDayBody = z.strictObject({
  threshold: fen,
  off: z.strictObject({ regular: fen, silver: fen, gold: fen }),
});
export const memberDayReplySchema = z.object({ itemId: idSchema, threshold: fen, off: z.object({ regular: fen, silver: fen, gold: fen }) }).describe("The item's member-day rule now");

/** The host adds a coupon campaign to an item (once: the same campaign again changes nothing). */
export const couponCampaignBody = z
  .strictObject({
    id: couponIdSchema,
    kind: z.enum(['fixed', 'percent', 'spend']).describe('fixed: amount off (无门槛 with minSpend 0); percent: percent off; spend: 满减, amount off from minSpend'),
    amount: fen.default(0),
    percent: z.number().int().min(0).max(99).default(0),
    minSpend: fen.default(0),
    budget: z.number().int().min(1).max(100_000_000),
    perUser: z.number().int().min(1).max(1_000_000).default(1),
    startsAt: epochMs,
    endsAt: epochMs,
    audience: audienceSchema.optional().describe('Only these shoppers may use it (absent: anyone); others are refused with COUPON_NOT_FOR_YOU'),
  })
  .refine((c) => c.endsAt > c.startsAt, { message: 'endsAt must be after startsAt' })
  .refine((c) => c.kind !== 'percent' || c.percent >= 1, { message: 'a percent coupon takes 1..99 percent off' });
export const couponCampaignReplySchema = z
  .object({
    itemId: idSchema,
    id: couponIdSchema,
    created: z.boolean().describe('false: the same campaign was there already (nothing changed)'),
    left: count.describe('Coupons neither reserved nor spent now'),
    issued: count.describe('Coupons ever reserved on a hold'),
    spent: count.describe('Coupons spent on paid orders, less those restored by refunds'),
    audience: audienceSchema.optional().describe('Who may use it (absent: anyone)'),
  })
  .describe('The campaign and its coupons now');

// ---------------------------------------------------------------------------------------------
// Team buys (拼团, docs/team-buy-bargain.md): HTTP bodies and replies

export const teamBuyBody = z.strictObject({
  size: z.number().int().min(2).max(100).describe('Members a team needs'),
  teamPrice: fen.describe('Unit price of a team seat (fen)'),
  windowSeconds: z.number().int().min(1).max(604_800).describe('How long a team has to form from its opening (at most until the sale ends)'),
  teamsPerUser: z.number().int().min(1).max(100).optional().describe('Live teams of the item a user may be in at once (default 1)'),
});
export const teamBuySettingsSchema = z.object({ itemId: idSchema, size: z.number().int(), price: fen, windowMs: z.number().int(), teamsPerUser: z.number().int() });

export const teamJoinBody = z.strictObject({ idempotencyKey: idempotencyKey.describe('Names one opening, or the join of one team (the team id scopes it); at most 60 characters') });

const teamHeldSchema = z.object({
  outcome: z.literal('held'),
  orderId: idSchema,
  teamId: idSchema.describe('The share code others join with'),
  qty: z.literal(1),
  unitPrice: fen,
  amount: fen,
  deadline: epochMs,
  available: count,
  ver: z.number().int(),
  version: z.literal(1),
  seats: count.describe('Seats held or paid after this join'),
  size: count,
  teamEndsAt: epochMs,
});
const teamRefusalSchema = z.object({ outcome: z.string(), code: z.string(), message: z.string() });
export const teamJoinResultSchema = z.union([teamHeldSchema, teamRefusalSchema, z.object({ outcome: z.literal('duplicate'), first: z.union([teamHeldSchema, teamRefusalSchema]) })]);
export const teamViewSchema = z.object({
  itemId: idSchema,
  teamId: idSchema,
  state: z.enum(['open', 'formed', 'failed']),
  leader: z.string(),
  size: count,
  price: fen,
  endsAt: epochMs,
  seats: count,
  paid: count,
  members: z.array(z.object({ userId: z.string(), state: z.enum(['held', 'paid', 'cancelled', 'expired', 'refunded']) })),
});

// ---------------------------------------------------------------------------------------------
// Bargains (砍价, docs/team-buy-bargain.md): HTTP bodies and replies

export const bargainOfferBody = z
  .strictObject({
    start: fen.refine((n) => n >= 1, 'at least 1 fen').describe('Start price (fen)'),
    floor: fen.describe('Floor price (fen): start − floor ≥ helpers'),
    helpers: z.number().int().min(1).max(1000).describe('Helps that reach the floor'),
    windowSeconds: z.number().int().min(1).max(604_800).describe('How long a bargain stays open from its start (at most until the sale ends)'),
    newUsersOnly: z.boolean().optional().describe('Only users who never held or bought the item may help'),
  })
  .refine((b) => b.start - b.floor >= b.helpers, { message: 'start - floor must be at least helpers (every help cuts at least 1 fen)', path: ['floor'] });
export const bargainSettingsSchema = z.object({ itemId: idSchema, start: fen, floor: fen, helpers: count, windowMs: z.number().int(), newUsersOnly: z.boolean() });
export const bargainEmptyBody = z.strictObject({});

const bargainRefusalSchema = z.object({ outcome: z.string(), code: z.string(), message: z.string() });
export const bargainStartResultSchema = z.union([
  z.object({ outcome: z.enum(['started', 'existing']), bargainId: idSchema, price: fen, floor: fen, helpers: count, endsAt: epochMs }),
  bargainRefusalSchema,
]);
export const bargainHelpResultSchema = z.union([z.object({ outcome: z.literal('helped'), cut: fen, price: fen, helped: count, helpers: count, floor: fen }), bargainRefusalSchema]);
export const bargainBuyResultSchema = z.union([
  z.object({ outcome: z.literal('held'), orderId: idSchema, qty: z.literal(1), unitPrice: fen, amount: fen, deadline: epochMs, available: count, ver: z.number().int(), already: z.boolean() }),
  bargainRefusalSchema,
]);
export const bargainViewSchema = z.object({
  itemId: idSchema,
  bargainId: idSchema,
  state: z.enum(['open', 'bought', 'expired']),
  starter: z.string(),
  start: fen,
  floor: fen,
  price: fen,
  helpers: count,
  helped: count,
  endsAt: epochMs,
  helperIds: z.array(z.string()),
});

// ---------------------------------------------------------------------------------------------
// Shopper actions of team buys, bargains and referrals over WebSocket: the HTTP routes' requests
// with the socket's room (answers: team.result, bargain.result, referral.result)

export const teamOpenMessage = z
  .strictObject({ type: z.literal('team.open'), reqId, itemId: idSchema, idempotencyKey: teamJoinBody.shape.idempotencyKey })
  .describe('Opens a team of a team buy, like POST /rooms/{roomId}/items/{itemId}/teams (shoppers)');
export const teamJoinMessage = z
  .strictObject({ type: z.literal('team.join'), reqId, itemId: idSchema, teamId: idSchema.describe('The share code'), idempotencyKey: teamJoinBody.shape.idempotencyKey })
  .describe('Takes a seat in a team by its id, like POST /rooms/{roomId}/items/{itemId}/teams/{teamId}/join (shoppers)');
export const bargainStartMessage = z
  .strictObject({ type: z.literal('bargain.start'), reqId, itemId: idSchema })
  .describe('Starts a bargain, like POST /rooms/{roomId}/items/{itemId}/bargains (shoppers)');
export const bargainHelpMessage = z
  .strictObject({ type: z.literal('bargain.help'), reqId, itemId: idSchema, bargainId: idSchema })
  .describe("Helps another shopper's bargain, like POST /rooms/{roomId}/items/{itemId}/bargains/{bargainId}/help (shoppers)");
export const bargainBuyMessage = z
  .strictObject({ type: z.literal('bargain.buy'), reqId, itemId: idSchema, bargainId: idSchema })
  .describe("The starter buys at the bargain's price, like POST /rooms/{roomId}/items/{itemId}/bargains/{bargainId}/buy (shoppers)");
export const referralClickMessage = z
  .strictObject({ type: z.literal('referral.click'), reqId, referrer: referrerId, itemId: idSchema.optional().describe('The item the link is for (omit: the room)') })
  .describe("Records that the caller opened a share link of the socket's room, like POST /rooms/{roomId}/referrals (shoppers)");
