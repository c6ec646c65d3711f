import { LivesaleError, errorTable, type ErrorCode } from '../platform/errors.ts';

/**
 * Return codes of the inventory scripts. Negative codes are expected business outcomes; this is
 * the one place that turns them into typed codes of the error table.
 */
export const ScriptCode = {
  OK: 1,
  ALREADY: 2,
  SOLD_OUT: -1,
  LIMIT_REACHED: -2,
  NOT_STARTED: -3,
  ENDED: -4,
  DUPLICATE: -5,
  INSUFFICIENT_STOCK: -6,
  GROUP_CLOSED: -7,
  SALE_LIVE: -8,
  GROUP_NOT_CLOSED: -9,
  ITEM_UNAVAILABLE: -10,
  ORDER_NOT_FOUND: -11,
  HOLD_EXPIRED: -12,
  HOLD_CANCELLED: -13,
  HOLD_CHANGED: -14,
  ORDER_PAID: -15,
  STOCK_BELOW_COMMITTED: -16,
  WRONG_ITEM_KIND: -17,
  INVALID_ARGUMENT: -20,
  LOCK_LOST: -21,
  ITEM_EXISTS: -22,
  /** The item retired (sale over, state archived in the ledger): nothing changes it any more. */
  RETIRED: -23,
} as const;

/** Outcomes of a reservation or a group join that are answers, not errors (nothing changed). */
export type Refusal = 'SOLD_OUT' | 'INSUFFICIENT_STOCK' | 'LIMIT_REACHED' | 'NOT_STARTED' | 'ENDED' | 'GROUP_CLOSED';

const refusalByCode: Record<number, Refusal> = {
  [ScriptCode.SOLD_OUT]: 'SOLD_OUT',
  [ScriptCode.INSUFFICIENT_STOCK]: 'INSUFFICIENT_STOCK',
  [ScriptCode.LIMIT_REACHED]: 'LIMIT_REACHED',
  [ScriptCode.NOT_STARTED]: 'NOT_STARTED',
  [ScriptCode.ENDED]: 'ENDED',
  [ScriptCode.GROUP_CLOSED]: 'GROUP_CLOSED',
};

export function refusalFor(code: number): Refusal | undefined {
  return refusalByCode[code];
}

const errorByCode: Record<number, ErrorCode> = {
  [ScriptCode.ITEM_UNAVAILABLE]: 'ITEM_UNAVAILABLE',
  [ScriptCode.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [ScriptCode.ORDER_NOT_FOUND]: 'ORDER_NOT_FOUND',
  [ScriptCode.HOLD_EXPIRED]: 'HOLD_EXPIRED',
  [ScriptCode.HOLD_CANCELLED]: 'HOLD_CANCELLED',
  [ScriptCode.HOLD_CHANGED]: 'HOLD_CHANGED',
  [ScriptCode.ORDER_PAID]: 'ORDER_PAID',
  [ScriptCode.STOCK_BELOW_COMMITTED]: 'STOCK_BELOW_COMMITTED',
  [ScriptCode.WRONG_ITEM_KIND]: 'WRONG_ITEM_KIND',
  [ScriptCode.GROUP_CLOSED]: 'GROUP_CLOSED',
  [ScriptCode.NOT_STARTED]: 'NOT_STARTED',
  [ScriptCode.ENDED]: 'ENDED',
  // A retired item's sale is over: the same refusal as a late buy, with details.retired.
  [ScriptCode.RETIRED]: 'ENDED',
};

/**
 * A script answer that is not a success as a typed error to throw. `detail` is the reason of an
 * INVALID_ARGUMENT; `details` go to the client with the error.
 */
export function scriptError(code: number, detail?: unknown, details?: Record<string, unknown>): LivesaleError {
  const errCode = errorByCode[code] ?? 'INTERNAL';
  if (code === ScriptCode.RETIRED) details = { ...details, retired: true };
  const message =
    errCode === 'INVALID_ARGUMENT'
      ? `invalid ${String(detail ?? 'argument')}`
      : errCode === 'INTERNAL'
        ? `unexpected script answer ${code}`
        : errorTable[errCode].message;
  return new LivesaleError(errCode, message, details);
}
