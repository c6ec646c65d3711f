/**
 * The one table of coded errors. Every error a client can see has a code from here, an HTTP
 * status and a default message. Business refusals (sold out, limit reached, ...) are codes too,
 * so the HTTP API, the WebSocket protocol and the typed client all speak the same words.
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
  SHOW_EXISTS: { status: 409, message: 'the room already has a show' },
  CONFLICT: { status: 409, message: 'the command was based on a stale version' },
  RATE_LIMITED: { status: 429, message: 'too many requests; slow down' },
  ITEM_UNAVAILABLE: { status: 503, message: 'the item is temporarily unavailable; try again shortly' },
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
  PAYMENT_NOT_CONFIRMED: { status: 503, message: 'the payment could not be made durable yet; retry with the same order' },
  // operations
  CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
  SHUTTING_DOWN: { status: 503, message: 'the server is shutting down; reconnect shortly' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorTable;

export class LivesaleError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? errorTable[code].message, options);
    this.name = 'LivesaleError';
    this.code = code;
    this.status = errorTable[code].status;
    this.details = details;
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
