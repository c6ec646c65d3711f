/**
 * Benchmark: room fan-out. N WebSocket clients in one room while the host changes the price
 * ten times a second; in the same run, the same harness against a socket.io server broadcasting
 * the same frames.
 *
 *   npm run bench:fanout [-- --clients 10000 --seconds 20 --rate 10 --workers 3
 *                           --probe-every 10 --bulk-read-ms 1000 --pin auto
 *                           --capacity-rate 40 --capacity-seconds 5]
 *
 * For each target it prints: delivery completeness (price updates seen / clients x updates
 * sent), how many clients end on the last price, send-to-receive latency p50/p99/max (the price
 * encodes the time it was due to be sent, so a server that holds up the sender is charged),
 * deliveries/s, the server's CPU time per 100k deliveries, and the server's memory per idle
 * connection (RSS after connecting minus before, over N). Then a capacity phase: the price
 * changes `--capacity-rate` times a second, more than either server writes one frame per change,
 * and the deliveries/s each reaches. Then the ratios.
 *
 * Keeping the load generator out of the way on a small machine:
 * - `--pin`: the server runs on the first CPU, the load generator (workers and this process,
 *   which sends the host's commands) on the others (taskset; `auto` when there are 2+ CPUs).
 * - `--probe-every`: every k-th client is a probe, in a load-generator process of its own, that
 *   reads at once and records latency. The other clients are bulk clients (in the other
 *   processes, at a lower priority): they read what the kernel buffered every `--bulk-read-ms`,
 *   staggered, so one read takes several frames. The server's work is the same for both: every
 *   frame is written to every socket. Bulk clients apply every frame and count for completeness
 *   and the last price. Clients connect in rounds that mix probes and bulk clients, so probes
 *   are spread over the server's write order. `--probe-every 1`: every client reads at once.
 * - Each load-generator process reports its CPU use and event-loop delay, printed so that a
 *   saturated load generator shows.
 *
 * The gateway runs as its own process (load-tests/gateway-server.ts) on the local stack (Redis,
 * Postgres, Kafka; started if missing) in a fresh namespace, dropped at the end.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { loadConfig } from '../common/platform/config.ts';
import { Auth } from '../gateway/auth.ts';
import { HttpClient } from '../web/client.ts';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { ensureStack } from '../scripts/stack/stack.ts';
import { dropNamespace } from '../scripts/stack/namespace.ts';
import type { WorkerCommand, WorkerEvent } from './fanout-worker.ts';
import { extraNodeArgs, repoRoot, startProcess, stopProcess } from './lib.ts';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '10' },
    workers: { type: 'string', default: '3' },
    'probe-every': { type: 'string', default: '10' },
    'bulk-read-ms': { type: 'string', default: '1000' },
    pin: { type: 'string', default: 'auto' },
    'capacity-rate': { type: 'string', default: '40' },
    'capacity-seconds': { type: 'string', default: '5' },
    targets: { type: 'string', default: 'livesale,socketio' },
  },
});
const clients = Number(args.clients);
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const workerCount = Math.max(1, Number(args.workers));
const probeEvery = Math.max(1, Number(args['probe-every']));
const bulkReadMs = Math.max(20, Number(args['bulk-read-ms']));
/** With several load-generator processes, the probes get one of their own. */
const capRate = Number(args['capacity-rate']);
const capSeconds = Number(args['capacity-seconds']);
const dedicatedProbes = probeEvery > 1 && workerCount > 1;
const bulkNice = 5;
const connectRound = 500;
/**
 * CPU pinning: the server under test on the first CPU, the load generator (workers and this
 * process, which sends the host's commands) on the others, so they do not take turns on the
 * same core. `auto`: when there are at least two CPUs and taskset(1) exists.
 */
