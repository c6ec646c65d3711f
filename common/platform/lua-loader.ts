import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { redisReplyCode } from './driver-errors.ts';

/**
 * The Lua script loader.
 *
 * One file per atomic operation, named `<name>-<numberOfKeys>.lua`. Shared helpers live in
 * `includes/` and are pulled in with a line `--- @include "includes/<name>"` (path relative to
 * the including file, `.lua` optional). The loader inlines every include exactly once, in
 * dependency order, ahead of the script body, and fails loudly, naming file and line, on a
 * missing, circular or duplicated include.
 *
 * Commands are registered with ioredis `defineCommand` under a versioned name (the script's
 * name plus a hash of its final text), so two deployed versions never share a command; ioredis
 * sends EVALSHA and falls back to EVAL when Redis answers NOSCRIPT (restart, failover,
 * SCRIPT FLUSH), also for commands sent in a pipeline.
 */

export class ScriptLoadError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'ScriptLoadError';
    this.file = file;
    this.line = line;
  }
}

export interface LoadedScript {
  /** The file's name without `-<keys>.lua`, e.g. `reserve`. */
  readonly name: string;
  readonly numberOfKeys: number;
  /** The final text sent to Redis, includes inlined. */
  readonly lua: string;
  readonly sha1: string;
  /** The ioredis command name: `<name>_<first 10 hex of sha1>`, camel-cased. */
  readonly command: string;
  readonly file: string;
  /** Every include inlined, in the order emitted. */
  readonly includes: readonly string[];
}

const includeLine = /^\s*---\s*@include\s+"([^"]+)"\s*$/;
const scriptFile = /^([a-z][a-z0-9-]*?)-(\d+)\.lua$/;

interface Parsed {
  body: string[];
  includes: { path: string; line: number }[];
}

function parse(file: string, rootDir: string): Parsed {
  const text = readFileSync(file, 'utf8');
  const body: string[] = [];
  const includes: { path: string; line: number }[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const m = includeLine.exec(raw);
    if (!m) {
      body.push(raw);
      return;
    }
    const line = i + 1;
    const target = resolve(dirname(file), m[1]!.endsWith('.lua') ? m[1]! : `${m[1]}.lua`);
    const prior = seen.get(target);
    if (prior !== undefined) {
      throw new ScriptLoadError(rel(rootDir, file), line, `"${m[1]}" is already included at line ${prior}`);
    }
    if (!existsSync(target)) {
      throw new ScriptLoadError(rel(rootDir, file), line, `included file "${m[1]}" not found (looked for ${rel(rootDir, target)})`);
    }
    seen.set(target, line);
    includes.push({ path: target, line });
    body.push(`-- (included: ${m[1]})`);
  });
  return { body, includes };
}

function rel(rootDir: string, file: string): string {
  return relative(rootDir, file) || file;
}

/**
 * Builds the final text of one script: its includes (each once, dependencies first), then its
 * body. Throws ScriptLoadError on a missing, circular or duplicated include.
 */
export function buildScript(file: string, rootDir = dirname(file)): { lua: string; includes: string[] } {
  const emitted = new Set<string>();
  const order: string[] = [];
  const chunks: string[] = [];
  const stack: { path: string; line: number }[] = [];

  const visit = (path: string, fromLine: number) => {
    const cycleAt = stack.findIndex((s) => s.path === path);
    if (cycleAt >= 0) {
      const chain = [...stack.slice(cycleAt).map((s) => rel(rootDir, s.path)), rel(rootDir, path)].join(' -> ');
      const includer = stack[stack.length - 1]!;
      throw new ScriptLoadError(rel(rootDir, includer.path), fromLine, `circular include: ${chain}`);
    }
    if (emitted.has(path)) return;
    const parsed = parse(path, rootDir);
    stack.push({ path, line: fromLine });
    for (const inc of parsed.includes) visit(inc.path, inc.line);
    stack.pop();
    emitted.add(path);
    if (stack.length > 0) {
      order.push(rel(rootDir, path));
      chunks.push(`-- >>> ${rel(rootDir, path)}\n${parsed.body.join('\n').trim()}\n-- <<< ${rel(rootDir, path)}`);
    } else {
      chunks.push(parsed.body.join('\n'));
    }
  };
  visit(resolve(file), 0);
  return { lua: chunks.join('\n'), includes: order };
}

