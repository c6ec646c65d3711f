import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { isErrorCode } from '../../common/platform/errors.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { ScriptCode, decodeAnswer, scriptCodeEntry, scriptCodeTable } from '../../common/contracts/script-codes.ts';
import { Scripts, loadScripts, type LoadedScript } from '../../common/platform/lua-loader.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { GroupBuy } from '../../inventory/group-buy.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { TeamBuy } from '../../inventory/team-buy.ts';
import { Bargains } from '../../inventory/bargain.ts';
import { loadInventoryScripts } from '../../inventory/scripts.ts';
import { dropNamespace, testConfig } from '../helpers/namespace.ts';
import { waitFor } from '../helpers/wait.ts';
import { redisNow } from './helpers.ts';

/**
 * The one answer format of every Lua script (common/contracts/script-codes.ts): each script's
 * header documents its answers as `{ code, ... }` with codes of the one table, every code the
 * script can return is documented and in the table, every answer it actually gives is a flat
 * array with a documented code, and no TypeScript outside the table compares a script code by
 * its number.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const inventory = loadInventoryScripts();
const room = loadScripts(join(root, 'gateway/lua'));
const all: LoadedScript[] = [...inventory.values(), ...room.values()];

/** The codes listed under "Answers" in a script's header (undefined: no such section). */
function documentedCodes(file: string): number[] | undefined {
  const text = readFileSync(file, 'utf8');
  const header = /^--\[\[([\s\S]*?)\]\]/.exec(text)?.[1];
  if (!header) return undefined;
  const lines = header.split('\n');
  const at = lines.findIndex((l) => /^ {2}Answers \(the one format of common\/contracts\/script-codes\.ts\):$/.test(l));
  if (at < 0) return undefined;
  const codes: number[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!/^ {4}/.test(l)) break; // the section is the lines indented under it
    for (const m of l.matchAll(/\{ (-?\d+)[ ,]/g)) codes.push(Number(m[1]));
  }
  return codes;
}

/** The codes a script's final text (includes inlined, comments dropped) can answer with. */
function codesInCode(lua: string): number[] {
  const code = lua.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
  return [...code.matchAll(/\{\s*(-?\d+)\s*[,}]/g)].map((m) => Number(m[1]));
}

describe('the code table', () => {
  it('has one entry per code; successes are >= 1, every other code maps to an error code', () => {
    const codes = Object.values(scriptCodeTable).map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, e] of Object.entries(scriptCodeTable)) {
      expect(e.code, name).not.toBe(0);
      if (e.code >= 1) expect('error' in e, `${name} is a success`).toBe(false);
      else expect(isErrorCode((e as { error?: string }).error), `${name} maps to a known error code`).toBe(true);
      if ('refusal' in e) expect(isErrorCode(name), `refusal ${name} is an error code of its own name`).toBe(true);
    }
  });

  it('decodes a duplicate to its first answer and refuses anything not in the one format', () => {
    expect(decodeAnswer([ScriptCode.DUPLICATE, ScriptCode.OK, 'o1', '2'])).toEqual({ code: ScriptCode.OK, fields: ['o1', '2'], duplicate: true });
    expect(decodeAnswer([ScriptCode.SOLD_OUT, 0])).toEqual({ code: ScriptCode.SOLD_OUT, fields: [0], duplicate: false });
    for (const bad of ['1,o1,2', 1, [], [0], [99], [ScriptCode.DUPLICATE], [ScriptCode.DUPLICATE, ScriptCode.DUPLICATE, 1], null]) {
      expect(() => decodeAnswer(bad), JSON.stringify(bad)).toThrow(/malformed script answer/);
    }
  });
});

