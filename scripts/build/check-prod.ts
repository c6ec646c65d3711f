/**
 * The production check, run by CI after `npm run build`: the built processes, installed the way
 * the Docker image installs them, start and work.
 *
 * Copies package.json, package-lock.json, .npmrc and dist/ into a temporary folder, runs
 * `npm ci --omit=dev` there (and checks no build or test tool came along), then starts the built
 * writer, sweeper, relay and gateway against the local Redis, Postgres and Kafka (starting whichever
 * of them is not running, as the tests do, and stopping only what it started) in a namespace of
 * their own (fresh DATABASE_SCHEMA, KEY_PREFIX, KAFKA_TOPIC_PREFIX). It waits for /readyz, loads
 * the landing page and the three consoles (shopper, host, ops) with their bundles, seeds the demo show with the built seed, watches the room over a
 * WebSocket, buys and pays there and over HTTP, waits for the paid order in the ledger's figures
 * (so the relay and the writer did their part), reads the sweeper's /metrics, runs the built
 * report, and stops everything. Any failure exits non-zero with the processes' last log lines;
 * the folder, the processes and the namespace are removed either way.
 *
 *   npm run build && npm run check:prod
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadConfig } from '../../common/platform/config.ts';
import type { HeldResult } from '../../common/contracts/protocol.ts';
import { HttpClient, metricValue, RoomSocket, type WebSocketCtor } from '../../web/client.ts';
import { createSchema, dropNamespace } from '../stack/namespace.ts';
import { freePort } from '../stack/proc.ts';
import { ensureStack, stopStack, type StackState } from '../stack/stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const say = (line: string) => process.stdout.write(`[check:prod] ${line}\n`);

/** Packages only the build and the tests need: none may be installed by `npm ci --omit=dev`. */
const devOnly = ['tsx', 'typescript', 'esbuild', 'vitest', '@biomejs/biome', 'dependency-cruiser', 'pino-pretty', 'hdr-histogram-js'];

