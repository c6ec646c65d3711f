/**
 * Token buckets for the per-node limits: messages per connection, messages per user, and
 * connection admission. State is a few numbers, so a bucket fits in a socket's user data.
 */
export interface Bucket {
  tokens: number;
  at: number;
}

export function newBucket(burst: number, now = performance.now()): Bucket {
  return { tokens: burst, at: now };
}

/** Takes one token if there is one; refills at `ratePerSec` up to `burst`. */
export function take(b: Bucket, ratePerSec: number, burst: number, now = performance.now()): boolean {
  const elapsed = now - b.at;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * ratePerSec) / 1000);
    b.at = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/**
 * One bucket per key (a user), shared by every connection of that key on this node; a key's
 * bucket is forgotten when its last connection closes.
 */
export class KeyedBuckets {
  readonly #buckets = new Map<string, Bucket & { refs: number }>();

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {}

  acquire(key: string): void {
    const b = this.#buckets.get(key);
    if (b) b.refs++;
    else this.#buckets.set(key, { ...newBucket(this.burst), refs: 1 });
  }

  release(key: string): void {
    const b = this.#buckets.get(key);
    if (b && --b.refs <= 0) this.#buckets.delete(key);
  }

  take(key: string): boolean {
    const b = this.#buckets.get(key);
    return b ? take(b, this.ratePerSec, this.burst) : true;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