describe('script headers', () => {
  it('loads every script, inventory and room', () => {
    expect(inventory.size).toBeGreaterThanOrEqual(18);
    expect([...room.keys()].sort()).toEqual(['rate-window', 'room-append', 'room-command', 'room-command-begin', 'room-init', 'room-online', 'room-refusal', 'unlock']);
  });

  for (const s of all) {
    it(`${relative(root, s.file)} documents its answers in the one format, with codes of the table`, () => {
      const documented = documentedCodes(s.file);
      expect(documented, 'an "Answers (the one format ...)" section').toBeDefined();
      expect(documented!.length).toBeGreaterThan(0);
      expect(documented!.some((c) => c >= 1), 'at least one success').toBe(true);
      for (const c of documented!) expect(scriptCodeEntry(c), `documented code ${c}`).toBeDefined();
      // Every code in the script (and its includes) is in the table and in its header.
      for (const c of codesInCode(s.lua)) {
        expect(scriptCodeEntry(c), `code ${c} in the script`).toBeDefined();
        expect(documented, `code ${c} is returned but not documented`).toContain(c);
      }
      // No answer in an old shape: a bare number or a string.
      const body = readFileSync(s.file, 'utf8').replace(/--\[\[[\s\S]*?\]\]/g, '');
      expect(body).not.toMatch(/\breturn\s+(-?\d+|'[^']*'|"[^"]*")\s*(end\b|$)/m);
    });
  }
});

/** Scripts that keep every reply they see, to check each against its header. */
class RecordingScripts extends Scripts {
  readonly seen: { name: string; reply: unknown }[] = [];

  override async call(name: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const reply = await super.call(name, keys, args);
    this.seen.push({ name, reply });
    return reply;
  }
}

describe('script answers', () => {
  const config = testConfig();
  let redis: Redis;

  beforeAll(() => {
    redis = createRedis(config) as Redis;
  });

  afterAll(async () => {
    redis?.disconnect();
    await dropNamespace(config);
  });

  /** Every reply is a flat array whose code (and a duplicate's inner code) its script documents. */
  function checkReplies(seen: RecordingScripts['seen'], loaded: Map<string, LoadedScript>) {
    const codesSeen = new Map<string, Set<number>>();
    for (const { name, reply } of seen) {
      const documented = documentedCodes(loaded.get(name)!.file)!;
      expect(Array.isArray(reply), `${name} answered ${JSON.stringify(reply)}`).toBe(true);
      const first = Number((reply as unknown[])[0]);
      expect(documented, `${name} answered ${JSON.stringify(reply)}`).toContain(first);
      const a = decodeAnswer(reply);
      if (a.duplicate) expect(documented, `${name}'s duplicate wraps ${a.code}`).toContain(a.code);
      codesSeen.set(name, (codesSeen.get(name) ?? new Set()).add(first));
    }
    expect([...loaded.keys()].filter((n) => !codesSeen.has(n)), 'scripts never run').toEqual([]);
    return codesSeen;
  }

  it('every inventory script answers in the one format, refusals and duplicates included', async () => {
    const keys = new Keys(config.keyPrefix);
    const scripts = new RecordingScripts(redis, inventory);
    const deps = { redis, keys, scripts };
    const flash = new FlashSale(deps);
    const groups = new GroupBuy(deps);
    const sweeper = new Sweeper({ ...deps, preheatLeadMs: 3_600_000 });
    const now = await redisNow(redis);
    const f = keys.item('f');

    // Every script with no arguments at all: an invalid argument or an unavailable item.
    const noArgs = keys.item('none');
    for (const s of inventory.values()) {
      const k = [noArgs.lock, noArgs.item, noArgs.users, noArgs.holds, noArgs.deadlines, noArgs.outbox, noArgs.subs, noArgs.teams, noArgs.teamEnds, noArgs.bargains].slice(0, s.numberOfKeys);
      const a = decodeAnswer(await scripts.call(s.name, k, []));
      expect([ScriptCode.INVALID_ARGUMENT, ScriptCode.ITEM_UNAVAILABLE], s.name).toContain(a.code);
    }

    await flash.createItem({ itemId: 'f', roomId: 'r', total: 3, price: 100, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 60_000, holdMs: 1000, remindMs: 900 });
    expect(await flash.createItem({ itemId: 'f', roomId: 'r', total: 3, price: 100, perUserLimit: 2, startsAt: now - 1000, endsAt: now + 60_000, holdMs: 1000 })).toBe(false);
    const a = await flash.reserve('f', 'u1', 2, 'k1');
    expect((await flash.reserve('f', 'u1', 2, 'k1')).outcome).toBe('duplicate');
    await expect(flash.reserve('f', 'u1', 1, 'k1')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await flash.reserve('f', 'u1', 1, 'k2')).outcome).toBe('limit_reached');
    expect((await flash.reserve('f', 'u2', 2, 'k1')).outcome).toBe('insufficient_stock');
    const b = await flash.reserve('f', 'u3', 1, 'k1');
    expect((await flash.reserve('f', 'u4', 1, 'k1')).outcome).toBe('sold_out');
    if (a.outcome !== 'held' || b.outcome !== 'held') throw new Error('no hold');
    await flash.adjustStock('f', 3, 'h', { opId: 'o1' });
    expect((await flash.adjustStock('f', 3, 'h', { opId: 'o1' })).duplicate).toBe(true);
    await expect(flash.adjustStock('f', -100, 'h')).rejects.toMatchObject({ code: 'STOCK_BELOW_COMMITTED' });
    await flash.setPrice('f', 90, {}, 'h');
    expect((await flash.setPrice('f', 80, { at: now + 3_600_000 }, 'h', { opId: 'o2' })).scheduled).toBeDefined();
    expect((await flash.setPrice('f', 80, { at: now + 3_600_000 }, 'h', { opId: 'o2' })).duplicate).toBe(true);
    await flash.setWindow('f', undefined, now + 120_000, 'h', { opId: 'o3' });
    await flash.setWindow('f', undefined, now + 120_000, 'h', { opId: 'o3' });
    await flash.cancel('f', b.orderId, { userId: 'u3' });
    expect((await flash.cancel('f', b.orderId, { userId: 'u3' })).already).toBe(true);
    const pay = (orderId: string, user: string) => scripts.call('pay', [f.item, f.users, f.holds, f.deadlines, f.outbox], [orderId, user, '']);
    expect(decodeAnswer(await pay(a.orderId, 'u1')).code).toBe(ScriptCode.OK);
    expect(decodeAnswer(await pay(a.orderId, 'u1')).code).toBe(ScriptCode.ALREADY);
    expect(decodeAnswer(await pay(b.orderId, 'u3')).code).toBe(ScriptCode.HOLD_CANCELLED);
    expect(decodeAnswer(await pay('nope', 'u1')).code).toBe(ScriptCode.ORDER_NOT_FOUND);
    await flash.createItem({ itemId: 'p', roomId: 'r', total: 10, price: 100, perUserLimit: 5, startsAt: now + 60_000, endsAt: now + 120_000, holdMs: 60_000 });
    expect((await flash.subscribe('p', 'fan')).outcome).toBe('subscribed');
    expect((await flash.subscribe('p', 'fan')).outcome).toBe('already_subscribed');
    expect((await flash.subscribe('f', 'fan')).outcome).toBe('live');
    expect((await flash.reserve('p', 'u1', 1, 'k1')).outcome).toBe('not_started');
    await flash.reserve('f', 'u5', 1, 'k5');
    await waitFor('a deadline to pass', async () => (await redisNow(redis)) > now + 1500, 10_000, 20);
    await sweeper.sweepItem('f');
    await sweeper.sweepItem('p');
    expect(await flash.applyDuePrice('f')).toBeUndefined();

    const tiers = [{ threshold: 2, price: 400 }];
    const spec = { itemId: 'g', roomId: 'r', capacity: 10, basePrice: 500, tiers, countBy: 'people', belowFirstTier: 'fail', perUserLimit: 2, startsAt: now - 1000, endsAt: now + 60_000, holdMs: 60_000 } as const;
    await groups.create(spec);
    expect(await groups.create(spec)).toBe(false);
    await groups.join('g', 'x', 1, 'k');
    expect((await groups.join('g', 'x', 1, 'k')).outcome).toBe('duplicate');
    await expect(groups.join('g', 'x', 2, 'k')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(groups.join('f', 'x', 1, 'k')).rejects.toMatchObject({ code: 'WRONG_ITEM_KIND' });
    await expect(flash.reserve('g', 'x', 1, 'k')).rejects.toMatchObject({ code: 'WRONG_ITEM_KIND' });
    await groups.join('g', 'y', 1, 'k');
    await groups.close('g', 'h', { opId: 'c1' });
    expect((await groups.close('g', 'h', { opId: 'c1' })).duplicate).toBe(true);
    expect((await groups.close('g', 'h')).already).toBe(true);
    expect((await groups.join('g', 'z', 1, 'k')).outcome).toBe('group_closed');
    await groups.settle('g', 'h');
    expect((await groups.settle('g', 'h')).already).toBe(true);

    const teams = new TeamBuy(deps);
    await teams.configure('f', { size: 2, price: 50, windowMs: 60_000 });
    await expect(teams.configure('g', { size: 2, price: 50, windowMs: 60_000 })).rejects.toMatchObject({ code: 'WRONG_ITEM_KIND' });
    const tA = await teams.open('f', 'tA', 'kt');
    if (tA.outcome !== 'held') throw new Error('no team');
    expect((await teams.open('f', 'tA', 'kt')).outcome).toBe('duplicate');
    expect((await teams.join('f', tA.teamId, 'tA', 'kt2')).outcome).toBe('team_limit');
    expect((await teams.join('f', 'nosuch', 'tB', 'kt')).outcome).toBe('team_not_found');
    const tB = await teams.join('f', tA.teamId, 'tB', 'kt');
    if (tB.outcome !== 'held') throw new Error('no seat');
    expect((await teams.join('f', tA.teamId, 'tC', 'kt')).outcome).toBe('team_full');
    expect((await teams.settle('f', tA.teamId)).outcome).toBe('open');
    await pay(tA.orderId, 'tA');
    await pay(tB.orderId, 'tB');
    expect((await teams.settle('f', tA.teamId)).outcome).toBe('formed');
    expect((await teams.settle('f', tA.teamId)).already).toBe(true);
    expect((await teams.join('f', tA.teamId, 'tD', 'kt')).outcome).toBe('team_closed');

    const bargains = new Bargains(deps);
    await bargains.configure('f', { start: 100, floor: 50, helpers: 2, windowMs: 60_000 });
    const bA = await bargains.start('f', 'bA');
    if (bA.outcome !== 'started') throw new Error('no bargain');
    expect((await bargains.start('f', 'bA')).outcome).toBe('existing');
    expect((await bargains.help('f', bA.bargainId, 'bA')).outcome).toBe('already_helped');
    expect((await bargains.help('f', bA.bargainId, 'bB')).outcome).toBe('helped');
    expect((await bargains.help('f', bA.bargainId, 'bC')).outcome).toBe('helped');
    expect((await bargains.help('f', bA.bargainId, 'bD')).outcome).toBe('bargain_at_floor');
    expect((await bargains.help('f', 'nosuch', 'bD')).outcome).toBe('bargain_not_found');
    expect((await bargains.buy('f', bA.bargainId, 'bB')).outcome).toBe('bargain_not_found');
    expect(await bargains.buy('f', bA.bargainId, 'bA')).toMatchObject({ outcome: 'held', unitPrice: 50, already: false });
    expect(await bargains.buy('f', bA.bargainId, 'bA')).toMatchObject({ outcome: 'held', already: true });
    expect((await bargains.help('f', bA.bargainId, 'bE')).outcome).toBe('bargain_closed');

    const k = keys.item('lost');
    await redis.set(k.lock, 'token');
    const part = (args: string[]) => scripts.call('restore-part', [k.lock, k.item, k.users, k.holds, k.deadlines, k.subs], args);
    const item = (token: string) => scripts.call('restore-item', [k.lock, k.item, k.outbox], [token, 'relay', '', 'id', 'lost', 'kind', 'flash']);
    expect(decodeAnswer(await part(['other', 'clear'])).code).toBe(ScriptCode.LOCK_LOST);
    expect(decodeAnswer(await part(['token', 'holds', 'o1', 'h,1,1,100,99,u'])).code).toBe(ScriptCode.OK);
    expect(decodeAnswer(await item('other')).code).toBe(ScriptCode.LOCK_LOST);
    expect(decodeAnswer(await item('token')).code).toBe(ScriptCode.OK);
    await redis.set(k.lock, 'token');
    expect(decodeAnswer(await part(['token', 'clear'])).code).toBe(ScriptCode.ITEM_EXISTS);
    expect(decodeAnswer(await item('token')).code).toBe(ScriptCode.ALREADY);
    expect(decodeAnswer(await scripts.call('release-lock', [k.lock], ['other'])).code).toBe(ScriptCode.LOCK_LOST);
    expect(decodeAnswer(await scripts.call('release-lock', [k.lock], ['token'])).code).toBe(ScriptCode.OK);

    const seen = checkReplies(scripts.seen, inventory);
    expect([...seen.get('reserve')!].sort((x, y) => x - y)).toEqual([-27, -20, -17, -6, -5, -3, -2, -1, 1]);
  });

  it('every room script answers in the one format', async () => {
    const keys = new Keys(config.keyPrefix);
    const scripts = new RecordingScripts(redis, room);
    const r = keys.room('room1');
    const gone = keys.room('gone');
    const doc = JSON.stringify({ id: 'room1' });
    const append = (k: typeof r, base: number | '') => scripts.call('room-append', [k.room, k.log, k.channel], [base, '{"x":1}', base === '' ? '' : doc, 10]);
    const command = (k: typeof r, base: number, idem: string) =>
      scripts.call('room-command', [k.room, k.log, k.channel, k.commands, k.audit], [base, '{"x":1}', doc, 10, idem, '{"n":12345678901234}', 60_000, '', '{"a":1}']);
    const begin = (k: typeof r, token: string, idem: string) => scripts.call('room-command-begin', [k.commandLock, k.commands, k.room, k.audit], [token, 60_000, idem, '', '{"a":2}']);

    expect(decodeAnswer(await scripts.call('room-init', [r.room, r.log], [doc, 'e1'])).code).toBe(ScriptCode.OK);
    expect(decodeAnswer(await scripts.call('room-init', [r.room, r.log], [doc, 'e1'])).code).toBe(ScriptCode.ALREADY);
    expect(decodeAnswer(await append(r, '')).fields).toEqual([1, 1, 'e1']);
    expect(decodeAnswer(await append(r, 1)).fields).toEqual([2, 2, 'e1']);
    expect(decodeAnswer(await append(r, 1))).toEqual({ code: ScriptCode.VERSION_CONFLICT, fields: [2], duplicate: false });
    expect(decodeAnswer(await append(gone, '')).code).toBe(ScriptCode.ROOM_NOT_FOUND);

    const locked = decodeAnswer(await begin(r, 't1', 'h k1'));
    expect(locked).toEqual({ code: ScriptCode.OK, fields: [doc, '2', '2', 'e1'], duplicate: false });
    expect(decodeAnswer(await begin(r, 't2', 'h k1')).code).toBe(ScriptCode.LOCK_BUSY);
    const first = decodeAnswer(await command(r, 2, 'h k1'));
    expect(first).toEqual({ code: ScriptCode.OK, fields: [3, 3, '{"n":12345678901234}'], duplicate: false });
    // A repeat: the first answer again, its output exactly as recorded.
    expect(decodeAnswer(await command(r, 2, 'h k1'))).toEqual({ code: ScriptCode.OK, fields: ['3', '3', '{"n":12345678901234}'], duplicate: true });
    expect(decodeAnswer(await command(r, 2, 'h k2')).code).toBe(ScriptCode.VERSION_CONFLICT);
    expect(decodeAnswer(await command(gone, 1, 'h k2')).code).toBe(ScriptCode.ROOM_NOT_FOUND);
    expect(decodeAnswer(await scripts.call('unlock', [r.commandLock], ['t2'])).code).toBe(ScriptCode.LOCK_LOST);
    expect(decodeAnswer(await scripts.call('unlock', [r.commandLock], ['t1'])).code).toBe(ScriptCode.OK);
    expect(decodeAnswer(await begin(r, 't3', 'h k1'))).toEqual({ code: ScriptCode.OK, fields: ['3', '3', '{"n":12345678901234}'], duplicate: true });
    expect(decodeAnswer(await begin(gone, 't4', 'h k9')).code).toBe(ScriptCode.ROOM_NOT_FOUND);
    // The audit outbox: the applied command, its two repeats; nothing for refusals.
    const audited = (await redis.xrange(r.audit, '-', '+')).map(([, f]) => f);
    expect(audited).toEqual([
      ['r', '{"a":1}', 'o', 'applied', 'v', '3', 'f', '3'],
      ['r', '{"a":1}', 'o', 'duplicate', 'v', '3', 'f', '3'],
      ['r', '{"a":2}', 'o', 'duplicate', 'v', '3', 'f', '3'],
    ]);
    expect(await redis.exists(gone.audit)).toBe(0);
    const refusal = (field: string) => scripts.call('room-refusal', [r.refusals], [field, 'overflow', 2, 60_000]);
    expect(decodeAnswer(await refusal('a')).fields).toEqual([1]);
    expect(decodeAnswer(await refusal('a')).fields).toEqual([2]);
    expect(decodeAnswer(await refusal('b')).fields).toEqual([1]);
    expect(decodeAnswer(await refusal('c')).fields).toEqual([1]);
    expect(decodeAnswer(await refusal('d')).fields).toEqual([2]);
    expect(await redis.hgetall(r.refusals)).toEqual({ a: '2', b: '1', overflow: '2' });

    expect(decodeAnswer(await scripts.call('room-online', [r.online, r.peak], ['n1', 5, Date.now(), 10_000, 60_000, 60_000])).fields).toEqual([5, 5]);
    const rate = decodeAnswer(await scripts.call('rate-window', [keys.hostRate('h')], [1000]));
    expect(rate.code).toBe(ScriptCode.OK);
    expect(rate.fields[0]).toBe(1);

    checkReplies(scripts.seen, room);
  });
});

describe('TypeScript sources', () => {
  /** A script code compared, keyed or written by its number: what only the table may do. */
  const inline = [
    /(?:[=!]==?|[<>]=?|\bcase)\s*-\d+\b/, // r[0] === -10, case -409
    /(?<![\w)\]])-\d+\s*[=!]==?/, // -10 === r[0]
    /\[\s*-\d+\s*\]\s*:/, // { [-10]: ... }
    /['"`]-\d+[,|'"`]/, // '-5|', '-20,reason'
  ];
  const offending = (line: string) => inline.some((re) => re.test(line));

  it('the patterns find the shapes they are meant to find', () => {
    for (const bad of ["if (r[0] === -409) throw x;", 'if (code === -1) return', "s.startsWith('-5|')", "expect(r.split(',')[0]).toBe('-20')", '  [-10]: "x",', 'case -200:']) {
      expect(offending(bad), bad).toBe(true);
    }
    for (const ok of ['acks: -1,', 'slice(-30)', 'delta: -10', 'if (a.code < 0) throw e', 'i - 1 === n']) expect(offending(ok), ok).toBe(false);
  });

  it('no TypeScript outside the code table names a script code by its number', () => {
    const table = join(root, 'common/contracts/script-codes.ts');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
          if (!['node_modules', 'dist', 'test', 'test-results', 'coverage'].includes(name) && !name.startsWith('.')) walk(p);
        } else if (p.endsWith('.ts') && p !== table) files.push(p);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThan(50);
    const found: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!/^\s*(\/\/|\*)/.test(line) && offending(line)) found.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
