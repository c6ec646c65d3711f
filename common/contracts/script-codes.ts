import { LivesaleError, errorTable, type ErrorCode } from '../platform/errors.ts';

/**
 * The one answer format of every Lua script (inventory/lua and gateway/lua) and the one table of
 * the codes they answer with.
 *
 * Every script returns a flat array whose first element is the code:
 *
 *   { code, field1, field2, ... }
 *
 *   code >= 1   success: OK (done now), ALREADY (done before: nothing changed now), SCHEDULED
 *               (accepted, takes effect later), NOTHING_DUE (nothing was due: nothing changed)
 *   code <  0   an outcome of this table: a refusal or an error; nothing changed (a script's
 *               header says when one records the outcome or expires a hold on the way)
 *   { DUPLICATE, code, field1, ... }
 *               a repeated idempotency key or operation id: DUPLICATE, then the first answer
 *               as it was (its own code first). The first answer is kept in Redis as compact
 *               text ("code,field1,field2,...", a room command's as JSON) and split back in Lua,
 *               so a duplicate's fields arrive as strings.
 *
 * Fields are integers or strings, in the order the script's header lists under "Answers".
 * `decodeAnswer` is the one decoder (it unwraps a duplicate), `expectOk` turns a negative code
 * into the typed error of common/platform/errors.ts the table maps it to.
 */

interface CodeEntry {
  readonly code: number;
  /** The typed error this outcome is (negative codes only). */
  readonly error?: ErrorCode;
  /** A reservation or group join refused: an answer, not an error (nothing changed). */
  readonly refusal?: true;
  readonly meaning: string;
}

