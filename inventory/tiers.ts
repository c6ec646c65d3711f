import { LivesaleError } from '../common/platform/errors.ts';

/**
 * Tiers of a tiered group buy (阶梯团): `(threshold, price)` pairs over a base price, e.g. base
 * 499; 100 -> 449; 500 -> 399; 1000 -> 299. Thresholds ascend, prices descend (all below the
 * base), everything is an integer (prices in fen). Reaching a threshold exactly counts; any count
 * above the top threshold gets the top price; below the first threshold it is the base price.
 */

export interface Tier {
  readonly threshold: number;
  readonly price: number;
}

export interface TierSpec {
  /** Unit price in fen below the first threshold. */
  readonly basePrice: number;
  readonly tiers: readonly Tier[];
}

export interface TierPosition {
  /** 0 = base, i = tiers[i - 1] reached. */
  readonly index: number;
  /** Unit price at this count. */
  readonly price: number;
  /** The threshold of the next tier, or null at the top. */
  readonly next: number | null;
}

export const maxTiers = 20;
const maxThreshold = 1_000_000_000;
const maxPrice = 1_000_000_000;

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Throws INVALID_ARGUMENT naming the first problem; returns the spec unchanged when valid. */
export function validateTiers(spec: TierSpec): TierSpec {
  const bad = (message: string) => new LivesaleError('INVALID_ARGUMENT', `invalid tiers: ${message}`);
  if (!isInt(spec.basePrice, 0, maxPrice)) throw bad('the base price must be an integer number of fen from 0 to 1e9');
  if (!Array.isArray(spec.tiers) || spec.tiers.length === 0) throw bad('at least one tier is needed');
  if (spec.tiers.length > maxTiers) throw bad(`at most ${maxTiers} tiers`);
  let prevThreshold = 0;
  let prevPrice = spec.basePrice;
  spec.tiers.forEach((t, i) => {
    if (!isInt(t?.threshold, 1, maxThreshold)) throw bad(`tier ${i + 1}: the threshold must be an integer from 1 to 1e9`);
    if (!isInt(t.price, 0, maxPrice)) throw bad(`tier ${i + 1}: the price must be an integer number of fen`);
    if (t.threshold <= prevThreshold) throw bad(`tier ${i + 1}: thresholds must ascend (${t.threshold} after ${prevThreshold})`);
    if (t.price >= prevPrice) throw bad(`tier ${i + 1}: prices must descend below the base price (${t.price} after ${prevPrice})`);
    prevThreshold = t.threshold;
    prevPrice = t.price;
  });
  return spec;
}

/** The tier reached at `count`. */
export function tierAt(spec: TierSpec, count: number): TierPosition {
  let index = 0;
  let price = spec.basePrice;
  for (let i = 0; i < spec.tiers.length; i++) {
    const t = spec.tiers[i]!;
    if (count < t.threshold) return { index, price, next: t.threshold };
    index = i + 1;
    price = t.price;
  }
  return { index, price, next: null };
}

/** The stored form: "threshold:price,threshold:price". */
export function encodeTiers(tiers: readonly Tier[]): string {
  return tiers.map((t) => `${t.threshold}:${t.price}`).join(',');
}

export function decodeTiers(s: string): Tier[] {
  if (!s) return [];
  return s.split(',').map((p) => {
    const [threshold, price] = p.split(':').map(Number);
    return { threshold: threshold!, price: price! };
  });
}
