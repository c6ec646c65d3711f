import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../common/platform/config.ts';
import { pgDataError, pgRetriable, redisRetriable } from '../../common/platform/driver-errors.ts';
import { LivesaleError, errorTable, isRetriableCode, type ErrorCode } from '../../common/platform/errors.ts';
import { backoffMs, createBackoff, defaultRetry, isRetriable, retry, retryPolicy, sleep, type RetryPolicy } from '../../common/platform/retry.ts';
import { freePort } from '../../scripts/stack/proc.ts';

const policy: RetryPolicy = { initialMs: 100, maxMs: 5000, factor: 2, retries: 10 };
const ceiling = (attempt: number) => Math.min(policy.maxMs, policy.initialMs * 2 ** attempt);

describe('backoffMs', () => {
  it('lies between half the ceiling (random 0) and the ceiling (random 1)', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      expect(backoffMs(attempt, policy, () => 0)).toBe(ceiling(attempt) / 2);
      expect(backoffMs(attempt, policy, () => 1)).toBe(ceiling(attempt));
    }
  });

  it('doubles per attempt until the cap, then stays at the cap', () => {
    const tops = Array.from({ length: 10 }, (_, a) => backoffMs(a, policy, () => 1));
    expect(tops).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    // Huge attempt numbers neither overflow nor pass the cap.
    expect(backoffMs(1e9, policy, () => 1)).toBe(5000);
    // A negative attempt counts as the first.
    expect(backoffMs(-3, policy, () => 1)).toBe(100);
  });

  it('jitters within [ceiling/2, ceiling] with the real random source, and not to one value', () => {
    for (const attempt of [0, 3, 9]) {
      const samples = Array.from({ length: 500 }, () => backoffMs(attempt, policy));
      for (const d of samples) {
        expect(d).toBeGreaterThanOrEqual(ceiling(attempt) / 2);
        expect(d).toBeLessThanOrEqual(ceiling(attempt));
      }
      expect(new Set(samples).size).toBeGreaterThan(100);
    }
  });

  it('uses smaller delays under test, for the defaults and for a named policy alike', () => {
    expect(defaultRetry.initialMs).toBe(20);
    expect(defaultRetry.maxMs).toBe(500);
    const p = retryPolicy({ initialMs: 1000, maxMs: 10_000, retries: 3 });
    expect(p).toEqual({ initialMs: 200, maxMs: 2000, factor: 2, retries: 3 });
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('createBackoff counts failures and starts over on reset', () => {
    const b = createBackoff(policy, () => 1);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });
});

describe('retriable flag', () => {
  it('comes from the error table, per code', () => {
    const retriable = (Object.keys(errorTable) as ErrorCode[]).filter(isRetriableCode).sort();
    expect(retriable).toEqual(['ITEM_UNAVAILABLE', 'PAYMENT_NOT_CONFIRMED', 'RATE_LIMITED', 'SHUTTING_DOWN']);
    expect(new LivesaleError('ITEM_UNAVAILABLE').retriable).toBe(true);
    expect(new LivesaleError('SOLD_OUT').retriable).toBe(false);
    expect(new LivesaleError('CONFLICT').retriable).toBe(false);
  });

  it('may be set for one error, and stays off the wire', () => {
    const e = new LivesaleError('CONFLICT', 'busy', undefined, { retriable: true });
    expect(e.retriable).toBe(true);
    expect(isRetriable(e)).toBe(true);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'CONFLICT', message: 'busy' });
    expect(new LivesaleError('SHUTTING_DOWN', undefined, undefined, { retriable: false }).retriable).toBe(false);
  });

  it('is read along the cause chain; the nearest answer wins', () => {
    const inner = new LivesaleError('ITEM_UNAVAILABLE');
    expect(isRetriable(new Error('wrapped', { cause: new Error('again', { cause: inner }) }))).toBe(true);
    expect(isRetriable(new LivesaleError('INTERNAL', undefined, undefined, { cause: inner }))).toBe(false);
    expect(isRetriable(new Error('nothing known'))).toBe(false);
    expect(isRetriable(new Error('nothing known'), undefined, true)).toBe(true);
    expect(isRetriable('a string')).toBe(false);
    // A cycle of causes ends.
    const a = new Error('a') as Error & { cause?: unknown };
    a.cause = a;
    expect(isRetriable(a)).toBe(false);
  });

  it('classify decides first; undefined falls through to the flag', () => {
    const flagged = new LivesaleError('RATE_LIMITED');
    expect(isRetriable(flagged, () => false)).toBe(false);
    expect(isRetriable(flagged, () => undefined)).toBe(true);
    expect(isRetriable(new Error('x', { cause: flagged }), (e) => (e === flagged ? undefined : undefined))).toBe(true);
  });
});

