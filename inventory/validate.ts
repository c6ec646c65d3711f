import { LivesaleError } from '../common/platform/errors.ts';

/** Argument checks the wrappers make before calling a script (the scripts check again). */

const userPattern = /^[\x21-\x7e]{1,128}$/;
const idemPattern = /^[\x21-\x7e]{1,128}$/;
const orderPattern = /^[A-Za-z0-9_-]{1,64}$/;

function bad(message: string): LivesaleError {
  return new LivesaleError('INVALID_ARGUMENT', message);
}

export function checkUser(userId: unknown, what = 'user id'): string {
  if (typeof userId !== 'string' || !userPattern.test(userId)) throw bad(`${what} must be 1 to 128 printable ASCII characters without spaces`);
  return userId;
}

export function checkQty(qty: unknown): number {
  if (typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || qty > 10_000) throw bad('quantity must be an integer from 1 to 10000');
  return qty;
}

export function checkIdem(key: unknown, what = 'idempotencyKey'): string {
  if (typeof key !== 'string' || !idemPattern.test(key)) throw bad(`${what} must be 1 to 128 printable ASCII characters`);
  return key;
}

export function checkOrderId(orderId: unknown): string {
  if (typeof orderId !== 'string' || !orderPattern.test(orderId)) throw bad('order id must be 1 to 64 letters, digits, - or _');
  return orderId;
}

export function checkInt(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(`${what} must be an integer from ${min} to ${max}`);
  return v;
}

/** An optional host operation id (idempotency of host commands). */
export function checkOpId(opId: unknown): string {
  if (opId === undefined) return '';
  return checkIdem(opId, 'operation id');
}
