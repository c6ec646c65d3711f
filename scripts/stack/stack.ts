import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { defaults } from '../../common/platform/config.ts';
import { defaultSay, startKafka } from './kafka.ts';
import { ensureDatabase, startPostgres } from './postgres.ts';
import { cmdline, cwdOf, freePort, pidAlive, portOpen, stopPid, waitFor } from './proc.ts';
import { startRedis } from './redis.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where the stack keeps the throwaway data of what it started, and the record of it. */
export function stackDir(): string {
  return process.env.LIVESALE_STACK_DIR || join(repoRoot, '.stack');
}

interface Started {
  pid: number;
  port: number;
  dir: string;
  url: string;
}

export interface StackState {
  redis?: Started;
  postgres?: Started;
  kafka?: Started;
}

export interface StackEndpoints {
  redisUrl: string;
  databaseUrl: string;
  kafkaBrokers: string;
  /** What this call started (and the matching stop stops). */
  started: StackState;
}

type Say = (line: string, transient?: boolean) => void;
type Env = Record<string, string | undefined>;

const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function statePath(): string {
  return join(stackDir(), 'state.json');
}

export function readState(): StackState {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as StackState;
  } catch {
    return {};
  }
}

function writeState(s: StackState): void {
  mkdirSync(stackDir(), { recursive: true });
  writeFileSync(statePath(), `${JSON.stringify(s, null, 2)}\n`);
}

/** A recorded process counts only if it is alive and still runs from our directory. */
function stillOurs(s: Started | undefined): s is Started {
  return !!s && pidAlive(s.pid) && (cmdline(s.pid).includes(s.dir) || cwdOf(s.pid).startsWith(s.dir));
}

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500 });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

async function postgresAnswers(url: string): Promise<'ok' | 'no-database' | 'down'> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.end();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code === '3D000' ? 'no-database' : 'down';
  }
}

async function kafkaAnswers(brokers: string): Promise<boolean> {
  const first = brokers.split(',')[0] ?? '';
  const [host, port] = first.split(':');
  if (!host || !port || !(await portOpen(host, Number(port), 1000))) return false;
  const admin = new Kafka({ clientId: 'livesale-stack', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 1 }, connectionTimeout: 2000 }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort };
}

/**
 * Makes Redis, Postgres and Kafka reachable on loopback. Uses REDIS_URL, DATABASE_URL and
 * KAFKA_BROKERS (or the local defaults) when they answer; otherwise starts what is missing with
 * throwaway data under the stack directory and records it. Running it twice is harmless: what
 * answers is used, and what it started before is reused.
 */
