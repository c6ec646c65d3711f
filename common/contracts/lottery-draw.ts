import { createHash, createHmac } from 'node:crypto';

/**
 * The verifiable draw of a lottery (docs/lottery.md): the one implementation the server and the
 * verify script share. Everything here is a pure function of public data.
 *
 *   seed          32 random bytes, written as 64 lower-case hex characters
 *   commitment    SHA-256 of the seed's 32 bytes, as hex: published when the lottery is created
 *   entrants      the entrants' user ids sorted by their bytes (ascending)
 *   entrantsHash  SHA-256 of the sorted ids joined with "\n" (no trailing newline), as hex
 *   randomness    block i (i = 0, 1, 2, ...) = HMAC-SHA256(key: the seed's 32 bytes,
 *                 message: "livesale-lottery-v1:<lotteryId>:<entrantsHash>:<i>"); the blocks
 *                 concatenated are read as a stream of 32-bit big-endian unsigned integers
 *   uniform(m)    the next integer x of the stream with x < 2^32 - (2^32 mod m) (the others
 *                 are skipped: no modulo bias), taken mod m
 *   winners       a partial Fisher-Yates shuffle of the sorted entrants: for j = 0 .. k-1,
 *                 swap position j with position j + uniform(n - j); the winner of rank j + 1
 *                 is then at position j. k = min(requested winners, n), and fewer when the
 *                 prize stock is short: the winners are always a prefix of this order.
 */

export const lotteryDomain = 'livesale-lottery-v1';

const seedPattern = /^[0-9a-f]{64}$/;

export function isSeed(seed: string): boolean {
  return seedPattern.test(seed);
}

/** SHA-256 of the seed's bytes, as hex. */
export function commitmentOf(seed: string): string {
  if (!isSeed(seed)) throw new Error('a seed is 64 lower-case hex characters');
  return createHash('sha256').update(Buffer.from(seed, 'hex')).digest('hex');
}

/** User ids sorted by their bytes (UTF-8), ascending. */
export function sortEntrants(ids: readonly string[]): string[] {
  return [...ids].map((id) => Buffer.from(id, 'utf8')).sort(Buffer.compare).map((b) => b.toString('utf8'));
}

/** SHA-256 of the sorted ids joined with "\n", as hex. */
export function entrantsHashOf(sorted: readonly string[]): string {
  return createHash('sha256').update(sorted.join('\n'), 'utf8').digest('hex');
}

/** The first `count` places of the draw's order over the sorted entrants (fewer when there are fewer entrants). */
export function drawOrder(seed: string, lotteryId: string, sorted: readonly string[], count: number): string[] {
  if (!isSeed(seed)) throw new Error('a seed is 64 lower-case hex characters');
  const key = Buffer.from(seed, 'hex');
  const hash = entrantsHashOf(sorted);
  let block = Buffer.alloc(0);
  let pos = 0;
  let counter = 0;
  const nextUint32 = (): number => {
    if (pos + 4 > block.length) {
      block = createHmac('sha256', key).update(`${lotteryDomain}:${lotteryId}:${hash}:${counter++}`, 'utf8').digest();
      pos = 0;
    }
    const x = block.readUInt32BE(pos);
    pos += 4;
    return x;
  };
  const uniform = (m: number): number => {
    const limit = 2 ** 32 - (2 ** 32 % m);
    for (;;) {
      const x = nextUint32();
      if (x < limit) return x % m;
    }
  };
  const a = [...sorted];
  const k = Math.min(Math.max(0, count), a.length);
  for (let j = 0; j < k; j++) {
    const r = j + uniform(a.length - j);
    const t = a[j]!;
    a[j] = a[r]!;
    a[r] = t;
  }
  return a.slice(0, k);
}