export const scriptCodeTable = {
  OK: { code: 1, meaning: 'done now' },
  ALREADY: { code: 2, meaning: 'done before; nothing changed now' },
  SCHEDULED: { code: 3, meaning: 'accepted; takes effect at a later time' },
  NOTHING_DUE: { code: 4, meaning: 'nothing was due; nothing changed' },
  SUPERSEDED: { code: 5, meaning: 'a newer version of the same state was appended before; nothing changed' },
  SOLD_OUT: { code: -1, error: 'SOLD_OUT', refusal: true, meaning: 'nothing left' },
  LIMIT_REACHED: { code: -2, error: 'LIMIT_REACHED', refusal: true, meaning: 'the per-user limit is reached' },
  NOT_STARTED: { code: -3, error: 'NOT_STARTED', refusal: true, meaning: 'the sale has not started (pre-heat)' },
  ENDED: { code: -4, error: 'ENDED', refusal: true, meaning: 'the sale has ended' },
  // Wraps the first answer; decodeAnswer unwraps it, so it never stands alone in a decoded answer.
  DUPLICATE: { code: -5, error: 'INTERNAL', meaning: 'a repeated idempotency key: the first answer follows' },
  INSUFFICIENT_STOCK: { code: -6, error: 'INSUFFICIENT_STOCK', refusal: true, meaning: 'fewer left than asked' },
  GROUP_CLOSED: { code: -7, error: 'GROUP_CLOSED', refusal: true, meaning: 'the group buy is closed (or failed)' },
  // Wrappers answer these two as results; as errors they mean a wrapper called the wrong script.
  SALE_LIVE: { code: -8, error: 'INTERNAL', meaning: 'the sale is already live' },
  GROUP_NOT_CLOSED: { code: -9, error: 'INTERNAL', meaning: 'the group buy is not closed yet' },
  ITEM_UNAVAILABLE: { code: -10, error: 'ITEM_UNAVAILABLE', meaning: 'no inventory in Redis for the item' },
  ORDER_NOT_FOUND: { code: -11, error: 'ORDER_NOT_FOUND', meaning: 'no such order (for this user)' },
  HOLD_EXPIRED: { code: -12, error: 'HOLD_EXPIRED', meaning: 'the hold expired' },
  HOLD_CANCELLED: { code: -13, error: 'HOLD_CANCELLED', meaning: 'the hold was cancelled or refunded' },
  HOLD_CHANGED: { code: -14, error: 'HOLD_CHANGED', meaning: 'the hold changed since that version' },
  ORDER_PAID: { code: -15, error: 'ORDER_PAID', meaning: 'the order is paid' },
  STOCK_BELOW_COMMITTED: { code: -16, error: 'STOCK_BELOW_COMMITTED', meaning: 'stock would go below held + sold' },
  WRONG_ITEM_KIND: { code: -17, error: 'WRONG_ITEM_KIND', meaning: 'the command does not apply to this kind of item' },
  INVALID_ARGUMENT: { code: -20, error: 'INVALID_ARGUMENT', meaning: 'an argument is invalid (the reason follows)' },
  // A rebuilder whose lock expired, or an unlock by a holder that no longer holds it.
  LOCK_LOST: { code: -21, error: 'INTERNAL', meaning: 'this holder no longer holds the lock' },
  ITEM_EXISTS: { code: -22, error: 'INTERNAL', meaning: 'the item exists already (restored by someone else)' },
  LOCK_BUSY: { code: -23, error: 'CONFLICT', meaning: 'another holder has the lock' },
  ROOM_NOT_FOUND: { code: -24, error: 'ROOM_NOT_FOUND', meaning: 'no such room in Redis' },
  VERSION_CONFLICT: { code: -25, error: 'CONFLICT', meaning: 'the document moved past the expected version' },
  // A retired item's sale is over: the same refusal as a late buy, with details.retired.
  RETIRED: { code: -26, error: 'ENDED', meaning: 'the item retired (sale over, archived in the ledger): nothing changes it' },
  // The key's first request had other parameters (another command, target or quantity): Stripe's rule.
  KEY_REUSED: { code: -27, error: 'IDEMPOTENCY_KEY_REUSED', meaning: 'the idempotency key was used for a different request' },
  // A buy's coupon (the reason follows: unknown, not_valid_now, below_min_spend / budget, user).
  COUPON_NOT_APPLICABLE: { code: -28, error: 'COUPON_NOT_APPLICABLE', meaning: 'the coupon does not apply to this buy' },
  COUPON_EXHAUSTED: { code: -29, error: 'COUPON_EXHAUSTED', meaning: 'the coupon campaign has none left (for this user)' },
  // The campaign has an audience the buyer is not in (the reason follows: tier, stage).
  COUPON_NOT_FOR_YOU: { code: -30, error: 'COUPON_NOT_FOR_YOU', meaning: "the buyer is not in the coupon campaign's audience" },
  TEAM_NOT_FOUND: { code: -40, error: 'TEAM_NOT_FOUND', meaning: 'no such team of this team buy' },
  TEAM_FULL: { code: -41, error: 'TEAM_FULL', meaning: 'every seat of the team is taken' },
  TEAM_CLOSED: { code: -42, error: 'TEAM_CLOSED', meaning: 'the team formed, failed or its window ended' },
  BARGAIN_NOT_FOUND: { code: -44, error: 'BARGAIN_NOT_FOUND', meaning: 'no such bargain (for this user)' },
  BARGAIN_CLOSED: { code: -45, error: 'BARGAIN_CLOSED', meaning: 'the bargain was bought or its window ended' },
  ALREADY_HELPED: { code: -46, error: 'ALREADY_HELPED', meaning: 'this user helped the bargain already, or started it' },
  BARGAIN_AT_FLOOR: { code: -47, error: 'BARGAIN_AT_FLOOR', meaning: 'the bargain is at its floor price: every help is in' },
  NOT_NEW_USER: { code: -48, error: 'NOT_NEW_USER', meaning: 'the bargain takes new users only' },
  TEAM_LIMIT: { code: -43, error: 'TEAM_LIMIT', meaning: 'the user is in this team already, or in as many live teams of the item as allowed' },
} as const satisfies Record<string, CodeEntry>;