/** Loads every `<name>-<keys>.lua` in dir (not in subdirectories: those hold includes). */
export function loadScripts(dir: string): Map<string, LoadedScript> {
  const out = new Map<string, LoadedScript>();
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.lua')) continue;
    const m = scriptFile.exec(f);
    if (!m) throw new ScriptLoadError(f, 1, 'script files must be named <name>-<numberOfKeys>.lua');
    const file = join(dir, f);
    const { lua, includes } = buildScript(file, dir);
    const sha1 = createHash('sha1').update(lua).digest('hex');
    const name = m[1]!;
    out.set(name, {
      name,
      numberOfKeys: Number(m[2]),
      lua,
      sha1,
      command: `${camel(name)}_${sha1.slice(0, 10)}`,
      file,
      includes,
    });
  }
  return out;
}

function camel(s: string): string {
  return s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

type Client = Redis | Cluster;
type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * The registered scripts of one client. `call` checks the key count so a wrong call fails in
 * TypeScript land, not as a Lua error.
 */
export class Scripts {
  readonly #client: Client;
  readonly #scripts: Map<string, LoadedScript>;

  constructor(client: Client, scripts: Map<string, LoadedScript>) {
    this.#client = client;
    this.#scripts = scripts;
    for (const s of scripts.values()) {
      if (!(s.command in client)) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  get client(): Client {
    return this.#client;
  }

  script(name: string): LoadedScript {
    const s = this.#scripts.get(name);
    if (!s) throw new Error(`no Lua script named "${name}"`);
    return s;
  }

  /**
   * Runs several script calls in one explicit pipeline (one round trip; on Redis Cluster their
   * keys must share a slot, e.g. one item's). A call answered NOSCRIPT (the cache was flushed
   * between the pipeline's EVALSHA and its EVAL fallback) is run again on its own, so a flushed
   * cache fails no call here either. Resolves with each call's answer, in order.
   */
  async batch(calls: readonly { name: string; keys: readonly string[]; args: readonly (string | number)[] }[]): Promise<unknown[]> {
    const pipe = this.#client.pipeline() as unknown as Record<string, ScriptFn> & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const c of calls) {
      const s = this.script(c.name);
      if (c.keys.length !== s.numberOfKeys) throw new Error(`script ${c.name} takes ${s.numberOfKeys} keys, got ${c.keys.length}`);
      void pipe[s.command]!(...c.keys, ...c.args);
    }
    const res = (await pipe.exec()) ?? [];
    return Promise.all(
      res.map(([err, v], i) => {
        if (!err) return v;
        if (redisReplyCode(err) === 'NOSCRIPT') return this.call(calls[i]!.name, calls[i]!.keys, calls[i]!.args);
        throw err;
      }),
    );
  }

  /**
   * Runs a script. ioredis sends EVALSHA and, on NOSCRIPT, sends the script again as EVAL (also
   * inside pipelines and auto-pipelined batches); should the cache be flushed once more between
   * those two (a flush storm, a failover during the retry), the call is retried here, so a flushed
   * cache never fails a request.
   */
  call(name: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const s = this.script(name);
    if (keys.length !== s.numberOfKeys) throw new Error(`script ${name} takes ${s.numberOfKeys} keys, got ${keys.length}`);
    const fn = (this.#client as unknown as Record<string, ScriptFn>)[s.command]!;
    const run = () => fn.call(this.#client, ...keys, ...args);
    return run().catch(async (err: unknown) => {
      for (let attempt = 2; ; attempt++) {
        if (attempt > 5 || redisReplyCode(err) !== 'NOSCRIPT') throw err;
        try {
          return await run();
        } catch (again) {
          err = again;
        }
      }
    });
  }
}