const cpuCount = availableParallelism();
/** The CPUs this process may run on (Cpus_allowed_list), e.g. [0, 1]. */
const allowedCpus = ((): number[] => {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((part) => {
    const [a, b = a] = part.split('-').map(Number);
    return Number.isInteger(a) && Number.isInteger(b) ? Array.from({ length: b! - a! + 1 }, (_, k) => a! + k) : [];
  });
})();
let pin = (args.pin === 'auto' ? allowedCpus.length >= 2 && hasTaskset() : args.pin === 'on') && allowedCpus.length >= 2;
const serverCpus = String(allowedCpus[0] ?? 0);
const loadCpus = allowedCpus.slice(1).join(',');

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of a process to the given CPUs; if that fails, the run goes on unpinned. */
function pinTo(pid: number, cpuList: string): void {
  if (!pin) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    say(`pinning failed (${(err as Error).message.split('\n')[0]}); going on unpinned`);
    pin = false;
  }
}
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
  const proc = fork(`${repoRoot}load-tests/fanout-worker.ts`, [], { execArgv: [...extraNodeArgs, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  probes: number;
  unpaused: number;
  /** The capacity phase: deliveries/s when the server is offered more than it can write. */
  capacity?: { updates: number; sentPerSecond: number; deliveries: number; atFinal: number; perSecond: number; p50: number; p99: number };
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
const { createLogger } = await import('../common/platform/logger.ts');
await ensureTopics(createKafka(config, createLogger({ level: 'warn', name: 'bench' }), 'bench'), config);
const auth = new Auth(secret);

async function measure(target: 'livesale' | 'socketio'): Promise<Result> {
  say(`[${target}] starting the server`);
  const server = await startProcess(target === 'livesale' ? 'load-tests/gateway-server.ts' : 'load-tests/fanout-socketio-server.ts', env);
  children.add(server.proc);
  const pid = server.proc.pid!;
  pinTo(pid, serverCpus);
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
  for (const w of workers) pinTo(w.proc.pid!, loadCpus);
  // Bulk clients' reads are not measured: their processes yield the CPU to the probes.
  if (dedicatedProbes) for (const w of workers.slice(1)) setPriority(w.proc.pid!, bulkNice);
  await sleep(1500); // let the workers load
  const rssBefore = rss(pid);
  say(`[${target}] connecting ${clients} clients from ${workerCount} processes${dedicatedProbes ? ` (the probes in the first, at once-readers; the others bulk, at nice ${bulkNice})` : ''}`);
  // In rounds, so that the server's socket order (its write order in a batch) mixes probes and
  // bulk clients evenly.
  let connected = 0;
  let failed = 0;
  let firstError: string | undefined;
  for (let from = 0; from < clients; from += connectRound) {
    const lists = workers.map(() => [] as number[]);
    for (let i = from, b = 0; i < Math.min(clients, from + connectRound); i++) {
      if (!dedicatedProbes) lists[i % workerCount]!.push(i);
      else if (i % probeEvery === 0) lists[0]!.push(i);
      else lists[1 + (b++ % (workerCount - 1))]!.push(i);
    }
    const busy = workers.filter((_, k) => lists[k]!.length);
    workers.forEach((w, k) => {
      if (lists[k]!.length) w.send({ cmd: 'connect', target, baseUrl, roomId, itemId, secret, ids: lists[k]!, t0, probeEvery });
    });
    for (const w of busy) {
      const e = await w.next();
      if (e.ev !== 'connected') throw new Error('unexpected worker event');
      connected += e.count;
      failed += e.failed;
      firstError ??= e.firstError;
    }
  }
  if (failed) say(`[${target}] ${failed} connections failed: ${firstError}`);
  await sleep(2000);
  const rssAfter = rss(pid);
  say(`[${target}] ${connected} connected; server RSS ${(rssBefore / 1e6).toFixed(1)} -> ${(rssAfter / 1e6).toFixed(1)} MB`);

  let price = 0;
  /** The host changes the price `rate` times a second for `secs` seconds; the workers report. */
  const phase = async (tag: string, phaseRate: number, secs: number, waitMs: number) => {
    for (const w of workers) w.send({ cmd: 'measure', bulkReadMs });
    const cpu0 = cpuMs(pid);
    const updates = Math.round(secs * phaseRate);
    const start = nowAbs();
    for (let i = 0; i < updates; i++) {
      const due = start + (i * 1000) / phaseRate;
      const wait = due - nowAbs();
      if (wait > 0) await sleep(wait);
      // The price is the time this update was due (0.1 ms since t0): receivers compute their
      // latency from it, so a server that slows the sender down is charged for it (no
      // coordinated omission).
      price = Math.max(price + 1, Math.round((due - t0) * 10));
      if (host) {
        const r = await host.command(roomId, { command: 'setPrice', itemId, price }, { baseVersion: version, idempotencyKey: `fan-${run}-${tag}-${i}` });
        version = r.version;
      } else {
        offset++;
        const frame = JSON.stringify({ type: 'delta', o: offset, e: 'x', v: offset, d: { t: 'price', item: itemId, price } });
        await fetch(`${baseUrl}/publish`, { method: 'POST', body: frame });
      }
    }
    const sentPerSecond = updates / ((nowAbs() - start) / 1000);
    for (const w of workers) w.send({ cmd: 'report', finalPrice: price, waitMs });
    const reports = [];
    for (const w of workers) {
      const e = await w.next();
      if (e.ev !== 'report') throw new Error('unexpected worker event');
      reports.push(e);
    }
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    for (const r of reports) h.add(hdr.decodeFromCompressedBase64(r.histogram));
    const deliveries = reports.reduce((n, r) => n + r.deliveries, 0);
    const wallMs = Math.max(...reports.map((r) => r.wallMs));
    return {
      updates,
      reports,
      deliveries,
      serverCpuMs: cpuMs(pid) - cpu0,
      atFinal: reports.reduce((n, r) => n + r.atFinal, 0),
      p50: h.getValueAtPercentile(50) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: h.maxValue / 1000,
      perSecond: deliveries / (wallMs / 1000),
      sentPerSecond,
    };
  };
  say(`[${target}] price changes ${rate}/s for ${seconds} s`);
  const main = await phase('main', rate, seconds, 10_000);
  let capacity: Result['capacity'];
  if (capSeconds > 0) {
    say(`[${target}] capacity: price changes ${capRate}/s for ${capSeconds} s`);
    const c = await phase('cap', capRate, capSeconds, 90_000);
    capacity = { updates: c.updates, sentPerSecond: c.sentPerSecond, deliveries: c.deliveries, atFinal: c.atFinal, perSecond: c.perSecond, p50: c.p50, p99: c.p99 };
  }
  const { reports, deliveries, serverCpuMs } = main;
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
    updates: main.updates,
    deliveries,
    atFinal: main.atFinal,
    p50: main.p50,
    p99: main.p99,
    max: main.max,
    perSecond: main.perSecond,
    capacity,
    serverCpuMs,
    memPerConn: (rssAfter - rssBefore) / Math.max(1, connected),
    serverSide,
    closed: reports.flatMap((r) => r.closed),
    probes: reports.reduce((n, r) => n + r.probes, 0),
    unpaused: reports.reduce((n, r) => n + r.unpaused, 0),
    loadGen: {
      cpuPct: reports.map((r) => (100 * r.cpuMs) / r.wallMs),
      eldP99: reports.map((r) => r.eldP99Ms),
      eldMax: reports.map((r) => r.eldMaxMs),
    },
  };
}

pinTo(process.pid, loadCpus);
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
console.log(`fan-out: ${clients} clients in one room, price changed ${rate}/s for ${seconds} s, load generator in ${workerCount} processes; ${cpuCount} cores${pin ? ` (server pinned to CPU ${serverCpus}, load generator to CPU ${loadCpus})` : ''}, 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
console.log(
  `${pad('server', 12)}${pad('clients', 9)}${pad('updates', 9)}${pad('complete', 10)}${pad('at last', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}${pad('deliv/s', 10)}${pad('cpu ms/100k', 13)}mem/conn`,
);
for (const r of results) {
  const complete = (100 * r.deliveries) / Math.max(1, r.clients * r.updates);
  console.log(
    `${pad(r.target, 12)}${pad(String(r.clients), 9)}${pad(String(r.updates), 9)}${pad(`${complete.toFixed(2)}%`, 10)}${pad(`${r.atFinal}`, 9)}${pad(r.p50.toFixed(1), 9)}${pad(r.p99.toFixed(1), 9)}${pad(r.max.toFixed(1), 9)}${pad(r.perSecond.toFixed(0), 10)}${pad(((r.serverCpuMs * 100_000) / Math.max(1, r.deliveries)).toFixed(0), 13)}${(r.memPerConn / 1024).toFixed(2)} KB`,
  );
}
if (results.some((r) => r.capacity)) {
  console.log(
    `capacity: the price changed up to ${capRate}/s for ${capSeconds} s, more than a server writes one frame per change (the gateway batches what arrives within a tick into one frame; its host commands run one at a time per room, so sent/s is what they reached)`,
  );
  console.log(`${pad('server', 12)}${pad('updates', 9)}${pad('sent/s', 8)}${pad('complete', 10)}${pad('at last', 9)}${pad('p50 ms', 10)}${pad('p99 ms', 10)}deliv/s`);
  for (const r of results) {
    const c = r.capacity;
    if (!c) continue;
    const complete = (100 * c.deliveries) / Math.max(1, r.clients * c.updates);
    console.log(`${pad(r.target, 12)}${pad(String(c.updates), 9)}${pad(c.sentPerSecond.toFixed(1), 8)}${pad(`${complete.toFixed(2)}%`, 10)}${pad(String(c.atFinal), 9)}${pad(c.p50.toFixed(1), 10)}${pad(c.p99.toFixed(1), 10)}${c.perSecond.toFixed(0)}`);
  }
}
console.log(
  probeEvery === 1
    ? 'latency over every client (each reads its socket at once)'
    : `latency over the probe clients, every ${probeEvery}th (${results.map((r) => `${r.target} ${r.probes}`).join(', ')}), which read at once; the others read what the kernel buffered every ${bulkReadMs} ms (staggered) and count for completeness and the last price`,
);
for (const r of results) if (r.unpaused) console.log(`${r.target}: ${r.unpaused} bulk clients could not pause reading and read at once`);
for (const r of results) {
  console.log(
    `load generator (${r.target}${dedicatedProbes ? ', probe process first' : ''}): CPU per process ${r.loadGen.cpuPct.map((c) => `${c.toFixed(0)}%`).join(' ')}; event loop late by p99 ${r.loadGen.eldP99.map((d) => d.toFixed(1)).join(' ')} ms, max ${r.loadGen.eldMax.map((d) => d.toFixed(0)).join(' ')} ms`,
  );
}
for (const r of results) {
  if (r.closed.length) console.log(`${r.target}: ${r.closed.length} connections closed during the run (${[...new Set(r.closed)].slice(0, 3).join('; ')})`);
}
const ls = results.find((r) => r.target === 'livesale');
const sio = results.find((r) => r.target === 'socketio');
if (ls && sio) {
  const cap = ls.capacity && sio.capacity ? `; at capacity ${(ls.capacity.perSecond / sio.capacity.perSecond).toFixed(2)}x` : '';
  console.log(
    `ratio livesale/socket.io: deliveries/s at ${rate}/s ${(ls.perSecond / sio.perSecond).toFixed(2)}x${cap}; deliveries per server CPU second at ${rate}/s ${(ls.deliveries / ls.serverCpuMs / (sio.deliveries / sio.serverCpuMs)).toFixed(2)}x`,
  );
  if (cap && ls.perSecond >= 0.9 * ls.clients * rate) console.log(`(at ${rate}/s livesale delivers what it is offered, ${ls.clients * rate}/s at most; the capacity phase shows what each server can write)`);
}
if (ls?.serverSide) console.log(`gateway: ${ls.serverSide}`);
if (ls) console.log(`gateway memory per idle connection: ${(ls.memPerConn / 1024).toFixed(2)} KB (RSS after connecting ${ls.clients} minus before)`);
process.exit(process.exitCode ?? 0);
