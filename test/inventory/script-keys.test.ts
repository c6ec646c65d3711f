import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { GroupBuy } from '../../inventory/group-buy.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { Scripts, loadScripts } from '../../common/platform/lua-loader.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { Promotions } from '../../inventory/promotions.ts';
import { TeamBuy } from '../../inventory/team-buy.ts';
import { Bargains } from '../../inventory/bargain.ts';
import { privateRedis } from '../helpers/services.ts';
import { waitFor } from '../helpers/wait.ts';
import { redisNow } from './helpers.ts';
import { loadInventoryScripts } from '../../inventory/scripts.ts';

/**
 * The build fails if any script touches a key that was not passed in KEYS (on Redis Cluster a
 * key outside KEYS may live in another slot; everywhere it hides a dependency). Every script is
 * run while MONITOR records each command it issues; each command's keys (COMMAND GETKEYS) must
 * be among the KEYS of the script call it belongs to. Every script must have been run.
 */

const fixtures = fileURLToPath(new URL('../fixtures/lua', import.meta.url));

interface Line {
  source: string;
  args: string[];
}

interface Violation {
  script: string;
  command: string;
  key: string;
}

/** MONITOR prints arguments escaped (newlines as \\n, bytes as \\xHH): the original text. */
function unrepr(s: string): string {
  const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '\\': '\\', '"': '"' };
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, c: string) => (c.length === 3 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (map[c] ?? c)));
}

/** Checks recorded MONITOR lines; returns the violations and the scripts (by sha) that ran. */
async function check(lines: Line[], getKeys: Redis, names: Map<string, string>): Promise<{ violations: Violation[]; ran: Set<string> }> {
  const violations: Violation[] = [];
  const ran = new Set<string>();
  let current: { name: string; keys: Set<string> } | undefined;
  const inner: { call: NonNullable<typeof current>; args: string[] }[] = [];
  for (const l of lines) {
    const cmd = l.args[0]!.toLowerCase();
    if (l.source !== 'lua') {
      if (cmd === 'evalsha' || cmd === 'eval') {
        const sha = cmd === 'eval' ? createHash('sha1').update(unrepr(l.args[1]!)).digest('hex') : l.args[1]!;
        const n = Number(l.args[2]);
        current = { name: names.get(sha) ?? sha, keys: new Set(l.args.slice(3, 3 + n)) };
        ran.add(sha);
      } else current = undefined;
      continue;
    }
    if (!current) throw new Error(`a script command outside any script call: ${l.args.join(' ')}`);
    inner.push({ call: current, args: l.args });
  }
  const pipe = getKeys.pipeline();
  for (const i of inner) pipe.call('COMMAND', 'GETKEYS', ...i.args);
  const res = (await pipe.exec()) ?? [];
  inner.forEach((i, n) => {
    const [err, keys] = res[n]!;
    if (err) {
      if (!/no key arguments|Invalid arguments|wrong number of arguments/i.test(String(err.message))) throw err;
      return;
    }
    for (const key of keys as string[]) if (!i.call.keys.has(key)) violations.push({ script: i.call.name, command: i.args[0]!.toLowerCase(), key });
  });
  return { violations, ran };
}

let server: Awaited<ReturnType<typeof privateRedis>>;
let redis: Redis;
let plain: Redis;

beforeAll(async () => {
  server = await privateRedis();
  redis = createRedis({ redisUrl: server.url });
  plain = createRedis({ redisUrl: server.url });
  // Both connected and past their ready checks, so no INFO of theirs reaches a monitor mid-handshake.
  await Promise.all([redis.ping(), plain.ping()]);
});

afterAll(async () => {
  redis.disconnect();
  plain.disconnect();
  await server.destroy();
});

async function record(run: () => Promise<void>): Promise<Line[]> {
  const lines: Line[] = [];
  const mon = await plain.monitor();
  mon.on('monitor', (_time: string, args: string[], source: string) => lines.push({ source, args }));
  try {
    await run();
    const marker = `end-${Date.now()}`;
    await redis.echo(marker);
    await waitFor('the monitor to catch up', () => lines.some((l) => l.args[0]?.toLowerCase() === 'echo' && l.args[1] === marker), 10_000, 10);
  } finally {
    mon.disconnect();
  }
  return lines;
}