export type ScriptCodeName = keyof typeof scriptCodeTable;

/** The codes by name: `ScriptCode.SOLD_OUT === -1`. */
export const ScriptCode = Object.fromEntries(Object.entries(scriptCodeTable).map(([name, e]) => [name, e.code])) as {
  readonly [N in ScriptCodeName]: (typeof scriptCodeTable)[N]['code'];
};

const entryByCode = new Map<number, CodeEntry & { name: ScriptCodeName }>(
  Object.entries(scriptCodeTable).map(([name, e]) => [e.code, { ...e, name: name as ScriptCodeName }]),
);

/** The table's entry of a code, or undefined for a code no script may answer. */
export function scriptCodeEntry(code: number): (CodeEntry & { readonly name: ScriptCodeName }) | undefined {
  return entryByCode.get(code);
}

/** Outcomes of a reservation or a group join that are answers, not errors (nothing changed). */
export type Refusal = 'SOLD_OUT' | 'INSUFFICIENT_STOCK' | 'LIMIT_REACHED' | 'NOT_STARTED' | 'ENDED' | 'GROUP_CLOSED';

export function refusalFor(code: number): Refusal | undefined {
  const e = entryByCode.get(code);
  return e?.refusal ? (e.name as Refusal) : undefined;
}

/** A decoded script answer. */
export interface ScriptAnswer {
  /** The answer's code (a duplicate's: its first answer's code). */
  readonly code: number;
  /** The fields after the code, in the order of the script's header. */
  readonly fields: readonly unknown[];
  /** A repeated idempotency key: this is the first answer; nothing changed now. */
  readonly duplicate: boolean;
}

/** Decodes any script's answer; a malformed one (not the one format) is an INTERNAL error. */
export function decodeAnswer(reply: unknown): ScriptAnswer {
  if (!Array.isArray(reply) || reply.length === 0) throw malformed(reply);
  let code = Number(reply[0]);
  let start = 1;
  const duplicate = code === ScriptCode.DUPLICATE;
  if (duplicate) {
    code = Number(reply[1]);
    start = 2;
  }
  if (!entryByCode.has(code) || code === ScriptCode.DUPLICATE) throw malformed(reply);
  return { code, fields: reply.slice(start), duplicate };
}

/**
 * Decodes an answer and returns it when its code is a success; any other code throws the typed
 * error the table maps it to (`detail`: an INVALID_ARGUMENT's reason, by default the script's).
 */
export function expectOk(reply: unknown, details?: Record<string, unknown>): ScriptAnswer {
  return assertOk(decodeAnswer(reply), details);
}

/** expectOk of an answer already decoded (the wrapper looked at some codes first). */
export function assertOk(a: ScriptAnswer, details?: Record<string, unknown>): ScriptAnswer {
  if (a.code < 0) throw scriptError(a.code, a.fields[0], details);
  return a;
}

/**
 * A script answer that is not a success as a typed error to throw. `detail` is the reason of an
 * INVALID_ARGUMENT; `details` go to the client with the error.
 */
export function scriptError(code: number, detail?: unknown, details?: Record<string, unknown>): LivesaleError {
  const entry = entryByCode.get(code);
  const errCode = code < 0 && entry?.error ? entry.error : 'INTERNAL';
  if (code === scriptCodeTable.RETIRED.code) details = { ...details, retired: true };
  const message =
    errCode === 'INVALID_ARGUMENT'
      ? `invalid ${String(detail ?? 'argument')}`
      : errCode === 'INTERNAL'
        ? `unexpected script answer ${entry ? `${entry.name} (${code})` : code}`
        : errorTable[errCode].message;
  return new LivesaleError(errCode, message, details);
}

function malformed(reply: unknown): LivesaleError {
  return new LivesaleError('INTERNAL', `malformed script answer ${JSON.stringify(reply) ?? String(reply)}`);
}
