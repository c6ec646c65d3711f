import { createHash } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError } from '../common/platform/errors.ts';

/**
 * Rate limits of HTTP writes on this node (rate-limiter-flexible, in memory): per user at the
 * WebSocket per-user rate (`USER_MESSAGE_RATE`), and per client address at `HTTP_ADDRESS_RATE`,
 * each with bursts of twice the rate (points of two seconds in a window of two seconds).
 *
 * Per node, like the WebSocket limits: a limit costs no Redis round trip on the buy path, and
 * with requests spread over N nodes a caller gets at most N times the rate, which the
 * cluster-wide limits behind it (the per-host command rate, the per-user item limit in the
 * scripts) bound where it matters.
 *
 * Memory: a key's counter lives for its window (two seconds) and is then deleted. Past
 * `maxKeys` distinct keys in a window, further new keys share one of `overflowBuckets`
 * counters (by a hash of the key), so many distinct addresses or users cannot grow the
 * limiter without bound.
 */
export class HttpLimits {
  readonly #users: RateLimiterMemory;
  readonly #addresses: RateLimiterMemory;
  readonly #userRate: number;
  readonly #addressRate: number;
  readonly #maxKeys: number;
  readonly #overflowBuckets: number;
  #windowStart = 0;
  readonly #seen = new Set<string>();

  constructor(config: Pick<Config, 'userMessageRate' | 'httpAddressRate'>, opts: { maxKeys?: number; overflowBuckets?: number } = {}) {
    this.#userRate = config.userMessageRate;
    this.#addressRate = config.httpAddressRate;
    this.#users = new RateLimiterMemory({ keyPrefix: 'user', points: config.userMessageRate * 2, duration: 2 });
    this.#addresses = new RateLimiterMemory({ keyPrefix: 'addr', points: config.httpAddressRate * 2, duration: 2 });
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#overflowBuckets = opts.overflowBuckets ?? 1024;
  }

  /** RATE_LIMITED (with `retryAfterMs`) when the client address is over its rate. */
  async address(address: string): Promise<void> {
    await this.#consume(this.#addresses, `a ${addressKey(address)}`, `at most ${this.#addressRate} writes per second from one address`);
  }

  /** RATE_LIMITED (with `retryAfterMs`) when the user (role and id) is over the rate. */
  async user(role: string, sub: string): Promise<void> {
    await this.#consume(this.#users, `u ${role}:${sub}`, `at most ${this.#userRate} writes per second per user`);
  }

  async #consume(limiter: RateLimiterMemory, key: string, message: string): Promise<void> {
    try {
      await limiter.consume(this.#bounded(key));
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      throw new LivesaleError('RATE_LIMITED', message, { retryAfterMs: Math.max(1, Math.ceil(res.msBeforeNext)) });
    }
  }

  /** The key itself while the window has room for it, else one of the shared overflow keys. */
  #bounded(key: string): string {
    const now = Date.now();
    if (now - this.#windowStart >= 2000) {
      this.#windowStart = now;
      this.#seen.clear();
    }
    if (this.#seen.has(key)) return key;
    if (this.#seen.size < this.#maxKeys) {
      this.#seen.add(key);
      return key;
    }
    return `overflow ${createHash('sha1').update(key).digest().readUInt16BE(0) % this.#overflowBuckets}`;
  }
}

/**
 * The key of a client address: an IPv4 address itself (also when IPv4-mapped, in either
 * notation), an IPv6 one by its /64 network, which one subscriber usually holds whole.
 */
export function addressKey(address: string): string {
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (!address.includes(':')) return address;
  const [head, tail] = (dotted ? `${dotted[1]}0:0` : address).split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = (tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t]).map((g) => Number.parseInt(g, 16) || 0);
  if (groups.length === 8 && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    if (dotted) return dotted[2]!;
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