describe('driver errors, from the real drivers', () => {
  const config = loadConfig({}, { LIVESALE_ENV: 'development' });
  let client: pg.Client;
  let redis: Redis;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await client.end();
    redis.disconnect();
  });

  const raise = (code: string) => client.query(`DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '${code}'; END $$`).then(
    () => undefined,
    (err: unknown) => err,
  );

  it('Postgres: by SQLSTATE', async () => {
    for (const code of ['40001', '40P01', '57P01', '57P02', '57P03', '53300', '08006']) {
      const err = await raise(code);
      expect((err as { code: string }).code).toBe(code);
      expect(pgRetriable(err), code).toBe(true);
      expect(isRetriable(err, pgRetriable), code).toBe(true);
    }
    for (const code of ['42P01', '23505', 'XX000']) expect(pgRetriable(await raise(code)), code).toBe(false);
    const divide = await client.query('SELECT 1/0').catch((e: unknown) => e);
    expect(pgDataError(divide)).toBe(true);
    expect(pgRetriable(divide)).toBe(false);
    expect(pgDataError(await raise('40001'))).toBe(false);
    expect(pgRetriable(new Error('no code'))).toBeUndefined();
  });

  it('Postgres: a refused connection is retriable', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: await freePort(), user: 'postgres' });
    const err = await c.connect().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(pgRetriable(err)).toBe(true);
  });

  it('Redis: by the reply error code, not by the rest of the message', async () => {
    const reply = (text: string) => redis.eval(`return redis.error_reply(ARGV[1])`, 0, text).catch((e: unknown) => e);
    expect(redisRetriable(await reply('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(redisRetriable(await reply('BUSY a script is running'))).toBe(true);
    expect(redisRetriable(await reply('READONLY replica'))).toBe(true);
    expect(redisRetriable(await reply('ERR something else mentioning LOADING'))).toBe(false);
    const key = `retry-test:${process.pid}:${Date.now()}`;
    await redis.set(key, 'v', 'EX', 10);
    expect(redisRetriable(await redis.lpush(key, 'x').catch((e: unknown) => e))).toBe(false);
    expect(redisRetriable(new Error('not from Redis'))).toBeUndefined();
  });

  it('Redis: a client that gives up on a dead server is retriable', async () => {
    const port = await freePort();
    const dead = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => 10 });
    dead.on('error', () => {});
    const err = await dead.get('x').catch((e: unknown) => e);
    dead.disconnect();
    expect(redisRetriable(err)).toBe(true);
  });
});

describe('retry', () => {
  const fast: RetryPolicy = { initialMs: 1, maxMs: 4, factor: 2, retries: 5 };

  it('retries retriable errors until success, with delays from the policy', async () => {
    const delays: number[] = [];
    const r = await retry(
      async (attempt) => {
        if (attempt < 3) throw new LivesaleError('ITEM_UNAVAILABLE');
        return attempt;
      },
      { policy: fast, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(r).toBe(3);
    expect(delays).toHaveLength(3);
    delays.forEach((d, a) => {
      expect(d).toBeGreaterThanOrEqual(Math.min(4, 2 ** a) / 2);
      expect(d).toBeLessThanOrEqual(Math.min(4, 2 ** a));
    });
  });

  it('throws a non-retriable error at once', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw new LivesaleError('SOLD_OUT');
      },
      { policy: fast },
    ).catch((e: unknown) => e);
    expect((err as LivesaleError).code).toBe('SOLD_OUT');
    expect(calls).toBe(1);
  });

  it('throws the last error once the retries run out', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw new LivesaleError('SHUTTING_DOWN', `call ${calls}`);
      },
      { policy: fast },
    ).catch((e: unknown) => e);
    expect(calls).toBe(fast.retries + 1);
    expect((err as Error).message).toBe(`call ${calls}`);
  });

  it('asks classify, and retryUnknown, for errors without a flag', async () => {
    let calls = 0;
    const failTwice = async () => {
      if (++calls <= 2) throw new Error('bare');
      return 'ok';
    };
    await expect(retry(failTwice, { policy: fast })).rejects.toThrow('bare');
    calls = 0;
    await expect(retry(failTwice, { policy: fast, retryUnknown: true })).resolves.toBe('ok');
    calls = 0;
    await expect(retry(failTwice, { policy: fast, classify: () => true })).resolves.toBe('ok');
    calls = 0;
    await expect(retry(failTwice, { policy: fast, classify: () => false, retryUnknown: true })).rejects.toThrow('bare');
  });

  it('stops when its signal aborts, throwing the last error', async () => {
    const ac = new AbortController();
    let calls = 0;
    const err = retry(
      async () => {
        calls++;
        if (calls === 2) ac.abort();
        throw new LivesaleError('ITEM_UNAVAILABLE', `call ${calls}`);
      },
      { policy: { ...fast, retries: Number.POSITIVE_INFINITY }, signal: ac.signal },
    ).catch((e: unknown) => e);
    await expect(err).resolves.toMatchObject({ message: 'call 2' });
    expect(calls).toBe(2);
  });

  it('an abort cuts a long wait short', async () => {
    const ac = new AbortController();
    const long: RetryPolicy = { initialMs: 3_600_000, maxMs: 3_600_000, factor: 2, retries: 3 };
    let waiting = false;
    const p = retry(
      async () => {
        throw new LivesaleError('ITEM_UNAVAILABLE');
      },
      { policy: long, signal: ac.signal, onRetry: () => (waiting = true) },
    ).catch((e: unknown) => e);
    expect(waiting).toBe(false);
    await sleep(0);
    expect(waiting).toBe(true);
    ac.abort();
    await expect(p).resolves.toBeInstanceOf(LivesaleError);
    // sleep itself resolves at once for an aborted signal.
    await sleep(3_600_000, ac.signal);
  });
});
