/**
 * Load for the hold-to-ledger benchmark (its own process): reservations at a steady rate through
 * the inventory's reserve wrapper, spread over the given items, each by a distinct user and key.
 * Env: REDIS_URL, KEY_PREFIX, ITEM_IDS (comma-separated), RATE (holds/s), DURATION_S.
 * Prints one JSON line when done: {"attempts":…,"held":…,"errors":…,"seconds":…}.
 */
import { Redis } from 'ioredis';
import { FlashSale } from '../inventory/flash-sale.ts';
import { Keys } from '../common/contracts/keys.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const flash = new FlashSale({ redis, keys: new Keys(process.env.KEY_PREFIX ?? 'bench:'), scripts: inventoryScripts(redis) });
const items = (process.env.ITEM_IDS ?? '').split(',').filter(Boolean);
const rate = Number(process.env.RATE ?? 5000);
const seconds = Number(process.env.DURATION_S ?? 20);
const tickMs = 10;
const run = Date.now().toString(36);

let attempts = 0;
let held = 0;
let errors = 0;
let inFlight = 0;
const started = Date.now();
const end = started + seconds * 1000;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = Date.now();
    if (now >= end) {
      const wait = setInterval(() => {
        if (inFlight === 0) {
          clearInterval(wait);
          resolve();
        }
      }, 5);
      return;
    }
    // Catch up to the schedule: attempts due by now = rate × elapsed.
    const due = Math.floor(((now - started) / 1000) * rate) - attempts;
    for (let i = 0; i < due; i++) {
      const n = attempts++;
      inFlight++;
      flash
        .reserve(items[n % items.length]!, `u${run}-${n}`, 1, `k${n}`)
        .then((r) => {
          if (r.outcome === 'held') held++;
          else errors++;
        })
        .catch(() => errors++)
        .finally(() => inFlight--);
    }
    setTimeout(tick, tickMs);
  };
  tick();
});
process.stdout.write(`${JSON.stringify({ attempts, held, errors, seconds: (Date.now() - started) / 1000 })}\n`);
redis.disconnect();