describe('every script touches only the keys passed in KEYS', () => {
  it('catches a script that reads a key it was not given', async () => {
    const loaded = loadScripts(`${fixtures}/bad-keys`);
    const s = new Scripts(redis, loaded);
    const lines = await record(async () => {
      await s.call('sneaky', ['declared'], []);
    });
    const names = new Map([...loaded.values()].map((x) => [x.sha1, x.name]));
    const { violations } = await check(lines, plain, names);
    expect(violations).toEqual([{ script: 'sneaky', command: 'get', key: 'declared:undeclared' }]);
  });

  it('holds for every inventory script, each run at least once', async () => {
    const loaded = loadInventoryScripts();
    const keys = new Keys('kc:');
    const scripts = new Scripts(redis, loaded);
    const deps = { redis, keys, scripts };
    const flash = new FlashSale(deps);
    const groups = new GroupBuy(deps);
    const sweeper = new Sweeper({ ...deps, preheatLeadMs: 3_600_000 });
    const lines = await record(async () => {
      const now = await redisNow(redis);
      await flash.createItem({ itemId: 'f', roomId: 'r', total: 10, price: 100, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 60_000, holdMs: 1000, remindMs: 900 });
      const a = await flash.reserve('f', 'u1', 2, 'k1');
      const b = await flash.reserve('f', 'u2', 1, 'k2');
      if (a.outcome !== 'held' || b.outcome !== 'held') throw new Error('no hold');
      await flash.adjustStock('f', 3, 'h', { opId: 'o1' });
      await flash.setPrice('f', 90, {}, 'h');
      await flash.setPrice('f', 80, { at: now + 3_600_000 }, 'h');
      await flash.setWindow('f', undefined, now + 120_000, 'h');
      await flash.cancel('f', b.orderId, { userId: 'u2' });
      await scripts.call('pay', [keys.item('f').item, keys.item('f').users, keys.item('f').holds, keys.item('f').deadlines, keys.item('f').outbox], [a.orderId, 'u1', '1']);
      await flash.createItem({ itemId: 'p', roomId: 'r', total: 10, price: 100, perUserLimit: 5, startsAt: now + 60_000, endsAt: now + 120_000, holdMs: 60_000 });
      await flash.subscribe('p', 'fan');
      await flash.reserve('f', 'u3', 1, 'k3');
      const promo = new Promotions(deps);
      await promo.setMemberDay('f', { threshold: 50, off: { regular: 1, silver: 2, gold: 3 } });
      await promo.addCampaign('f', { id: 'c1', kind: 'fixed', amount: 5, percent: 0, minSpend: 0, budget: 3, perUser: 1, startsAt: 0, endsAt: now + 60_000 });
      await flash.reserve('f', 'u4', 1, 'k4', { tier: 'gold', coupon: 'c1' });
      await flash.awardPrizes('f', 'lot1', [{ orderId: 'lot-1-1', userId: 'w1' }], 60_000);
      const teams = new TeamBuy(deps);
      await teams.configure('f', { size: 2, price: 50, windowMs: 60_000 });
      const t = await teams.open('f', 't1', 'kt');
      if (t.outcome !== 'held') throw new Error('no team');
      await teams.join('f', t.teamId, 't2', 'kt');
      await teams.settle('f', t.teamId);
      const bargains = new Bargains(deps);
      await bargains.configure('f', { start: 100, floor: 50, helpers: 2, windowMs: 60_000 });
      const bg = await bargains.start('f', 'b1');
      if (bg.outcome !== 'started') throw new Error('no bargain');
      await bargains.help('f', bg.bargainId, 'b2');
      await bargains.buy('f', bg.bargainId, 'b1');
      await waitFor('a deadline to pass', async () => (await redisNow(redis)) > now + 1500, 10_000, 20);
      await sweeper.sweepItem('f');
      await sweeper.sweepItem('p');
      await groups.create({ itemId: 'g', roomId: 'r', capacity: 10, basePrice: 500, tiers: [{ threshold: 2, price: 400 }], countBy: 'people', belowFirstTier: 'fail', perUserLimit: 2, startsAt: now - 1000, endsAt: now + 60_000, holdMs: 60_000 });
      await groups.join('g', 'x', 1, 'k');
      await groups.join('g', 'y', 1, 'k');
      await groups.settle('g', 'h');
      await new Sweeper({ ...deps, retentionMs: 60_000 }).retireItem('p');
      // The rebuild's scripts, as a rebuilder runs them.
      const k = keys.item('lost');
      await redis.set(k.lock, 'token');
      await scripts.call('restore-part', [k.lock, k.item, k.users, k.holds, k.deadlines, k.subs], ['token', 'clear']);
      await scripts.call('restore-part', [k.lock, k.item, k.users, k.holds, k.deadlines, k.subs], ['token', 'holds', 'o1', 'h,1,1,100,99,u']);
      await scripts.call('restore-offers', [k.lock, k.item, k.teams, k.teamEnds, k.bargains], ['token', 'clear']);
      await scripts.call('restore-offers', [k.lock, k.item, k.teams, k.teamEnds, k.bargains], ['token', 'teams', 'cfg', '2,50,60000,1']);
      await scripts.call('restore-item', [k.lock, k.item, k.outbox], ['token', 'relay', '', 'id', 'lost', 'kind', 'flash']);
      await scripts.call('release-lock', [k.lock], ['token']);
    });
    const names = new Map([...loaded.values()].map((x) => [x.sha1, x.name]));
    const { violations, ran } = await check(lines, plain, names);
    expect(violations).toEqual([]);
    const notRun = [...loaded.values()].filter((s) => !ran.has(s.sha1)).map((s) => s.name);
    expect(notRun).toEqual([]);
  });
});