interface Proc {
  name: string;
  proc: ChildProcess;
  log: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const procs: Proc[] = [];
let stopping = false;
/** What this check started of the stack, and stops at the end. */
let started: StackState = {};

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(what);
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    for (const p of procs) if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`${p.name} exited (${p.proc.signalCode ?? p.proc.exitCode}) while waiting for ${what}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(name: string, entry: string, cwd: string, env: NodeJS.ProcessEnv): Proc {
  const proc = spawn(process.execPath, [entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const onData = (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log.push(line);
    if (log.length > 500) log.splice(0, log.length - 500);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const p = { name, proc, log, exited };
  procs.push(p);
  void exited.then(({ code, signal }) => {
    if (!stopping) say(`${name} exited unexpectedly (${signal ?? code})`);
  });
  return p;
}

/** Resolves with the parsed log line once `p` logs a line with this msg. */
function logged(p: Proc, msg: string): Promise<Record<string, unknown>> {
  return poll(`${p.name} to log "${msg}"`, async () => {
    for (const line of p.log) {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.msg === msg) return j;
      } catch {
        /* not JSON */
      }
    }
    return undefined;
  });
}

async function stopAll(): Promise<string[]> {
  stopping = true;
  const problems: string[] = [];
  await Promise.all(
    procs.map(async (p) => {
      if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
      p.proc.kill('SIGTERM');
      const kill = setTimeout(() => {
        problems.push(`${p.name} did not stop within 20 s of SIGTERM`);
        p.proc.kill('SIGKILL');
      }, 20_000);
      const { code, signal } = await p.exited;
      clearTimeout(kill);
      if (code !== 0 && signal !== 'SIGKILL') problems.push(`${p.name} stopped with ${signal ?? code}`);
    }),
  );
  return problems;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  check(existsSync(resolve(root, 'dist/scripts/gateway.js')), 'dist/ is not built: run npm run build first');
  // Like the tests: use the services that answer, start the ones that do not.
  const stack = await ensureStack({ say: (line, transient) => !transient && say(line) });
  process.env.REDIS_URL = stack.redisUrl;
  process.env.DATABASE_URL = stack.databaseUrl;
  process.env.KAFKA_BROKERS = stack.kafkaBrokers;
  started = stack.started;
  const dir = await mkdtemp(join(tmpdir(), 'livesale-prod-'));
  const id = randomBytes(4).toString('hex');
  // The shared services as configured (REDIS_URL, DATABASE_URL, KAFKA_BROKERS or the defaults), in a namespace of this run's own.
  const ns = loadConfig({ keyPrefix: `prodcheck-${id}:`, kafkaTopicPrefix: `prodcheck-${id}.`, databaseSchema: `prodcheck_${id}`, jwtSecret: randomBytes(32).toString('base64url') });
  let failure: unknown;
  try {
    for (const f of ['package.json', 'package-lock.json', '.npmrc']) await cp(resolve(root, f), join(dir, f));
    await cp(resolve(root, 'dist'), join(dir, 'dist'), { recursive: true });
    say(`npm ci --omit=dev in ${dir} …`);
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } });
    check(ci.status === 0, `npm ci --omit=dev failed (${ci.signal ?? ci.status})`);
    for (const name of devOnly) check(!existsSync(join(dir, 'node_modules', name)), `npm ci --omit=dev installed the dev-only package ${name}`);
    say(`production dependencies installed; none of ${devOnly.join(', ')}`);

    await createSchema(ns);
    const sweeperMetricsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      REDIS_URL: ns.redisUrl,
      DATABASE_URL: ns.databaseUrl,
      DATABASE_SCHEMA: ns.databaseSchema,
      KAFKA_BROKERS: ns.kafkaBrokers.join(','),
      KAFKA_TOPIC_PREFIX: ns.kafkaTopicPrefix,
      KAFKA_PARTITIONS: '1',
      KEY_PREFIX: ns.keyPrefix,
      JWT_SECRET: ns.jwtSecret,
      DEMO_AUTH: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      SWEEPER_METRICS_PORT: String(sweeperMetricsPort),
      LOG_LEVEL: 'info',
      // The processes stop by themselves if this check dies.
      LIVESALE_PARENT_PID: String(process.pid),
    };
    const node = (name: string) => ({ ...env, NODE_ID: `prodcheck-${name}` });

    // The writer migrates first; the others then find the tables.
    const writer = start('writer', 'dist/scripts/writer.js', dir, node('writer'));
    await logged(writer, 'writer running');
    const sweeper = start('sweeper', 'dist/scripts/sweeper.js', dir, node('sweeper'));
    const relay = start('relay', 'dist/scripts/relay.js', dir, node('relay'));
    const gateway = start('gateway', 'dist/scripts/gateway.js', dir, node('gateway'));
    await logged(sweeper, 'sweeper running');
    await logged(relay, 'relay running');
    const port = Number((await logged(gateway, 'gateway listening')).port);
    const base = `http://127.0.0.1:${port}`;
    say(`writer, sweeper, relay and gateway (${base}) started from dist/`);

