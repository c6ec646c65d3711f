import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { ScriptLoadError, Scripts, buildScript, loadScripts } from '../../common/platform/lua-loader.ts';
import { privateRedis } from '../helpers/services.ts';
import { loadInventoryScripts } from '../../inventory/scripts.ts';

const fixtures = fileURLToPath(new URL('../fixtures/lua', import.meta.url));

function loadError(dir: string): ScriptLoadError {
  try {
    loadScripts(`${fixtures}/${dir}`);
  } catch (err) {
    if (err instanceof ScriptLoadError) return err;
    throw err;
  }
  throw new Error('expected a ScriptLoadError');
}

describe('Lua script loader', () => {
  it('inlines each include once, dependencies first', () => {
    const { lua, includes } = buildScript(`${fixtures}/ok/diamond-0.lua`, `${fixtures}/ok`);
    expect(includes).toEqual(['includes/base.lua', 'includes/left.lua', 'includes/right.lua']);
    expect(lua.match(/local function base\(\)/g)).toHaveLength(1);
    expect(lua.indexOf('function base')).toBeLessThan(lua.indexOf('function left'));
    expect(lua.indexOf('function left')).toBeLessThan(lua.indexOf('function right'));
    expect(lua.indexOf('function right')).toBeLessThan(lua.indexOf('return left() + right()'));
  });

  it('names commands by script name and content hash, with the key count from the file name', () => {
    const scripts = loadScripts(`${fixtures}/ok`);
    expect([...scripts.keys()].sort()).toEqual(['diamond', 'plain']);
    const plain = scripts.get('plain')!;
    expect(plain.numberOfKeys).toBe(1);
    expect(plain.command).toBe(`plain_${plain.sha1.slice(0, 10)}`);
    expect(scripts.get('diamond')!.numberOfKeys).toBe(0);
  });

  it('fails loudly on a missing include, naming file and line', () => {
    const e = loadError('missing');
    expect(e.file).toBe('broken-0.lua');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/broken-0\.lua:2: included file "includes\/nowhere" not found/);
  });

  it('fails loudly on a circular include, naming the chain', () => {
    const e = loadError('circular');
    expect(e.message).toMatch(/circular include: includes\/a\.lua -> includes\/b\.lua -> includes\/a\.lua/);
    expect(e.file).toBe('includes/b.lua');
    expect(e.line).toBe(2);
  });

  it('fails loudly on an include repeated in one file, naming both lines', () => {
    const e = loadError('duplicate');
    expect(e.file).toBe('twice-0.lua');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/already included at line 1/);
  });

  it('builds every project script without error', () => {
    const scripts = loadInventoryScripts();
    expect(scripts.size).toBeGreaterThan(0);
    for (const s of scripts.values()) expect(s.lua).not.toMatch(/@include/);
  });

  describe('against a private Redis (its script cache is flushed)', () => {
    let server: Awaited<ReturnType<typeof privateRedis>>;
    let redis: Redis;
    beforeAll(async () => {
      server = await privateRedis();
      redis = createRedis({ redisUrl: server.url });
    });
    afterAll(async () => {
      redis.disconnect();
      await server.destroy();
    });

    it('runs an included script, and again after the script cache is flushed', async () => {
      const s = new Scripts(redis, loadScripts(`${fixtures}/ok`));
      expect(await s.call('diamond', [], [])).toBe(112);
      await redis.script('FLUSH');
      expect(await s.call('diamond', [], [])).toBe(112);
    });

    it('refuses a call with the wrong number of keys before reaching Redis', () => {
      const s = new Scripts(redis, loadScripts(`${fixtures}/ok`));
      expect(() => s.call('plain', [], [])).toThrow(/takes 1 keys, got 0/);
    });
  });
});
