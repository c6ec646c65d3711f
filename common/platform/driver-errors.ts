import { ReplyError } from 'ioredis';

/**
 * Whether a driver's error is worth retrying, decided by what the driver says about it (its error
 * code, its class), never by its message. Each function answers `undefined` for errors it knows
 * nothing about, so they can be passed as `classify` to `retry`/`isRetriable` (which then falls
 * back to the error's own `retriable` flag). KafkaJS needs no function here: every KafkaJSError
 * carries its own `retriable` flag, which `isRetriable` reads.
 */

/** Socket-level failures (Node system error codes): the peer is away or the network hiccupped. */
const transientSystemCodes: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** A Node system error code that means "try again": the connection failed or broke. */
export function systemErrorRetriable(err: unknown): boolean | undefined {
  const code = codeOf(err);
  return code !== undefined && transientSystemCodes.has(code) ? true : undefined;
}

const sqlState = /^[0-9A-Z]{5}$/;

/**
 * Postgres (pg): by SQLSTATE. Retriable: connection exceptions (class 08), serialization failure
 * (40001), deadlock (40P01), the server shutting down or restarting (57P01 admin_shutdown,
 * 57P02 crash_shutdown, 57P03 cannot_connect_now), too many connections (53300). Every other
 * SQLSTATE (a constraint, bad data, a syntax error) fails the same way again: not retriable.
 */
export function pgRetriable(err: unknown): boolean | undefined {
  const system = systemErrorRetriable(err);
  if (system !== undefined) return system;
  const code = codeOf(err);
  if (code === undefined || !sqlState.test(code)) return undefined;
  return code.startsWith('08') || code === '40001' || code === '40P01' || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** Postgres refused the data itself (classes 22 data exception and 23 integrity violation). */
export function pgDataError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && sqlState.test(code) && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * Redis error replies that mean "not now": the server is loading its data (LOADING), busy with a
 * script (BUSY), a cluster slot is moving or the cluster is down (TRYAGAIN, CLUSTERDOWN), a
 * replica has no primary yet or was just demoted (MASTERDOWN, READONLY). The first word of a
 * Redis error reply is the protocol's own error code; ioredis exposes no other.
 */
/** The protocol error code of a Redis error reply (BUSYGROUP, NOGROUP, WRONGTYPE, ...), or undefined for any other error. */
export function redisReplyCode(err: unknown): string | undefined {
  return err instanceof ReplyError ? String((err as Error).message).split(' ', 1)[0]! : undefined;
}

const transientRedisReplies: ReadonlySet<string> = new Set(['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY']);

/**
 * Redis (ioredis): an error reply by its protocol code (above; any other reply, such as WRONGTYPE
 * or a script's error, is not retriable), a socket failure by its system code, and the client's
 * own give-up after `maxRetriesPerRequest` (MaxRetriesPerRequestError) as retriable: the command
 * never reached a server that answered.
 */
export function redisRetriable(err: unknown): boolean | undefined {
  const word = redisReplyCode(err);
  if (word !== undefined) return transientRedisReplies.has(word);
  if (err instanceof Error && err.name === 'MaxRetriesPerRequestError') return true;
  return systemErrorRetriable(err);
}
