/**
 * The one retry policy: exponential backoff, capped, each delay drawn between half and all of its
 * ceiling, with smaller delays under test (NODE_ENV=test or VITEST set). Whether an error is worth
 * retrying is decided by its `retriable` flag or by a driver's error codes (driver-errors.ts; see
 * `isRetriable`), never by matching its message.
 */

export interface RetryPolicy {
  /** Delay before the first retry (ms). */
  readonly initialMs: number;
  /** Upper bound of any delay (ms). */
  readonly maxMs: number;
  /** Growth per attempt. */
  readonly factor: number;
  /** Attempts after the first call; Infinity retries until stopped. */
  readonly retries: number;
}

const underTest = process.env.NODE_ENV === 'test' || process.env.VITEST !== undefined;

/** The defaults every component uses unless it names its own bounds. */
export const defaultRetry: RetryPolicy = Object.freeze({
  initialMs: underTest ? 20 : 100,
  maxMs: underTest ? 500 : 5000,
  factor: 2,
  retries: Number.POSITIVE_INFINITY,
});

/** A policy from the defaults with some bounds changed (scaled down under test like the defaults). */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const scale = underTest ? 0.2 : 1;
  return Object.freeze({
    ...defaultRetry,
    ...overrides,
    ...(overrides.initialMs !== undefined ? { initialMs: Math.max(1, overrides.initialMs * scale) } : {}),
    ...(overrides.maxMs !== undefined ? { maxMs: Math.max(1, overrides.maxMs * scale) } : {}),
  });
}

/**
 * The delay before retry number `attempt` (0 for the first retry): a random value between half
 * and all of `min(maxMs, initialMs * factor^attempt)`, so that many clients failing together do
 * not retry together, while no delay collapses to zero.
 */
export function backoffMs(attempt: number, policy: RetryPolicy = defaultRetry, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.min(Math.max(0, attempt), 30));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** An error that says whether trying again may succeed. */
export interface RetriableError {
  readonly retriable: boolean;
}

/**
 * Whether an error is worth retrying: the first answer along its `cause` chain from `classify`
 * (a driver's error codes, say) or from the error's own `retriable` flag. An error nobody
 * speaks for gets `otherwise` (default false: not retried).
 */
export function isRetriable(err: unknown, classify?: (err: unknown) => boolean | undefined, otherwise = false): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const own = classify?.(e);
    if (own !== undefined) return own;
    const flag = (e as Partial<RetriableError>).retriable;
    if (typeof flag === 'boolean') return flag;
  }
  return otherwise;
}

/**
 * The delays of one retry loop that is not a single call (a background sender, a loop that must
 * heartbeat between tries): `next()` gives the delay before the next try and counts it, `reset()`
 * starts over after a success.
 */
export interface Backoff {
  next(): number;
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

export function createBackoff(policy: RetryPolicy = defaultRetry, random: () => number = Math.random): Backoff {
  let attempts = 0;
  return {
    next: () => backoffMs(attempts++, policy, random),
    reset: () => {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}

/** Waits `ms`, or less if `signal` aborts (it resolves then, never rejects). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export interface RetryOptions {
  readonly policy?: RetryPolicy;
  /** Decides for errors that carry no `retriable` flag; return undefined to fall through. */
  readonly classify?: (err: unknown) => boolean | undefined;
  /**
   * Whether to retry errors that neither `classify` nor a `retriable` flag speak for (default
   * false). True suits a bounded retry of a store call, where a driver may fail a broken
   * connection with a bare Error.
   */
  readonly retryUnknown?: boolean;
  /** Called before each wait, e.g. to log the attempt. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying (the last error is thrown). */
  readonly signal?: AbortSignal;
}

/** Calls `fn` until it succeeds, a non-retriable error is thrown, or the policy's retries run out. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = opts.policy ?? defaultRetry;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.retries || opts.signal?.aborted || !isRetriable(err, opts.classify, opts.retryUnknown)) throw err;
      const delay = backoffMs(attempt, policy);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
      if (opts.signal?.aborted) throw err;
    }
  }
}
