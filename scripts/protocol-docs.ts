/**
 * Generates the machine-readable protocol description from the schemas the server validates
 * with, and the reference part of docs/protocol.md:
 *
 *   docs/protocol.schema.json   JSON Schema (2020-12): every message, frame, body and shared type
 *   docs/asyncapi.json          AsyncAPI 3.0: the room WebSocket, what clients send and receive
 *   docs/openapi.json           OpenAPI 3.1: every HTTP endpoint
 *   docs/protocol.md            the section between the "generated" markers
 *
 * The endpoints and message types are the ones the route modules register (on a recording
 * context, no services needed), so nothing registered can be missing.
 *
 *   npm run protocol:docs            writes the files
 *   npm run protocol:docs -- --check exits 1 when a file is not current
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { errorTable } from '../common/platform/errors.ts';
import { createShowBody } from '../orders/shows.ts';
import { policies, type Action } from '../gateway/policy.ts';
import type { Router, WsMessageType } from '../gateway/router.ts';
import type { GatewayServices } from '../gateway/routes/index.ts';
import {
  auditReplySchema,
  buyBody,
  couponCampaignBody,
  couponCampaignReplySchema,
  memberDayBody,
  memberDayReplySchema,
  memberTierBody,
  memberTierReplySchema,
  segmentRefreshReplySchema,
  buyResultSchema,
  cancelBody,
  cancelResultSchema,
  closeCodes,
  commandBody,
  commandResultSchema,
  createItemBody,
  createRoomBody,
  deltaSchema,
  demoTokenBody,
  envelopeSchema,
  groupProgressSchema,
  itemInfoSchema,
  joinBody,
  joinResultSchema,
  lotteryEnterBody,
  teamBuyBody,
  bargainOfferBody,
  bargainSettingsSchema,
  bargainEmptyBody,
  bargainStartResultSchema,
  bargainHelpResultSchema,
  bargainBuyResultSchema,
  bargainViewSchema,
  teamBuySettingsSchema,
  teamJoinBody,
  teamJoinResultSchema,
  teamViewSchema,
  lotteryEntryResultSchema,
  lotteryInfoSchema,
  lotteryPublicSchema,
  myOrdersReplySchema,
  myCommissionsReplySchema,
  referralClickBody,
  referralClickSchema,
  commissionRateBody,
  commissionRateSchema,
  onAirBody,
  paidResultSchema,
  runOfShowSchema,
  runRowSchema,
  runSlotSchema,
  payBody,
  roomDocSchema,
  serverFrameSchemas,
  settlementReplySchema,
  showListReplySchema,
  showReplySchema,
  showTransitionBody,
  snapshotFrameSchema,
  stockLevelSchema,
  subscribeBody,
  subscribeResultSchema,
} from '../common/contracts/protocol.ts';
import { registerRoutes } from '../gateway/routes/index.ts';

export interface RouteInfo {
  method: 'get' | 'post' | 'put' | 'del';
  pattern: string;
  name: string;
  /** The policy action it is authorized by (gateway/policy.ts). */
  action: Action;
}

export interface MessageInfo {
  type: string;
  schema: z.ZodType;
  action: Action;
}

/** Who may call a route or send a message: its action's policy, in words. */
export const whoOf = (action: Action): string => policies[action].who;

/** Registers every route module on a router that only records what is registered (and inert services). */
export function collectEndpoints(): { routes: RouteInfo[]; messages: MessageInfo[] } {
  const routes: RouteInfo[] = [];
  const messages: MessageInfo[] = [];
  const inert: unknown = new Proxy(function inert() {}, {
    get: (_t, prop) => (prop === Symbol.toPrimitive ? () => '' : prop === 'then' ? undefined : inert),
    apply: () => inert,
    construct: () => inert as object,
  });
  const recording: Router = {
    route: (method, pattern, name, action) => void routes.push({ method, pattern, name, action }),
    wsMessage: (type, def) => void messages.push({ type, schema: def.schema, action: (def as WsMessageType).action }),
  };
  const services = new Proxy({} as GatewayServices, {
    get: (_t, prop) => (prop === 'config' ? { nodeId: 'docs', holdSeconds: 900, stockTickMs: 100 } : inert),
  });
  registerRoutes(recording, services);
  return { routes, messages };
}

interface EndpointDoc {
  summary: string;
  body?: z.ZodType;
  response?: z.ZodType;
  /** Error codes this endpoint answers with, besides the ones every endpoint may answer with. */
  errors?: (keyof typeof errorTable)[];
  /** A query string it reads. */
  query?: string;
}

/** One figure of a stats reply (orders/metrics.ts). */
const metricValueSchema = z.looseObject({ metric: z.string(), value: z.number().nullable() });

