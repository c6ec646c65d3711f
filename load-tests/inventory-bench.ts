/**
 * Benchmark: reservations per second through the TypeScript wrapper (FlashSale.reserve, with its
 * validation, idempotency key and decoding, over one auto-pipelined ioredis connection) versus
 * `redis-benchmark` running the same reserve script with EVALSHA at the same concurrency, in the
 * same run, on the same private Redis; the same for group joins (GroupBuy.join vs EVALSHA of
 * join-group). Prints requests/s and the ratio wrapper / raw EVALSHA, for the wrapper over an
 * auto-pipelined client (the default) and over a plain one (REDIS_AUTO_PIPELINING=false).
 *
 *   npm run bench:inventory [-- --requests 100000 --concurrency 100 --rounds 1]
 *
 * Every request is a real reservation (a distinct user and idempotency key on an item whose stock
 * never runs out): hold, per-user count, idempotency record and outbox event.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { FlashSale, reserveKeys } from '../inventory/flash-sale.ts';
import { GroupBuy } from '../inventory/group-buy.ts';
import { Keys } from '../common/contracts/keys.ts';
import { freePort, which } from '../scripts/stack/proc.ts';
import { startRedis } from '../scripts/stack/redis.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '100' }, rounds: { type: 'string', default: '1' } },
});
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);
const bench = which('redis-benchmark');
if (!bench) throw new Error('redis-benchmark was not found (it comes with redis-server)');

const dir = mkdtempSync(join(tmpdir(), 'livesale-bench-'));
const server = await startRedis({ port: await freePort(), dir });
const redis = new Redis(server.url, { enableAutoPipelining: true });
const keys = new Keys('bench:');
const scripts = inventoryScripts(redis);
const flash = new FlashSale({ redis, keys, scripts });
const groups = new GroupBuy({ redis, keys, scripts });
// The same wrapper over a client without auto-pipelining (REDIS_AUTO_PIPELINING=false).
const plainRedis = new Redis(server.url, { enableAutoPipelining: false });
const plainScripts = inventoryScripts(plainRedis);
const plainFlash = new FlashSale({ redis: plainRedis, keys, scripts: plainScripts });
const plainGroups = new GroupBuy({ redis: plainRedis, keys, scripts: plainScripts });
const now = Date.now();
const window = { startsAt: now - 1000, endsAt: now + 24 * 3600_000, holdMs: 900_000 };
const huge = 1_000_000_000;
const say = (s: string) => process.stderr.write(`${s}\n`);

/** Raw EVALSHA of `script` by redis-benchmark: requests/s. */
function raw(script: string, itemId: string, n: number): number {
  const sha = scripts.script(script).sha1;
  // Random users and keys: their refusals share one record name (the benchmark never repeats a key).
  const k = reserveKeys(keys.item(itemId), 'bench', 'bench');
  const out = execFileSync(
    bench!,
    ['-p', String(server.port), '-c', String(concurrency), '-n', String(n), '-r', '1000000000', '--csv', 'evalsha', sha, String(k.length), ...k, 'u__rand_int__', '1', 'k__rand_int__', 'o__rand_int__'],
    { encoding: 'utf8' },
  );
  const line = out.trim().split('\n').pop()!;
  return Number(JSON.parse(`[${line}]`)[1]);
}

/** The wrapper under `concurrency` concurrent callers: requests/s. */
async function wrapped(call: (user: string, key: string) => Promise<{ outcome: string }>, n: number): Promise<number> {
  let next = 0;
  let bad = 0;
  const tag = Math.random().toString(36).slice(2, 8);
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await call(`w${tag}${i}`, `k${i}`);
      if (r.outcome !== 'held') bad++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (bad) throw new Error(`${bad} wrapper calls did not make a hold`);
  return n / secs;
}

try {
  await flash.createItem({ itemId: 'flash', roomId: 'bench', total: huge, price: 100, perUserLimit: 10_000, ...window });
  await groups.create({
    itemId: 'group',
    roomId: 'bench',
    capacity: huge,
    basePrice: 49900,
    tiers: [{ threshold: 100, price: 44900 }, { threshold: 500, price: 39900 }, { threshold: 1000, price: 29900 }],
    countBy: 'people',
    belowFirstTier: 'fail',
    perUserLimit: 10_000,
    ...window,
  });
  // Load both scripts into the cache (redis-benchmark only sends EVALSHA) and warm up.
  for (const s of ['reserve', 'join-group']) await redis.script('LOAD', scripts.script(s).lua);
  say(`warming up, then ${requests} requests at concurrency ${concurrency}, ${rounds} round(s) each …`);
  raw('reserve', 'flash', 10_000);
  await wrapped((u, k) => flash.reserve('flash', `warm${u}`, 1, k), 10_000);
  await wrapped((u, k) => plainFlash.reserve('flash', `warmp${u}`, 1, k), 10_000);

  // Each round measures both, back to back, so a shared machine's load swings hit both alike;
  // the ratio printed is the median of the rounds' ratios.
  const rows: { name: string; raws: number[]; wrappers: number[] }[] = [];
  for (const [name, script, itemId, call] of [
    ['reserve, auto-pipelined', 'reserve', 'flash', (u: string, k: string) => flash.reserve('flash', u, 1, k)],
    ['reserve, plain client', 'reserve', 'flash', (u: string, k: string) => plainFlash.reserve('flash', u, 1, k)],
    ['join, auto-pipelined', 'join-group', 'group', (u: string, k: string) => groups.join('group', u, 1, k)],
    ['join, plain client', 'join-group', 'group', (u: string, k: string) => plainGroups.join('group', u, 1, k)],
  ] as const) {
    const row = { name, raws: [] as number[], wrappers: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      row.raws.push(raw(script, itemId, requests));
      row.wrappers.push(await wrapped(call, requests));
    }
    rows.push(row);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`${pad('operation', 26)}${pad('round', 8)}${pad('redis-benchmark EVALSHA/s', 28)}${pad('TypeScript wrapper/s', 24)}ratio`);
  for (const r of rows) {
    r.raws.forEach((x, i) => {
      console.log(`${pad(r.name, 26)}${pad(String(i + 1), 8)}${pad(x.toFixed(0), 28)}${pad(r.wrappers[i]!.toFixed(0), 24)}${(r.wrappers[i]! / x).toFixed(2)}x`);
    });
    console.log(`${pad(r.name, 26)}${pad('median', 8)}${pad(median(r.raws).toFixed(0), 28)}${pad(median(r.wrappers).toFixed(0), 24)}${median(r.wrappers.map((w, i) => w / r.raws[i]!)).toFixed(2)}x`);
  }
  const v = await flash.view('flash');
  const g = await groups.view('group');
  console.log(`holds made: flash ${v?.held}, group ${g?.held} (count ${g?.group?.count}); concurrency ${concurrency}, ${requests} requests per measurement`);
} finally {
  redis.disconnect();
  plainRedis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