    await poll('/readyz to answer 200', async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined));
    const page = await fetch(`${base}/web/`);
    const html = await page.text();
    check(page.status === 200 && /text\/html/.test(page.headers.get('content-type') ?? ''), `GET /web/ answered ${page.status} ${page.headers.get('content-type')}`);
    check(html.includes('/web/app.js'), 'the page does not load /web/app.js');
    const bundle = await fetch(`${base}/web/app.js`);
    const js = await bundle.text();
    check(bundle.status === 200 && /javascript/.test(bundle.headers.get('content-type') ?? ''), `GET /web/app.js answered ${bundle.status} ${bundle.headers.get('content-type')}`);
    check(js.length > 10_000 && !/^import\s/m.test(js), `the bundle is not one self-contained module (${js.length} bytes)`);
    say(`/readyz 200; /web/ 200 html; /web/app.js 200 javascript (${(js.length / 1024).toFixed(1)} KB)`);
    // The three consoles: each page and its own bundle, with no zod inside.
    const weights: string[] = [];
    for (const name of ['shop', 'host', 'ops']) {
      const p = await fetch(`${base}/web/${name}.html`);
      check(p.status === 200 && (await p.text()).includes(`/web/${name}.js`), `GET /web/${name}.html answered ${p.status} without its bundle`);
      const b = await fetch(`${base}/web/${name}.js`);
      const code = await b.text();
      check(b.status === 200 && /javascript/.test(b.headers.get('content-type') ?? '') && code.length > 5_000, `GET /web/${name}.js answered ${b.status} (${code.length} bytes)`);
      check(!/ZodError|zod\.dev/.test(code), `/web/${name}.js carries zod`);
      weights.push(`${name}.js ${(code.length / 1024).toFixed(1)} KB`);
    }
    say(`the shopper page, host console and ops dashboard load: ${weights.join(', ')}`);

    const seed = spawnSync(process.execPath, ['dist/scripts/seed-main.js'], { cwd: dir, env: { ...env, GATEWAY_URL: base }, encoding: 'utf8', timeout: 60_000 });
    check(seed.status === 0, `the built seed failed (${seed.signal ?? seed.status}): ${seed.stderr}`);
    const roomId = /demo room (\S+):/.exec(seed.stdout)?.[1];
    const showId = /demo show (\S+):/.exec(seed.stdout)?.[1];
    check(roomId && showId, `the seed printed no room and show: ${seed.stdout}`);
    say(`demo show ${showId} seeded in room ${roomId} by dist/scripts/seed-main.js`);

    const anon = new HttpClient(base);
    const shopper = anon.withToken(await anon.demoToken('shopper', 'prodcheck-shopper'));
    const ops = anon.withToken(await anon.demoToken('ops', 'prodcheck-ops'));
    const room = await shopper.snapshot(roomId!);
    const itemId = room.room.onAir;
    check(itemId, 'the demo room has no item on air');
    const socket = await RoomSocket.connect({ baseUrl: base, roomId: roomId!, token: shopper.token!, WebSocket: WebSocket as unknown as WebSocketCtor });
    try {
      check(socket.view?.doc.id === roomId, 'the WebSocket snapshot is not of the demo room');
      const overWs = await socket.buy(itemId!, 1, `prodcheck-ws-${id}`);
      check(overWs.outcome === 'held', `a buy over the WebSocket was answered ${JSON.stringify(overWs)}`);
      const paidWs = await socket.pay(itemId!, (overWs as HeldResult).orderId);
      check(paidWs.outcome === 'paid', `a payment over the WebSocket was answered ${JSON.stringify(paidWs)}`);
      const overHttp = await shopper.buy(roomId!, itemId!, 1, `prodcheck-http-${id}`);
      check(overHttp.outcome === 'held', `a buy over HTTP was answered ${JSON.stringify(overHttp)}`);
      const paidHttp = await shopper.pay(roomId!, itemId!, (overHttp as HeldResult).orderId);
      check(paidHttp.outcome === 'paid', `a payment over HTTP was answered ${JSON.stringify(paidHttp)}`);
      // The room's stock as viewers see it follows the two holds.
      await poll('the WebSocket view to show two units sold', async () => {
        const total = socket.view?.doc.items[itemId!]?.total;
        const available = socket.view?.stock[itemId!]?.available;
        return total !== undefined && available !== undefined && total - available >= 2 ? true : undefined;
      });
    } finally {
      socket.close();
    }
    say('bought and paid over the WebSocket and over HTTP; the room view followed');

    await poll('the two paid orders in the ledger figures (relay and writer)', async () => ((metricValue(await ops.stats(roomId!), 'orders') ?? 0) >= 2 ? true : undefined));
    say('the ledger writer counted both paid orders');

    const metrics = await fetch(`http://127.0.0.1:${sweeperMetricsPort}/metrics`);
    check(metrics.status === 200 && (await metrics.text()).includes('process_cpu'), `the sweeper's /metrics answered ${metrics.status}`);
    const report = spawnSync(process.execPath, ['dist/scripts/report.js', showId!], { cwd: dir, env: { ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 60_000 });
    check(report.status === 0 && report.stdout.includes('Autumn harvest'), `the built report failed (${report.signal ?? report.status}): ${report.stderr}`);
    say("the sweeper's /metrics and dist/scripts/report.js answered");

    const problems = await stopAll();
    check(problems.length === 0, problems.join('; '));
    say('every process stopped cleanly on SIGTERM');
  } catch (err) {
    failure = err;
    await stopAll().catch(() => {});
    for (const p of procs) {
      process.stderr.write(`--- last log lines of ${p.name} ---\n${p.log.slice(-30).join('\n')}\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await dropNamespace(ns).catch((err: unknown) => say(`cleaning up the namespace failed: ${(err as Error).message}`));
  }
  if (failure) throw failure;
  say(`passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

let failed = false;
try {
  await main();
} catch (err) {
  say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
  failed = true;
}
await stopStack({ only: started, say }).catch((err: unknown) => say(`stopping the stack failed: ${(err as Error).message}`));
process.exit(failed ? 1 : 0);
