/**
 * Benchmark: room fan-out. N WebSocket clients in one room while the host changes the price
 * ten times a second; in the same run, the same harness against a socket.io server broadcasting
 * the same frames.
 *
 *   npm run bench:fanout [-- --clients 10000 --seconds 20 --rate 10 --workers 3]
 *
 * For each target it prints: delivery completeness (price updates seen / clients x updates
 * sent), how many clients end on the last price, send-to-receive latency p50/p99/max (the price
 * encodes the time it was due to be sent, so a server that holds up the sender is charged), deliveries/s, the server's CPU time per 100k deliveries, and the
 * server's memory per idle connection (RSS after connecting minus before, over N). Then the
 * ratios. The load generator runs in `--workers` processes; each reports its CPU use and
 * event-loop delay, printed so that a saturated load generator shows.
 *
 * The gateway runs as its own process (load-tests/gateway-server.ts) on the local stack (Redis,
 * Postgres, Kafka; started if missing) in a fresh namespace, dropped at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { loadConfig } from '../common/config.ts';
import { Auth } from '../gateway/auth.ts';
import { HttpClient } from '../gateway/client.ts';
import { createDbFromConfig } from '../common/clients.ts';
import { createKafka, ensureTopics } from '../orders/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { ensureStack } from '../scripts/stack/stack.ts';
import { dropNamespace } from '../test/helpers/namespace.ts';
import type { WorkerCommand, WorkerEvent } from './fanout-worker.ts';
import { repoRoot, startProcess, stopProcess } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '10' },
    workers: { type: 'string', default: '3' },
    targets: { type: 'string', default: 'livesale,socketio' },
  },
});
const clients = Number(args.clients);
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const workerCount = Math.max(1, Number(args.workers));
const targets = String(args.targets).split(',') as ('livesale' | 'socketio')[];

const say = (s: string) => process.stderr.write(`${s}\n`);
const nowAbs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process (bytes). */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}
/** CPU time of a process so far (ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** Every child process, killed if this process ends early. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

interface Worker {
  proc: ChildProcess;
  next(): Promise<WorkerEvent>;
  send(c: WorkerCommand): void;
}

function startWorker(): Worker {
  const proc = fork(`${repoRoot}load-tests/fanout-worker.ts`, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  const queue: WorkerEvent[] = [];
  const waiters: ((e: WorkerEvent) => void)[] = [];
  proc.on('message', (e: WorkerEvent) => {
    const w = waiters.shift();
    if (w) w(e);
    else queue.push(e);
  });
  return {
    proc,
    next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))),
    send: (c) => proc.send(c),
  };
}

interface Result {
  target: string;
  clients: number;
  updates: number;
  deliveries: number;
  atFinal: number;
  p50: number;
  p99: number;
  max: number;
  perSecond: number;
  serverCpuMs: number;
  memPerConn: number;
  serverSide: string;
  closed: string[];
  loadGen: { cpuPct: number[]; eldP99: number[]; eldMax: number[] };
}

const stack = await ensureStack({ say: (l, t) => !t && say(l) });
const run = `fan${randomBytes(3).toString('hex')}`;
const secret = randomBytes(24).toString('base64url');
const env = {
  REDIS_URL: stack.redisUrl,
  DATABASE_URL: stack.databaseUrl,
  KAFKA_BROKERS: stack.kafkaBrokers,
  KEY_PREFIX: `${run}:`,
  DATABASE_SCHEMA: run,
  KAFKA_TOPIC_PREFIX: `${run}.`,
  JWT_SECRET: secret,
  PORT: '0',
  // The servers print their port as their first stdout line: keep startup warnings out of it.
  LOG_LEVEL: 'error',
  WS_ADMISSION_RATE: '100000',
  HOST_COMMAND_RATE: '1000',
};
const config = loadConfig({}, env);
const db = createDbFromConfig(config, 2);
await migrateToLatest(db, run);
await db.destroy();
const { createLogger } = await import('../common/logger.ts');
await ensureTopics(createKafka(config, createLogger({ level: 'warn', name: 'bench' }), 'bench'), config);
const auth = new Auth(secret);

async function measure(target: 'livesale' | 'socketio'): Promise<Result> {
  say(`[${target}] starting the server`);
  const server = await startProcess(target === 'livesale' ? 'load-tests/gateway-server.ts' : 'load-tests/fanout-socketio-server.ts', env);
  children.add(server.proc);
  const pid = server.proc.pid!;
  const baseUrl = `http://127.0.0.1:${server.firstLine}`;
  let roomId = 'room';
  let itemId = 'item';
  let version = 0;
  let host: HttpClient | undefined;
  let offset = 0;
  if (target === 'livesale') {
    host = new HttpClient(baseUrl, await auth.issue('fan-host', 'host'));
    roomId = (await host.createRoom('fan-out benchmark')).id;
    const now = Date.now();
    itemId = (await host.addItem(roomId, { title: 'bench', price: 1, stock: 1000, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 3600_000 })).id;
    version = (await host.snapshot(roomId)).version;
  }
  const t0 = nowAbs();
  const workers = Array.from({ length: workerCount }, startWorker);
  await sleep(1500); // let the workers load
  const rssBefore = rss(pid);
  say(`[${target}] connecting ${clients} clients from ${workerCount} processes`);
  const share = Math.ceil(clients / workerCount);
  workers.forEach((w, i) => w.send({ cmd: 'connect', target, baseUrl, roomId, itemId, secret, from: i * share, count: Math.max(0, Math.min(share, clients - i * share)), t0 }));
  let connected = 0;
  for (const w of workers) {
    const e = await w.next();
    if (e.ev !== 'connected') throw new Error('unexpected worker event');
    connected += e.count;
    if (e.failed) say(`[${target}] ${e.failed} connections failed: ${e.firstError}`);
  }
  await sleep(2000);
  const rssAfter = rss(pid);
  say(`[${target}] ${connected} connected; server RSS ${(rssBefore / 1e6).toFixed(1)} -> ${(rssAfter / 1e6).toFixed(1)} MB`);

  for (const w of workers) w.send({ cmd: 'measure' });
  const cpu0 = cpuMs(pid);
  const updates = Math.round(seconds * rate);
  let price = 0;
  const start = nowAbs();
  for (let i = 0; i < updates; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowAbs();
    if (wait > 0) await sleep(wait);
    // The price is the time this update was due (0.1 ms since t0): receivers compute their
    // latency from it, so a server that slows the sender down is charged for it (no
    // coordinated omission).
    price = Math.max(price + 1, Math.round((due - t0) * 10));
    if (host) {
      const r = await host.command(roomId, { command: 'setPrice', itemId, price }, { baseVersion: version, idempotencyKey: `fan-${run}-${i}` });
      version = r.version;
    } else {
      offset++;
      const frame = JSON.stringify({ type: 'delta', o: offset, e: 'x', v: offset, d: { t: 'price', item: itemId, price } });
      await fetch(`${baseUrl}/publish`, { method: 'POST', body: frame });
    }
  }
  for (const w of workers) w.send({ cmd: 'report', finalPrice: price, waitMs: 10_000 });
  const reports = [];
  for (const w of workers) {
    const e = await w.next();
    if (e.ev !== 'report') throw new Error('unexpected worker event');
    reports.push(e);
  }
  const serverCpuMs = cpuMs(pid) - cpu0;
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  for (const r of reports) h.add(hdr.decodeFromCompressedBase64(r.histogram));
  const deliveries = reports.reduce((n, r) => n + r.deliveries, 0);
  const wallMs = Math.max(...reports.map((r) => r.wallMs));
  let serverSide = '';
  if (target === 'livesale') {
    // The gateway's own view: how long a host command takes, and one batch to every socket.
    const m = await (await fetch(`${baseUrl}/metrics`)).text();
    const mean = (name: string, labels = '') => {
      const sum = Number(new RegExp(`${name}_sum${labels.replace(/[{}]/g, '\\$&')} ([\\d.e+-]+)`).exec(m)?.[1]);
      const count = Number(new RegExp(`${name}_count${labels.replace(/[{}]/g, '\\$&')} ([\\d.e+-]+)`).exec(m)?.[1]);
      return count ? (1000 * sum) / count : NaN;
    };
    serverSide = `setPrice command ${mean('livesale_command_seconds', '{command="host.setPrice"}').toFixed(1)} ms on average; one batch to every socket ${mean('livesale_fanout_seconds').toFixed(1)} ms on average`;
  }
  for (const w of workers) w.send({ cmd: 'close' });
  await Promise.all(workers.map((w) => new Promise((r) => w.proc.once('exit', r))));
  await stopProcess(server.proc);
  return {
    target,
    clients: connected,
    updates,
    deliveries,
    atFinal: reports.reduce((n, r) => n + r.atFinal, 0),
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    max: h.maxValue / 1000,
    perSecond: deliveries / (wallMs / 1000),
    serverCpuMs,
    memPerConn: (rssAfter - rssBefore) / Math.max(1, connected),
    serverSide,
    closed: reports.flatMap((r) => r.closed),
    loadGen: {
      cpuPct: reports.map((r) => (100 * r.cpuMs) / r.wallMs),
      eldP99: reports.map((r) => r.eldP99Ms),
      eldMax: reports.map((r) => r.eldMaxMs),
    },
  };
}

const loadBefore = loadavg()[0]!;
const results: Result[] = [];
try {
  for (const t of targets) {
    results.push(await measure(t));
    await sleep(2000);
  }
} catch (err) {
  say(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await dropNamespace(config).catch((err: unknown) => say(`namespace cleanup failed: ${(err as Error).message}`));
}

const pad = (s: string, n: number) => s.padEnd(n);
console.log(`fan-out: ${clients} clients in one room, price changed ${rate}/s for ${seconds} s, load generator in ${workerCount} processes; ${cpus().length} cores, 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
console.log(
  `${pad('server', 12)}${pad('clients', 9)}${pad('updates', 9)}${pad('complete', 10)}${pad('at last', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}${pad('deliv/s', 10)}${pad('cpu ms/100k', 13)}mem/conn`,
);
for (const r of results) {
  const complete = (100 * r.deliveries) / Math.max(1, r.clients * r.updates);
  console.log(
    `${pad(r.target, 12)}${pad(String(r.clients), 9)}${pad(String(r.updates), 9)}${pad(`${complete.toFixed(2)}%`, 10)}${pad(`${r.atFinal}`, 9)}${pad(r.p50.toFixed(1), 9)}${pad(r.p99.toFixed(1), 9)}${pad(r.max.toFixed(1), 9)}${pad(r.perSecond.toFixed(0), 10)}${pad(((r.serverCpuMs * 100_000) / Math.max(1, r.deliveries)).toFixed(0), 13)}${(r.memPerConn / 1024).toFixed(2)} KB`,
  );
}
for (const r of results) {
  console.log(
    `load generator (${r.target}): CPU per process ${r.loadGen.cpuPct.map((c) => `${c.toFixed(0)}%`).join(' ')}; event-loop delay p99 ${r.loadGen.eldP99.map((d) => d.toFixed(1)).join(' ')} ms, max ${r.loadGen.eldMax.map((d) => d.toFixed(0)).join(' ')} ms`,
  );
}
for (const r of results) {
  if (r.closed.length) console.log(`${r.target}: ${r.closed.length} connections closed during the run (${[...new Set(r.closed)].slice(0, 3).join('; ')})`);
}
const ls = results.find((r) => r.target === 'livesale');
const sio = results.find((r) => r.target === 'socketio');
if (ls && sio) {
  console.log(`ratio livesale/socket.io: deliveries/s ${(ls.perSecond / sio.perSecond).toFixed(2)}x; deliveries per server CPU second ${(ls.deliveries / ls.serverCpuMs / (sio.deliveries / sio.serverCpuMs)).toFixed(2)}x`);
}
if (ls?.serverSide) console.log(`gateway: ${ls.serverSide}`);
if (ls) console.log(`gateway memory per idle connection: ${(ls.memPerConn / 1024).toFixed(2)} KB (RSS after connecting ${ls.clients} minus before)`);
process.exit(process.exitCode ?? 0);
