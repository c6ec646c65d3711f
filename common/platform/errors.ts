/**
 * The one table of coded errors. Every error a client can see has a code from here, an HTTP
 * status and a default message. Business refusals (sold out, limit reached, ...) are codes too,
 * so the HTTP API, the WebSocket protocol and the typed client all speak the same words.
 *
 * `retriable: true` marks the codes where the same request, sent again unchanged after a pause,
 * may succeed: the item is being rebuilt (ITEM_UNAVAILABLE), the payment was not yet durable
 * (PAYMENT_NOT_CONFIRMED, idempotent by order), the node is stopping (SHUTTING_DOWN: another node
 * or this one restarted will answer), the caller went too fast (RATE_LIMITED). CONFLICT is not:
 * a stale `baseVersion` stays stale until the caller reads the room again; only the one case
 * where the command never ran (another command held the room's lock) is thrown as retriable.
 * The flag is for the server's own retry loops (common/platform/retry.ts) and stays off the wire:
 * clients read the HTTP status and `retry-after`.
 */
export const errorTable = {
  // input
  BAD_REQUEST: { status: 400, message: 'the request is malformed' },
  INVALID_JSON: { status: 400, message: 'the message is not valid JSON' },
  UNKNOWN_TYPE: { status: 400, message: 'unknown message type' },
  VALIDATION_FAILED: { status: 400, message: 'the request does not match its schema' },
  INVALID_ARGUMENT: { status: 400, message: 'an argument is out of range' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the message is larger than the limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'a request body must be JSON (Content-Type: application/json)' },
  // identity
  UNAUTHENTICATED: { status: 401, message: 'a valid access token is required' },
  FORBIDDEN: { status: 403, message: 'this token may not do that' },
  // lookup and state
  NOT_FOUND: { status: 404, message: 'no such resource' },
  ROOM_NOT_FOUND: { status: 404, message: 'no such room' },
  ITEM_NOT_FOUND: { status: 404, message: 'no such item' },
  SHOW_NOT_FOUND: { status: 404, message: 'no such show' },
  SHOW_EXISTS: { status: 409, message: 'the room already has a show planned or live at that time' },
  SHOW_STATE: { status: 409, message: 'the show is not in a state that allows this (planned → live → ended)' },
  SHOW_LIVE: { status: 409, message: 'the room already has a live show; end it first' },
  CONFLICT: { status: 409, message: 'the command was based on a stale version' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'this idempotency key was used for a different request; use a new key' },
  RATE_LIMITED: { status: 429, message: 'too many requests; slow down', retriable: true },
  ITEM_UNAVAILABLE: { status: 503, message: 'the item is temporarily unavailable; try again shortly', retriable: true },
  // sale outcomes (refusals: nothing changed)
  SOLD_OUT: { status: 409, message: 'sold out' },
  INSUFFICIENT_STOCK: { status: 409, message: 'not enough stock left for that quantity' },
  LIMIT_REACHED: { status: 409, message: 'the per-user limit for this item is reached' },
  NOT_STARTED: { status: 409, message: 'the sale has not started yet' },
  ENDED: { status: 409, message: 'the sale has ended' },
  // orders and inventory commands (refusals: nothing changed)
  ORDER_NOT_FOUND: { status: 404, message: 'no such order for this user' },
  HOLD_EXPIRED: { status: 409, message: 'the reservation expired before it was paid' },
  HOLD_CANCELLED: { status: 409, message: 'the reservation was cancelled' },
  HOLD_CHANGED: { status: 409, message: 'the reservation changed since that version (its price or state); read it again' },
  ORDER_PAID: { status: 409, message: 'the order is already paid' },
  STOCK_BELOW_COMMITTED: { status: 409, message: 'stock cannot go below what is held and sold' },
  WRONG_ITEM_KIND: { status: 409, message: 'this command does not apply to this kind of item' },
  GROUP_CLOSED: { status: 409, message: 'the group buy is closed' },
  // coupons (refusals: nothing changed)
  COUPON_NOT_APPLICABLE: { status: 409, message: 'the coupon does not apply to this buy (unknown, not valid now, or below its minimum spend)' },
  COUPON_EXHAUSTED: { status: 409, message: 'the coupon campaign has no coupon left for you' },
  CAMPAIGN_EXISTS: { status: 409, message: 'the item has a coupon campaign with that id and other terms; use another id' },
  COUPON_NOT_FOR_YOU: { status: 409, message: "the coupon campaign is for other shoppers (its audience's member tiers or lifecycle stages)" },
  // team buys (refusals: nothing changed)
  TEAM_NOT_FOUND: { status: 404, message: 'no such team' },
  TEAM_FULL: { status: 409, message: 'the team is full' },
  TEAM_CLOSED: { status: 409, message: 'the team has formed, failed or run out of time' },
  TEAM_LIMIT: { status: 409, message: 'this user is in this team already, or in as many teams of this item as allowed' },
  // bargains (refusals: nothing changed)
  BARGAIN_NOT_FOUND: { status: 404, message: 'no such bargain' },
  BARGAIN_CLOSED: { status: 409, message: 'the bargain was bought or has run out of time' },
  ALREADY_HELPED: { status: 409, message: 'each user helps a bargain once, and never their own' },
  BARGAIN_AT_FLOOR: { status: 409, message: 'the bargain is at its floor price already' },
  NOT_NEW_USER: { status: 409, message: 'only new users may help this bargain' },
  // the run of show (refusals: nothing changed)
  NO_SHOW: { status: 409, message: 'the room has no live show' },
  NOTHING_NEXT: { status: 409, message: 'no slot is on air and no main slot is left to go on air' },
  SLOT_NOT_FOUND: { status: 404, message: 'the run sheet has no row at that position' },
  SLOT_NOT_PENDING: { status: 409, message: 'the slot is no longer pending (on air, done, skipped or replaced)' },
  WRONG_SLOT_ROLE: { status: 409, message: 'a swap replaces a main slot with a backup row' },
  // lotteries (refusals: nothing changed)
  LOTTERY_NOT_FOUND: { status: 404, message: 'no such lottery' },
  LOTTERY_NOT_OPEN: { status: 409, message: 'entries to this lottery have not opened yet' },
  LOTTERY_CLOSED: { status: 409, message: 'entries to this lottery are closed' },
  NOT_ELIGIBLE: { status: 409, message: 'this user may not enter this lottery' },
  // referrals (refusals: nothing changed)
  SELF_REFERRAL: { status: 409, message: 'a shopper cannot be referred by their own share link' },
  PAYMENT_NOT_CONFIRMED: { status: 503, message: 'the payment could not be made durable yet; retry with the same order', retriable: true },
  // operations
  CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
  SHUTTING_DOWN: { status: 503, message: 'the server is shutting down; reconnect shortly', retriable: true },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string; retriable?: true }>;

export type ErrorCode = keyof typeof errorTable;

/** Whether a code's table row says the same request may succeed later. */
export function isRetriableCode(code: ErrorCode): boolean {
  return (errorTable[code] as { retriable?: true }).retriable === true;
}

export interface LivesaleErrorOptions {
  readonly cause?: unknown;
  /** Overrides the code's own `retriable` for this one error (a lock that was busy, say). */
  readonly retriable?: boolean;
}

export class LivesaleError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Whether the same request may succeed if sent again later (read by common/platform/retry.ts). */
  readonly retriable: boolean;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: LivesaleErrorOptions) {
    super(message ?? errorTable[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LivesaleError';
    this.code = code;
    this.status = errorTable[code].status;
    this.details = details;
    this.retriable = options?.retriable ?? isRetriableCode(code);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: { ...this.details } } : { code: this.code, message: this.message };
  }
}

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.hasOwn(errorTable, v);
}

/** Any thrown value as a client-safe LivesaleError; unknown failures become INTERNAL. */
export function asLivesaleError(err: unknown): LivesaleError {
  if (err instanceof LivesaleError) return err;
  return new LivesaleError('INTERNAL', undefined, undefined, { cause: err });
}
