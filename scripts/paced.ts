import { ApiError } from '../web/client.ts';

/**
 * Runs a host call, waiting out RATE_LIMITED answers (their `retryAfterMs`) up to `tries` times:
 * the seeds send many host commands in a row, more than the per-host rate allows in one second.
 * A refused command never ran, so sending it again is safe.
 */
export async function paced<T>(fn: () => Promise<T>, tries = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'RATE_LIMITED' || attempt >= tries) throw err;
      const ms = Number(err.details?.retryAfterMs ?? 1000);
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(Number.isFinite(ms) ? ms : 1000, 50), 5000)));
    }
  }
}