const errorReply = z.object({ error: z.object({ code: z.enum(Object.keys(errorTable) as [string, ...string[]]), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) });

/** What each registered route does, by route name. */
export const endpointDocs: Record<string, EndpointDoc> = {
  healthz: { summary: 'Liveness: the process answers.', response: z.object({ ok: z.literal(true), node: z.string() }) },
  readyz: {
    summary: 'Readiness (503 otherwise): Redis and Postgres answer, and unless READY_PIPELINE is off a relay and a writer beat, Kafka answers and the ledger lag is within READY_MAX_LAG_SECONDS and READY_MAX_LAG_EVENTS. Each dependency is named up, down (or the ledger behind), never with its address.',
    response: z.object({ ready: z.boolean(), redis: z.enum(['up', 'down']), postgres: z.enum(['up', 'down']), relay: z.enum(['up', 'down']).optional(), writer: z.enum(['up', 'down']).optional(), kafka: z.enum(['up', 'down']).optional(), ledger: z.enum(['up', 'behind']).optional(), lag: z.object({ seconds: z.number(), events: z.number(), outbox: z.number(), kafka: z.number().nullable() }).optional() }),
  },
  metrics: { summary: 'Prometheus metrics (text exposition format).' },
  'auth.demo': { summary: 'A demo access token, only when DEMO_AUTH is on (NOT_FOUND otherwise).', body: demoTokenBody, response: z.object({ token: z.string() }), errors: ['NOT_FOUND'] },
  'rooms.create': {
    summary:
      'Creates a room; the host owns it. 201 with the document at version 1. With an idempotency key (in the body or the Idempotency-Key header) the room is made once, even if the gateway dies midway: the same key again answers 200 with that room as it is now (duplicate: true); with another title, 409 IDEMPOTENCY_KEY_REUSED.',
    body: createRoomBody,
    response: z.object({ room: roomDocSchema, version: z.number().int(), duplicate: z.boolean() }),
    errors: ['IDEMPOTENCY_KEY_REUSED'],
  },
  'rooms.get': { summary: 'The room snapshot (the same frame a WebSocket subscriber gets first). The ETag is the room version.', response: snapshotFrameSchema, errors: ['ROOM_NOT_FOUND'] },
  'rooms.command': {
    summary: 'Runs a host console command (see the command list). The answer of a repeated idempotency key is the first answer (200, duplicate: true).',
   
    body: commandBody,
    response: commandResultSchema,
    errors: [
      'FORBIDDEN',
      'CONFLICT',
      'RATE_LIMITED',
      'ROOM_NOT_FOUND',
      'ITEM_NOT_FOUND',
      'INVALID_ARGUMENT',
      'WRONG_ITEM_KIND',
      'STOCK_BELOW_COMMITTED',
      'ITEM_UNAVAILABLE',
      'INSUFFICIENT_STOCK',
      'SHOW_NOT_FOUND',
      'NO_SHOW',
      'NOTHING_NEXT',
      'SLOT_NOT_FOUND',
      'SLOT_NOT_PENDING',
      'WRONG_SLOT_ROLE',
      'LOTTERY_NOT_FOUND',
      'LOTTERY_NOT_OPEN',
      'IDEMPOTENCY_KEY_REUSED',
    ],
  },
  'items.create': {
    summary: 'Adds a flash-sale item: the addItem command, with the envelope in the body or in the Idempotency-Key and If-Match headers. 201 with the item.',
   
    body: createItemBody,
    response: commandResultSchema.extend({ item: itemInfoSchema }),
    errors: ['FORBIDDEN', 'CONFLICT', 'RATE_LIMITED', 'ROOM_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'rooms.onAir': {
    summary: 'Puts an item on air, or none: the onAir command, with the envelope in the body or in the Idempotency-Key and If-Match headers.',
   
    body: onAirBody,
    response: commandResultSchema,
    errors: ['FORBIDDEN', 'CONFLICT', 'RATE_LIMITED', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND'],
  },
  'rooms.audit': {
    summary: "The room's host command audit log: a row per applied or repeated command, newest first, and the refused commands counted per actor, role, command and error code.",
    query: 'limit (1 to 1000, default 100)',
    response: auditReplySchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND'],
  },
  'web.root': { summary: 'Redirects to the demo page.' },
  'web.index': { summary: 'The demo page: a room as a shopper, the host console or an ops dashboard sees it, on the typed client.' },
  'web.file': { summary: 'The demo page\'s files (TypeScript served as JavaScript modules).', errors: ['NOT_FOUND'] },
  'items.buy': {
    summary: 'Reserves stock: 201 held, 200 duplicate (the same key, quantity and coupon again: the first answer), 409 with the refusal (sold out, insufficient stock, limit reached, not started, ended); 409 IDEMPOTENCY_KEY_REUSED for the same key with another quantity or another coupon, or a coupon where the first had none or none where it had one (nothing changes).',
   
    body: buyBody,
    response: buyResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'ITEM_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED', 'COUPON_NOT_APPLICABLE', 'COUPON_EXHAUSTED', 'COUPON_NOT_FOR_YOU'],
  },
  'members.tier': {
    summary: "Sets a shopper's member tier (regular, silver, gold): recorded in the ledger, priced on the shopper's next buys by each item's member-day rule.",
    body: memberTierBody,
    response: memberTierReplySchema,
    errors: ['FORBIDDEN', 'INVALID_ARGUMENT'],
  },
  'segments.refresh': {
    summary: "Recomputes every shopper's lifecycle stage from the ledger and replaces the copy in Redis that coupon audiences and reminders read (the ledger writer also does it every SEGMENT_REFRESH_SECONDS). Ops only.",
    response: segmentRefreshReplySchema,
    errors: ['FORBIDDEN'],
  },
  'items.memberDay': {
    summary: "Sets a flash-sale item's member-day rule: each tier's amount off an order whose base (qty × unit price) reaches the threshold. Later holds are priced by it; every hold keeps its price. Runs the setMemberDay host command (audited, one at a time per room, viewers get the item with its offers): Idempotency-Key names the change (absent: a new one), If-Match the room version it is based on (absent: the current one).",
    body: memberDayBody,
    response: memberDayReplySchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE', 'CONFLICT'],
  },
  'items.coupons': {
    summary: 'Adds a coupon campaign to a flash-sale item (fixed, percent, or spend-X-get-Y-off; budget, per-user limit, validity): 201 created, 200 when the same campaign was there (nothing changed), 409 CAMPAIGN_EXISTS for another campaign with that id (or another audience). Runs the addCoupon host command (audited, one at a time per room, viewers get the item with its offers): Idempotency-Key names the change (absent: a new one), If-Match the room version it is based on (absent: the current one).',
    body: couponCampaignBody,
    response: couponCampaignReplySchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE', 'CAMPAIGN_EXISTS', 'IDEMPOTENCY_KEY_REUSED', 'CONFLICT'],
  },
  'items.join': {
    summary: 'Joins a tiered group buy: reserves stock, counts the participant, prices the hold at the tier reached. 201 held (with count, tier, next threshold, crossed), 200 duplicate (the same key and quantity again), 409 refusal (also group_closed); 409 IDEMPOTENCY_KEY_REUSED for the same key with another quantity (nothing changes).',
   
    body: joinBody,
    response: joinResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'ITEM_UNAVAILABLE', 'WRONG_ITEM_KIND', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'items.pay': {
    summary: 'Pays a hold, against the hold version it names. Answered only once the payment is durable in Kafka (503 PAYMENT_NOT_CONFIRMED otherwise: retry, it is never charged twice).',
   
    body: payBody,
    response: paidResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'ORDER_NOT_FOUND', 'HOLD_EXPIRED', 'HOLD_CANCELLED', 'HOLD_CHANGED', 'GROUP_CLOSED', 'ITEM_UNAVAILABLE', 'PAYMENT_NOT_CONFIRMED'],
  },
  'items.cancel': {
    summary: 'Cancels an unpaid hold: its stock returns. Cancelling twice answers already: true.',
   
    body: cancelBody,
    response: cancelResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'ORDER_NOT_FOUND', 'HOLD_EXPIRED', 'ORDER_PAID', 'ITEM_UNAVAILABLE'],
  },
  'items.subscribe': {
    summary: 'Asks for a reminder when a pre-heated sale opens (outcome live or ended when it is too late for one).',
   
    body: subscribeBody,
    response: subscribeResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'ITEM_UNAVAILABLE'],
  },
  'me.orders': {
    summary: "The caller's own orders, newest first, each with its adjustments (refunds, a tier settlement's with the tier price, reprice, cancellation, expiry) and their event times. The subject is the token's user; there is no user parameter. The first page also carries holds made a moment ago that the ledger has not recorded yet (source: live).",
    query: 'showId, roomId, state (held|paid|cancelled|expired|refunded), cursor (the nextCursor of the previous page), limit (1 to 100, default 20)',
    response: myOrdersReplySchema,
    errors: ['FORBIDDEN'],
  },
  'items.settlement': {
    summary: "A tiered group buy's settlement per order, from the ledger: the tier reached, the final price, and per order the user, quantity, paid, refund, net, state and times; totals over every order reconcile (paid − refunds = net). ITEM_NOT_FOUND for an unknown item or one that is not a group buy.",
    query: 'cursor (the nextCursor of the previous page), limit (1 to 1000, default 1000)',
    response: settlementReplySchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND'],
  },
  'referrals.click': {
    summary: "Records that the caller opened a share link: the referrer it carries, the room and optionally the item. 201 with the click and the end of its attribution window (REFERRAL_WINDOW_SECONDS). The caller's orders in the room held within the window are attributed to the last link opened before them and credit the referrer a commission on payment (docs/referrals.md). SELF_REFERRAL when the referrer is the caller (nothing is recorded).",
    body: referralClickBody,
    response: referralClickSchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'SELF_REFERRAL'],
  },
  'items.commission': {
    summary: "Sets an item's referral commission rate in basis points of the amount paid (0: none). Orders paid from then on are credited at it; commissions already credited keep theirs. Runs the setCommission host command (audited, one at a time per room, viewers get the item with its offers): Idempotency-Key names the change (absent: a new one), If-Match the room version it is based on (absent: the current one).",
    body: commissionRateBody,
    response: commissionRateSchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'IDEMPOTENCY_KEY_REUSED', 'CONFLICT'],
  },
  'me.commissions': {
    summary: "The caller's commissions as a referrer, newest first: per attributed order the rate, the base paid, what was credited, what refunds reversed and the net, with the totals over all of them. The subject is the token's user.",
    query: 'cursor (the nextCursor of the previous page), limit (1 to 100, default 20)',
    response: myCommissionsReplySchema,
    errors: ['FORBIDDEN'],
  },
  'rooms.stats': {
    summary: "A room's live figures from the ledger, each with its metric name, and viewers online: the figures of the room's current show (showId; the live one, else the next planned, else the latest), or of the whole room when it has no show (showId null). For a given show use GET /shows/{showId}/stats.",
    response: z.object({ roomId: z.string(), showId: z.string().nullable(), asOf: z.string(), metrics: z.array(metricValueSchema), online: z.number().int() }),
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND'],
  },
  'stats.dictionary': { summary: "Every metric's name, unit, definition, version and scopes." },
  'shows.create': {
    summary: "Creates a planned show in a room (a room has many shows over time). Run-sheet items on the room shelf are carried into the show. SHOW_EXISTS when a planned or live show of the room overlaps the planned window.",
    body: createShowBody,
    response: showReplySchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'SHOW_EXISTS'],
  },
  'shows.get': { summary: 'A show, its state and its run sheet.', response: showReplySchema, errors: ['FORBIDDEN', 'SHOW_NOT_FOUND'] },
  'shows.start': {
    summary: "Starts a planned show (planned → live); the room's viewers get a show delta. At most one live show per room.",
    body: showTransitionBody,
    response: showReplySchema,
    errors: ['FORBIDDEN', 'SHOW_NOT_FOUND', 'SHOW_STATE', 'SHOW_LIVE'],
  },
  'shows.end': { summary: "Ends a live show (live → ended); the room's viewers get a show delta.", body: showTransitionBody, response: showReplySchema, errors: ['FORBIDDEN', 'SHOW_NOT_FOUND', 'SHOW_STATE'] },
  'rooms.shows': { summary: "A room's shows, latest planned start first.", response: showListReplySchema, errors: ['FORBIDDEN', 'ROOM_NOT_FOUND'] },
  'rooms.show': { summary: "The room's current show: the live one, else the next planned, else the latest.", response: showReplySchema, errors: ['FORBIDDEN', 'SHOW_NOT_FOUND'] },
  'shows.stats': {
    summary: "Every dictionary metric of the show, per product and per minute: its items' orders, and the room's activity while it was live.",
    response: z.object({
      showId: z.string(),
      roomId: z.string(),
      state: z.enum(['planned', 'live', 'ended']),
      asOf: z.string(),
      metrics: z.array(metricValueSchema),
      products: z.array(z.object({ itemId: z.string(), metrics: z.array(metricValueSchema) })),
      minutes: z.array(z.object({ minute: z.string(), metrics: z.array(metricValueSchema) })),
    }),
    errors: ['FORBIDDEN', 'SHOW_NOT_FOUND'],
  },
  'shows.audit': {
    summary: 'The host commands recorded while the show was live, newest first (none before it starts).',
    query: 'limit (1 to 1000, default 100)',
    response: z.object({ roomId: z.string(), showId: z.string(), entries: z.array(z.looseObject({ id: z.string(), command: z.string(), outcome: z.enum(['applied', 'duplicate', 'rejected']), at: z.number().int() })) }),
    errors: ['FORBIDDEN', 'SHOW_NOT_FOUND'],
  },
  'shows.run': {
    summary: "The run of show (the host's live view): the slot on air with its time left, the next slot, every slot's planned and actual times and drift (actual − planned, ms), and the show's drift, by the server clock. The same view is pushed to the room's host and ops sockets as run_of_show frames.",
    response: runOfShowSchema,
    errors: ['FORBIDDEN', 'SHOW_NOT_FOUND'],
  },
  'shows.report': { summary: "The show's review report as JSON, CSV or text (with every lottery of the show: entrants, winners, seed).", query: 'format=json|csv|text, part (csv)', errors: ['FORBIDDEN', 'INVALID_ARGUMENT', 'SHOW_NOT_FOUND'] },
  'lotteries.enter': {
    summary: 'Enters a lottery: 201 entered, 200 duplicate (the first entry stands, counted once). Refused before or after the entry window, once drawn, and for shoppers the lottery\'s eligibility rule does not admit.',
    body: lotteryEnterBody,
    response: lotteryEntryResultSchema,
    errors: ['FORBIDDEN', 'LOTTERY_NOT_FOUND', 'LOTTERY_NOT_OPEN', 'LOTTERY_CLOSED', 'NOT_ELIGIBLE'],
  },
  'items.teamBuy': {
    summary: 'Offers a flash-sale item in teams (拼团): team size, team price, the window a team has to form, teams per user. Setting it again changes what new teams get; a team keeps its own size and price. The room\'s host or ops. Runs the setTeamBuy host command (audited, one at a time per room, viewers get the item with its offers): Idempotency-Key names the change (absent: a new one), If-Match the room version it is based on (absent: the current one).',
    body: teamBuyBody,
    response: teamBuySettingsSchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'INVALID_ARGUMENT', 'IDEMPOTENCY_KEY_REUSED', 'CONFLICT'],
  },
  'items.teamOpen': {
    summary: 'Opens a team and holds one unit at the team price: 201 held (its teamId is the share code), 200 duplicate (the same key again), 409 refusal (team_limit: in as many live teams as allowed; and those of buy). Pay the hold like any other; the team forms when its last seat is paid.',
    body: teamJoinBody,
    response: teamJoinResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'items.teamJoin': {
    summary: 'Takes a seat in a team by its id, at the team price: 201 held (seats taken after this join), 200 duplicate, 404 team_not_found, 409 team_full, team_closed (formed, failed or out of time), team_limit, and the refusals of buy. A team never has more live members than its size.',
    body: teamJoinBody,
    response: teamJoinResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE', 'IDEMPOTENCY_KEY_REUSED'],
  },
  'items.team': {
    summary: "A team's progress: state (open, formed, failed), leader, size, price, window end, seats taken, seats paid, and each member's user and state.",
    response: teamViewSchema,
    errors: ['ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'TEAM_NOT_FOUND'],
  },
  'items.bargainOffer': {
    summary: "Offers a flash-sale item for bargains (砍价): start price, floor price, helpers K (start − floor ≥ K), window, new users only. A bargain keeps the terms it started with. The room's host or ops. Runs the setBargain host command (audited, one at a time per room, viewers get the item with its offers): Idempotency-Key names the change (absent: a new one), If-Match the room version it is based on (absent: the current one).",
    body: bargainOfferBody,
    response: bargainSettingsSchema,
    errors: ['FORBIDDEN', 'ROOM_NOT_FOUND', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'INVALID_ARGUMENT', 'IDEMPOTENCY_KEY_REUSED', 'CONFLICT'],
  },
  'items.bargainStart': {
    summary: "Starts a bargain at the start price: 201 started, 200 existing (the shopper's open bargain of the item); 409 not_started or ended outside the sale window.",
    body: bargainEmptyBody,
    response: bargainStartResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE'],
  },
  'items.bargainHelp': {
    summary: "Helps a bargain: cuts its price by the next draw of its seeded generator (the K-th help reaches the floor exactly, no cut below 1 fen). 200 helped; 404 bargain_not_found; 409 already_helped (once per user, never the starter), bargain_at_floor, bargain_closed (bought or out of time), not_new_user.",
    body: bargainEmptyBody,
    response: bargainHelpResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE'],
  },
  'items.bargainBuy': {
    summary: 'The starter buys at the current price within the window: 201 held (pay it with the pay route), 200 the hold made before (held or paid); 404 bargain_not_found (not this user\'s); 409 bargain_closed and the refusals of buy.',
    body: bargainEmptyBody,
    response: bargainBuyResultSchema,
    errors: ['FORBIDDEN', 'ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'ITEM_UNAVAILABLE'],
  },
  'items.bargain': {
    summary: "A bargain: state (open, bought, expired), starter, start and floor price, the price now, helps so far of K, window end, and the helpers.",
    response: bargainViewSchema,
    errors: ['ITEM_NOT_FOUND', 'WRONG_ITEM_KIND', 'BARGAIN_NOT_FOUND'],
  },
  'lotteries.get': {
    summary: 'A lottery: its commitment before the draw; after it the seed, the sorted entrant ids, their hash and the winners with their prize holds (`npm run lottery:verify` recomputes the draw from this).',
    response: lotteryPublicSchema,
    errors: ['LOTTERY_NOT_FOUND'],
  },
  'shows.lotteries': {
    summary: "Every lottery of a show, oldest first (without the entrant lists: read those from GET /lotteries/{lotteryId}).",
    response: z.object({ showId: z.string(), lotteries: z.array(lotteryPublicSchema) }),
    errors: ['SHOW_NOT_FOUND'],
  },
};

interface MessageDoc {
  summary: string;
  reply: string;
}

/** What each WebSocket message type does, by type. */
export const messageDocs: Record<string, MessageDoc> = {
  ping: { summary: 'Round trip and server clock.', reply: 'pong' },
  auth: { summary: 'Replaces the connection\'s access token before it expires (same user and role; FORBIDDEN otherwise).', reply: 'ack' },
  buy: { summary: 'Reserves stock, like POST /rooms/{roomId}/items/{itemId}/buy.', reply: 'buy.result' },
  join: { summary: 'Joins a tiered group buy, like POST /rooms/{roomId}/items/{itemId}/join.', reply: 'order.result' },
  pay: { summary: 'Pays a hold, like POST /rooms/{roomId}/items/{itemId}/pay (answered once durable).', reply: 'order.result' },
  cancel: { summary: 'Cancels an unpaid hold, like POST /rooms/{roomId}/items/{itemId}/cancel.', reply: 'order.result' },
  subscribe: { summary: 'Asks for a pre-heat reminder, like POST /rooms/{roomId}/items/{itemId}/subscribe.', reply: 'order.result' },
  command: { summary: 'A host console command (the body of POST /rooms/{roomId}/commands plus type and reqId).', reply: 'command.result' },
  'product.click': { summary: 'A viewer opened a product detail (a product.clicked room-activity event).', reply: 'ack' },
  follow: { summary: 'A viewer followed the room (a room.followed room-activity event).', reply: 'ack' },
  'lottery.enter': { summary: "Enters a lottery of the socket's room, like POST /lotteries/{lotteryId}/enter (the open socket counts as present).", reply: 'lottery.result' },
  orders: { summary: "The caller's own orders, like GET /me/orders (the same filters and reply; not limited to the socket's room unless roomId says so).", reply: 'orders.result' },
  'team.open': { summary: 'Opens a team of a team buy, like POST /rooms/{roomId}/items/{itemId}/teams (the same answer, refusals included, as result).', reply: 'team.result' },
  'team.join': { summary: 'Takes a seat in a team by its share code, like POST /rooms/{roomId}/items/{itemId}/teams/{teamId}/join.', reply: 'team.result' },
  'bargain.start': { summary: 'Starts a bargain (or answers the open one), like POST /rooms/{roomId}/items/{itemId}/bargains.', reply: 'bargain.result' },
  'bargain.help': { summary: "Helps another shopper's bargain, like POST /rooms/{roomId}/items/{itemId}/bargains/{bargainId}/help.", reply: 'bargain.result' },
  'bargain.buy': { summary: "The starter buys at the bargain's price, like POST /rooms/{roomId}/items/{itemId}/bargains/{bargainId}/buy.", reply: 'bargain.result' },
  'referral.click': { summary: "Records that the caller opened a share link of the socket's room, like POST /rooms/{roomId}/referrals.", reply: 'referral.result' },
};

const named: Record<string, z.ZodType> = {
  RoomDoc: roomDocSchema,
  ItemInfo: itemInfoSchema,
  StockLevel: stockLevelSchema,
  GroupProgress: groupProgressSchema,
  LotteryInfo: lotteryInfoSchema,
  Delta: deltaSchema,
  Envelope: envelopeSchema,
  Command: commandBody,
  CommandResult: commandResultSchema,
  BuyResult: buyResultSchema,
  RunSlot: runSlotSchema,
  RunRow: runRowSchema,
  RunOfShow: runOfShowSchema,
  ErrorReply: errorReply,
};

const pascal = (s: string) => s.replace(/(^|[._-])([a-z])/g, (_m, _p, c: string) => c.toUpperCase());

/** Every schema with its name in the documents. */
function registry(messages: MessageInfo[]): { reg: z.core.$ZodRegistry<{ id: string }>; ids: Map<z.ZodType, string> } {
  const reg = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  const add = (id: string, s: z.ZodType) => {
    if (ids.has(s)) return;
    ids.set(s, id);
    reg.add(s, { id });
  };
  for (const [id, s] of Object.entries(named)) add(id, s);
  for (const m of messages) add(`${pascal(m.type)}Message`, m.schema);
  for (const [type, s] of Object.entries(serverFrameSchemas)) add(`${pascal(type)}Frame`, s);
  for (const [name, d] of Object.entries(endpointDocs)) {
    if (d.body) add(`${pascal(name)}Body`, d.body);
    if (d.response) add(`${pascal(name)}Reply`, d.response);
  }
  return { reg, ids };
}

type Json = Record<string, unknown>;

function schemasOf(messages: MessageInfo[], uri: (id: string) => string): { schemas: Record<string, Json>; ids: Map<z.ZodType, string> } {
  const { reg, ids } = registry(messages);
  const out = z.toJSONSchema(reg, { uri, io: 'input', unrepresentable: 'any', cycles: 'ref', reused: 'inline' }) as { schemas: Record<string, Json> };
  const schemas: Record<string, Json> = {};
  for (const [id, s] of Object.entries(out.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = s;
    schemas[id] = rest;
  }
  return { schemas, ids };
}

const openApiPath = (pattern: string) => pattern.replace(/:([A-Za-z]+)/g, '{$1}');
const pathParams = (pattern: string) => [...pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);

export interface Docs {
  jsonSchema: string;
  asyncApi: string;
  openApi: string;
  markdown: string;
}

/** Builds every generated document. */
export function buildDocs(): Docs {
  const { routes, messages } = collectEndpoints();

  // JSON Schema: one document, every named schema under $defs.
  const js = schemasOf(messages, (id) => `#/$defs/${id}`);
  const jsonSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'livesale-protocol',
    title: 'livesale gateway protocol',
    description: 'Every WebSocket message a client may send (…Message), every frame the server sends (…Frame), HTTP bodies (…Body) and replies (…Reply), and the shared types.',
    $defs: js.schemas,
  };

  const comp = schemasOf(messages, (id) => `#/components/schemas/${id}`);
  const ref = (s: z.ZodType | undefined) => (s && comp.ids.has(s) ? { $ref: `#/components/schemas/${comp.ids.get(s)}` } : undefined);

  // OpenAPI 3.1
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const d = endpointDocs[r.name];
    const method = r.method === 'del' ? 'delete' : r.method;
    const errorCodes = [...new Set(['BAD_REQUEST', 'INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNAUTHENTICATED', 'RATE_LIMITED', 'SHUTTING_DOWN', 'INTERNAL', ...(d?.errors ?? [])])];
    const statuses = [...new Set(errorCodes.map((c) => errorTable[c as keyof typeof errorTable].status))].sort();
    (paths[openApiPath(r.pattern)] ??= {})[method] = {
      operationId: r.name,
      summary: d?.summary ?? r.name,
      description: `Who: ${whoOf(r.action)}.${d?.query ? ` Query: ${d.query}.` : ''}`,
      ...(pathParams(r.pattern).length ? { parameters: pathParams(r.pattern).map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } })) } : {}),
      ...(d?.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(d.body) } } } } : {}),
      responses: {
        '2XX': { description: 'Success', content: { 'application/json': { schema: ref(d?.response) ?? {} } } },
        ...Object.fromEntries(statuses.map((st) => [String(st), { description: errorCodes.filter((c) => errorTable[c as keyof typeof errorTable].status === st).join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorReply' } } } }])),
      },
    };
  }
  const openApi = {
    openapi: '3.1.0',
    info: { title: 'livesale gateway HTTP API', version: '1', description: 'Access tokens: `Authorization: Bearer <JWT>` (HS256; role shopper, host or ops). Errors: `{"error":{"code","message","details?"}}`.' },
    components: { schemas: comp.schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    security: [{ bearer: [] }],
    paths,
  };

  // AsyncAPI 3.0: the room channel.
  const asyncMessages: Record<string, unknown> = {};
  for (const m of messages) asyncMessages[`${pascal(m.type)}Message`] = { name: m.type, summary: messageDocs[m.type]?.summary ?? m.type, payload: ref(m.schema) };
  for (const [type, s] of Object.entries(serverFrameSchemas)) asyncMessages[`${pascal(type)}Frame`] = { name: type, summary: (s as z.ZodType).description ?? type, payload: ref(s as z.ZodType) };
  const asyncApi = {
    asyncapi: '3.0.0',
    info: { title: 'livesale room protocol', version: '1', description: 'One WebSocket per room subscription: a snapshot, then ordered deltas; commands with request ids. See docs/protocol.md.' },
    servers: { gateway: { host: 'localhost:8080', protocol: 'ws' } },
    channels: {
      room: {
        address: '/rooms/{roomId}/ws',
        parameters: { roomId: { description: 'The room id' } },
        description: 'Query: token (the access token), and on reconnect epoch and offset (the last position seen).',
        messages: Object.fromEntries(Object.keys(asyncMessages).map((k) => [k, { $ref: `#/components/messages/${k}` }])),
      },
    },
    operations: {
      send: { action: 'receive', channel: { $ref: '#/channels/room' }, summary: 'What clients send', messages: messages.map((m) => ({ $ref: `#/channels/room/messages/${pascal(m.type)}Message` })) },
      receive: { action: 'send', channel: { $ref: '#/channels/room' }, summary: 'What the server sends', messages: Object.keys(serverFrameSchemas).map((t) => ({ $ref: `#/channels/room/messages/${pascal(t)}Frame` })) },
    },
    components: { schemas: comp.schemas, messages: asyncMessages },
  };

  return {
    jsonSchema: `${JSON.stringify(jsonSchema, null, 2)}\n`,
    asyncApi: `${JSON.stringify(asyncApi, null, 2)}\n`,
    openApi: `${JSON.stringify(openApi, null, 2)}\n`,
    markdown: markdownReference(routes, messages, js.schemas, (sch) => js.ids.get(sch)),
  };
}

// ---- markdown

function typeOf(s: Json | undefined): string {
  if (!s) return 'any';
  if (s.$ref) return `[${String(s.$ref).split('/').pop()}](#${String(s.$ref).split('/').pop()!.toLowerCase()})`;
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return (s.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.anyOf || s.oneOf) return ((s.anyOf ?? s.oneOf) as Json[]).map(typeOf).join(' \\| ');
  const t = Array.isArray(s.type) ? (s.type as string[]).join(' \\| ') : String(s.type ?? 'any');
  if (t === 'array') return `${typeOf(s.items as Json)}[]`;
  if (t === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map of ${typeOf(s.additionalProperties as Json)}`;
  return t;
}

function constraints(s: Json): string {
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${String(s.minimum)}`);
  if (s.maximum !== undefined && Number(s.maximum) < 9e15) parts.push(`≤ ${String(s.maximum)}`);
  if (s.minLength !== undefined) parts.push(`length ≥ ${String(s.minLength)}`);
  if (s.maxLength !== undefined) parts.push(`length ≤ ${String(s.maxLength)}`);
  if (s.minItems !== undefined) parts.push(`≥ ${String(s.minItems)} items`);
  if (s.maxItems !== undefined) parts.push(`≤ ${String(s.maxItems)} items`);
  if (s.pattern !== undefined) parts.push(`\`/${String(s.pattern)}/\``);
  return parts.join(', ');
}

function fieldsTable(s: Json | undefined): string {
  const props = (s?.properties ?? {}) as Record<string, Json>;
  if (!Object.keys(props).length) return '';
  const req = new Set((s?.required ?? []) as string[]);
  const rows = Object.entries(props).map(([k, p]) => {
    const inner = (p.anyOf as Json[] | undefined)?.find((x) => x.type !== 'null') ?? p;
    return `| \`${k}\` | ${typeOf(p)} | ${req.has(k) ? 'yes' : 'no'} | ${[String(p.description ?? inner.description ?? ''), constraints(inner)].filter(Boolean).join('; ')} |`;
  });
  return ['| field | type | required | notes |', '|---|---|---|---|', ...rows].join('\n');
}

function variantsOf(s: Json): Json[] {
  return ((s.oneOf ?? s.anyOf) as Json[] | undefined) ?? [s];
}

function markdownReference(routes: RouteInfo[], messages: MessageInfo[], schemas: Record<string, Json>, idOf: (s: z.ZodType) => string | undefined): string {
  const out: string[] = [];
  const of = (s: z.ZodType | undefined): Json | undefined => (s && idOf(s) ? schemas[idOf(s)!] : undefined);
  out.push('## Reference (generated)', '', 'Generated by `npm run protocol:docs` from the schemas in `common/contracts/protocol.ts` and the routes the server registers; do not edit this section by hand.', '');

  out.push('### HTTP endpoints', '');
  for (const r of routes) {
    const d = endpointDocs[r.name];
    out.push(`#### \`${r.method === 'del' ? 'DELETE' : r.method.toUpperCase()} ${r.pattern}\``, '', `${d?.summary ?? '(not described yet)'} Who: ${whoOf(r.action)}.${d?.query ? ` Query: ${d.query}.` : ''}`, '');
    if (d?.body) {
      const body = of(d.body) ?? {};
      if (body.oneOf || body.anyOf) out.push('Body: one of the [host console commands](#host-console-commands).', '');
      else out.push('Body:', '', fieldsTable(body), '');
    }
    if (d?.errors?.length) out.push(`Errors: ${d.errors.map((e) => `\`${e}\``).join(', ')}.`, '');
  }

  out.push('### Host console commands', '', 'Over HTTP (`POST /rooms/{roomId}/commands`) and WebSocket (`{"type":"command","reqId":…}`), with these fields besides `command`, `idempotencyKey` and `baseVersion`:', '');
  for (const v of variantsOf(schemas.Command!)) {
    const props = { ...((v.properties ?? {}) as Record<string, Json>) };
    const name = String(props.command?.const);
    delete props.command;
    delete props.idempotencyKey;
    delete props.baseVersion;
    const table = fieldsTable({ ...v, properties: props });
    out.push(`#### \`${name}\``, '', table || '(no other fields)', '');
  }

  out.push('### WebSocket messages (client to server)', '');
  for (const m of messages) {
    const d = messageDocs[m.type];
    out.push(`#### \`${m.type}\``, '', `${d?.summary ?? '(not described yet)'} Who: ${whoOf(m.action)}. Reply: \`${d?.reply ?? '?'}\` (or \`error\`).`, '');
    if (m.type !== 'command') out.push(fieldsTable(of(m.schema)), '');
  }

  out.push('### Frames (server to client)', '');
  for (const type of Object.keys(serverFrameSchemas)) {
    const s = of(serverFrameSchemas[type as keyof typeof serverFrameSchemas])!;
    out.push(`#### \`${type}\``, '', String(s.description ?? ''), '', fieldsTable(s), '');
  }

  out.push('### Shared types', '');
  for (const id of ['RoomDoc', 'ItemInfo', 'StockLevel', 'GroupProgress', 'LotteryInfo', 'Envelope', 'CommandResult']) {
    out.push(`#### ${id}`, '', String(schemas[id]!.description ?? ''), '', fieldsTable(schemas[id]), '');
  }
  out.push('#### Delta', '', 'One of (by `t`):', '');
  for (const v of variantsOf(schemas.Delta!)) {
    const props = (v.properties ?? {}) as Record<string, Json>;
    out.push(`- \`${JSON.stringify(props.t?.const)}\`: ${String(v.description ?? '')}; fields ${Object.keys(props).filter((k) => k !== 't').map((k) => `\`${k}\``).join(', ') || 'none'}`);
  }
  out.push('');

  out.push('### Error codes', '', '| code | HTTP status | meaning |', '|---|---|---|');
  for (const [code, e] of Object.entries(errorTable)) out.push(`| \`${code}\` | ${e.status} | ${e.message} |`);
  out.push('', '### Close codes', '', '| code | meaning |', '|---|---|');
  for (const [code, m] of Object.entries(closeCodes)) out.push(`| ${code} | ${m} |`);
  out.push('');
  return out.join('\n');
}