export async function ensureStack(opts: { env?: Env; say?: Say } = {}): Promise<StackEndpoints> {
  const env = opts.env ?? process.env;
  const say = opts.say ?? defaultSay;
  const state = readState();
  const started: StackState = {};
  const dir = stackDir();

  // Redis
  const redisUrl = env.REDIS_URL || defaults.redisUrl;
  if (await redisAnswers(redisUrl)) {
    say(`[stack] redis     ${redisUrl} (already running)`);
  } else {
    const { host, port } = hostPort(redisUrl, 6379);
    if (!loopback.has(host)) throw new Error(`[stack] REDIS_URL=${redisUrl} does not answer, and it is not on loopback, so it cannot be started here.`);
    if (stillOurs(state.redis)) throw new Error(`[stack] our redis-server (pid ${state.redis.pid}) runs but does not answer; see ${join(state.redis.dir, 'redis.log')}`);
    say(`[stack] redis     starting on 127.0.0.1:${port} …`);
    const r = await startRedis({ port, dir: join(dir, 'redis') });
    started.redis = { pid: r.pid, port, dir: r.dir, url: redisUrl };
    say(`[stack] redis     ${redisUrl} (started, pid ${r.pid})`);
  }

  // Postgres
  const databaseUrl = env.DATABASE_URL || defaults.databaseUrl;
  const pgState = await postgresAnswers(databaseUrl);
  const dbName = new URL(databaseUrl).pathname.slice(1) || 'postgres';
  if (pgState === 'ok') {
    say(`[stack] postgres  ${redact(databaseUrl)} (already running)`);
  } else if (pgState === 'no-database') {
    const admin = new URL(databaseUrl);
    admin.pathname = '/postgres';
    await ensureDatabase(admin.toString(), dbName);
    say(`[stack] postgres  ${redact(databaseUrl)} (running; created database ${dbName})`);
  } else {
    const { host, port } = hostPort(databaseUrl, 5432);
    if (!loopback.has(host)) throw new Error(`[stack] DATABASE_URL=${redact(databaseUrl)} does not answer, and it is not on loopback, so it cannot be started here.`);
    if (await portOpen('127.0.0.1', port)) throw new Error(`[stack] something listens on 127.0.0.1:${port} but refuses DATABASE_URL=${redact(databaseUrl)}; fix the URL or stop it.`);
    say(`[stack] postgres  starting on 127.0.0.1:${port} …`);
    const p = await startPostgres({ port, dir: join(dir, 'postgres'), database: dbName });
    started.postgres = { pid: p.pid, port, dir: p.dir, url: p.url };
    say(`[stack] postgres  ${p.url} (started, pid ${p.pid})`);
  }

  // Kafka
  const kafkaBrokers = env.KAFKA_BROKERS || defaults.kafkaBrokers;
  if (await kafkaAnswers(kafkaBrokers)) {
    say(`[stack] kafka     ${kafkaBrokers} (already running)`);
  } else {
    const { host, port } = hostPort(`kafka://${kafkaBrokers.split(',')[0]}`, 9092);
    if (!loopback.has(host)) throw new Error(`[stack] KAFKA_BROKERS=${kafkaBrokers} does not answer, and it is not on loopback, so it cannot be started here.`);
    if (await portOpen('127.0.0.1', port)) throw new Error(`[stack] something listens on 127.0.0.1:${port} but does not answer as a Kafka broker; fix KAFKA_BROKERS or stop it.`);
    if (stillOurs(state.kafka)) await stopPid(state.kafka.pid);
    const controllerPort = (await portOpen('127.0.0.1', port + 1)) ? await freePort() : port + 1;
    say(`[stack] kafka     starting on 127.0.0.1:${port} …`);
    const kdir = join(dir, 'kafka');
    rmSync(kdir, { recursive: true, force: true });
    const k = await startKafka({ port, controllerPort, dir: kdir, say });
    started.kafka = { pid: k.pid, port, dir: k.dir, url: kafkaBrokers };
    say(`[stack] kafka     ${kafkaBrokers} (started, pid ${k.pid})`);
  }

  if (started.redis || started.postgres || started.kafka) writeState({ ...state, ...started });
  return { redisUrl, databaseUrl, kafkaBrokers, started };
}

/**
 * Stops what the stack started and deletes its throwaway data. With `only`, stops just those
 * (what one `ensureStack` call started); without, everything recorded. Never touches a service
 * it did not start.
 */
export async function stopStack(opts: { only?: StackState; say?: Say } = {}): Promise<void> {
  const say = opts.say ?? defaultSay;
  const state = readState();
  const target = opts.only ?? state;
  for (const name of ['kafka', 'postgres', 'redis'] as const) {
    const s = target[name];
    if (!s) continue;
    if (stillOurs(s)) {
      say(`[stack] stopping ${name} (pid ${s.pid})`);
      if (name === 'postgres') {
        // A fast shutdown via SIGINT to the postmaster; pg_ctl would need the server's user.
        try {
          process.kill(s.pid, 'SIGINT');
        } catch {
          /* gone */
        }
        // Still running after 20 s: stopPid below escalates.
        await waitFor('postgres to stop', () => !pidAlive(s.pid), 20_000, 50).catch(() => {});
      }
      await stopPid(s.pid, 30_000);
    }
    if (existsSync(s.dir)) rmSync(s.dir, { recursive: true, force: true });
    delete state[name];
  }
  if (Object.keys(state).length) writeState(state);
  else rmSync(statePath(), { force: true });
}

export async function stackStatus(): Promise<string[]> {
  const env = process.env;
  const state = readState();
  const redisUrl = env.REDIS_URL || defaults.redisUrl;
  const databaseUrl = env.DATABASE_URL || defaults.databaseUrl;
  const kafkaBrokers = env.KAFKA_BROKERS || defaults.kafkaBrokers;
  const own = (s: Started | undefined) => (stillOurs(s) ? ` (started by the stack, pid ${s.pid})` : '');
  return [
    `redis     ${redisUrl}: ${(await redisAnswers(redisUrl)) ? 'up' : 'down'}${own(state.redis)}`,
    `postgres  ${redact(databaseUrl)}: ${await postgresAnswers(databaseUrl)}${own(state.postgres)}`,
    `kafka     ${kafkaBrokers}: ${(await kafkaAnswers(kafkaBrokers)) ? 'up' : 'down'}${own(state.kafka)}`,
  ];
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