const begin = '<!-- generated:begin -->';
const end = '<!-- generated:end -->';

/** docs/protocol.md with its generated section replaced. */
export function withReference(markdown: string, reference: string): string {
  const a = markdown.indexOf(begin);
  const b = markdown.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/protocol.md needs the markers ${begin} and ${end}`);
  return `${markdown.slice(0, a + begin.length)}\n${reference}\n${markdown.slice(b)}`;
}

export const docsDir = fileURLToPath(new URL('../docs/', import.meta.url));

/** The files as they should be: path -> content. */
export function expectedFiles(): Record<string, string> {
  const d = buildDocs();
  return {
    'protocol.schema.json': d.jsonSchema,
    'asyncapi.json': d.asyncApi,
    'openapi.json': d.openApi,
    'protocol.md': withReference(readFileSync(`${docsDir}protocol.md`, 'utf8'), d.markdown),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [name, content] of Object.entries(expectedFiles())) {
    let current = '';
    try {
      current = readFileSync(`${docsDir}${name}`, 'utf8');
    } catch {
      /* missing */
    }
    if (current === content) continue;
    stale++;
    if (check) process.stdout.write(`docs/${name} is not current\n`);
    else {
      writeFileSync(`${docsDir}${name}`, content);
      process.stdout.write(`wrote docs/${name}\n`);
    }
  }
  if (check && stale) {
    process.stdout.write('run: npm run protocol:docs\n');
    process.exit(1);
  }
  if (!stale) process.stdout.write('docs are current\n');
}
