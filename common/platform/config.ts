import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { LivesaleError } from './errors.ts';

type Env = Record<string, string | undefined>;

/**
 * One setting: its environment variable, its field in `Config`, its schema, its default and the
 * sentence the README's configuration table shows (`npm run docs:settings` writes that table).
 */
export interface Setting<K extends string = string, S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly key: K;
  readonly schema: S;
  /** A value, or a function for defaults computed per process. */
  readonly default: z.input<S> | (() => z.input<S>);
  readonly doc: string;
  /** What the README shows as the default when it is computed or differs by context. */
  readonly shownDefault?: string;
  /** From the variable's text to the schema's input; the text itself when absent. */
  readonly fromEnv?: (raw: string) => unknown;
  /** Whether an empty variable means "unset" (the default); true unless said otherwise. */
  readonly emptyIsUnset?: boolean;
}

function setting<const K extends string, S extends z.ZodType>(s: Setting<K, S>): Setting<K, S> {
  return Object.freeze(s);
}

/** A number from text; anything that is not one stays a value the schema refuses (NaN). */
function num(v: string): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

const truthy = ['1', 'true', 'yes', 'on'];
const falsy = ['0', 'false', 'no', 'off'];

/** A flag from text; anything else stays text, which the boolean schema refuses by name. */
function flag(v: string): unknown {
  const l = v.toLowerCase();
  return truthy.includes(l) ? true : falsy.includes(l) ? false : v;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * The steps of the creates (a room, a flash-sale item, a group buy) at which FAULT_POINT may
 * kill the process: after the catalog row, after the inventory, after the room document.
 */
export const faultPoints = [
  'createRoom.catalog',
  'createRoom.room',
  'addItem.catalog',
  'addItem.inventory',
  'addItem.room',
  'openGroup.catalog',
  'openGroup.inventory',
  'openGroup.room',
] as const;
export type FaultPoint = (typeof faultPoints)[number];

/**
 * Every setting, in the order of the README table. Defaults are local-development values: they
 * point at services on loopback.
 */
export const settings = [
  setting({ name: 'REDIS_URL', key: 'redisUrl', schema: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'), default: 'redis://127.0.0.1:6379', doc: 'inventory, holds, outbox streams, room logs, backplane' }),
  setting({ name: 'DATABASE_URL', key: 'databaseUrl', schema: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://'), default: 'postgres://postgres@127.0.0.1:5432/livesale', doc: 'ledger and catalog (created if missing)' }),
  setting({ name: 'DATABASE_SCHEMA', key: 'databaseSchema', schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'), default: 'public', doc: 'schema of every table (tests use a fresh one each)' }),
  setting({
    name: 'KAFKA_BROKERS',
    key: 'kafkaBrokers',
    schema: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1),
    default: ['127.0.0.1:9092'],
    shownDefault: '`127.0.0.1:9092`',
    fromEnv: (v) => v.split(',').map((s) => s.trim()).filter(Boolean),
    doc: 'comma-separated `host:port`',
  }),
  setting({ name: 'KAFKA_TOPIC_PREFIX', key: 'kafkaTopicPrefix', schema: z.string().regex(/^[a-zA-Z0-9._-]*$/), default: '', emptyIsUnset: false, doc: 'prepended to `orders`, `orders.dlq`, `room-activity` (tests use a fresh one each)' }),
  setting({ name: 'KAFKA_PARTITIONS', key: 'kafkaPartitions', schema: int(1, 256), default: 6, fromEnv: num, doc: 'partitions of topics this service creates' }),
  setting({ name: 'KEY_PREFIX', key: 'keyPrefix', schema: z.string().min(1).max(32).regex(/^[^{}\s]+$/, 'must not contain braces or spaces'), default: 'ls:', doc: 'prepended to every Redis key (tests use a fresh one each)' }),
  setting({ name: 'HOST', key: 'host', schema: z.string().regex(/^\S+$/, 'must be a host name or address'), default: '127.0.0.1', doc: 'where the gateway listens (and the sweeper serves its metrics)' }),
  setting({ name: 'PORT', key: 'port', schema: int(0, 65535), default: 8080, fromEnv: num, doc: 'the gateway\'s port' }),
  setting({
    name: 'LIVESALE_ENV',
    key: 'livesaleEnv',
    schema: z.enum(['production', 'development']),
    default: 'production',
    shownDefault: '`production` (`development` under `npm start` and the tests)',
    doc: '`development` allows what only a local demo may do: a random per-process `JWT_SECRET` when none is given',
  }),
  setting({
    name: 'JWT_SECRET',
    key: 'jwtSecret',
    schema: z.string().min(32, 'must be at least 32 characters'),
    // Only in development (see loadConfig): a random secret keeps a forgotten JWT_SECRET from ever
    // meaning "no secret", and tokens then verify only inside this process. In production every
    // node must share one secret, so a missing one stops the process instead.
    default: () => randomBytes(32).toString('base64url'),
    shownDefault: 'required; random per process in development',
    doc: 'HS256 secret of access tokens (≥ 32 characters), the same on every node',
  }),
  setting({ name: 'DEMO_AUTH', key: 'demoAuth', schema: z.boolean(), default: false, fromEnv: flag, shownDefault: '`false` (`true` under `npm start`)', doc: '`POST /auth/demo` issues tokens to anyone; never in production' }),
  setting({ name: 'HOLD_SECONDS', key: 'holdSeconds', schema: int(10, 86_400), default: 900, fromEnv: num, doc: 'default payment deadline of a hold' }),
  setting({ name: 'STOCK_TICK_MS', key: 'stockTickMs', schema: int(5, 1000), default: 50, fromEnv: num, doc: 'stock changes are coalesced per item and published once per tick' }),
  setting({ name: 'MAX_PAYLOAD_BYTES', key: 'maxPayloadBytes', schema: int(256, 1024 * 1024), default: 16 * 1024, fromEnv: num, doc: 'largest WebSocket message or HTTP body' }),
  setting({ name: 'LOG_LEVEL', key: 'logLevel', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', doc: 'pino level' }),
  setting({
    name: 'REDIS_AUTO_PIPELINING',
    key: 'redisAutoPipelining',
    schema: z.boolean(),
    default: false,
    fromEnv: flag,
    // With the scripts registered, every auto-pipelined batch builds a pipeline object carrying
    // all of them, and `npm run bench:inventory` measures the plain client clearly faster.
    doc: 'ioredis auto-pipelining (one write per event-loop turn); off because script calls measured faster without it (`npm run bench:inventory` prints both)',
  }),
  setting({ name: 'NODE_ID', key: 'nodeId', schema: z.string().min(1).max(64), default: () => `${hostname()}-${process.pid}`, shownDefault: 'hostname-pid', doc: 'this process in logs, metrics and per-node counters' }),
  setting({ name: 'ROOM_TICK_MS', key: 'roomTickMs', schema: int(1, 60_000), default: 25, fromEnv: num, doc: 'room updates to sockets are batched per tick (sale open/close, sold out and tier crossings skip it)' }),
  setting({ name: 'ROOM_SLICE_MS', key: 'roomSliceMs', schema: int(0, 1000), default: 4, fromEnv: num, doc: 'how long one turn of the event loop may spend writing a room\'s batch before it yields to commands, buys and the backplane (0: 64 sockets at a time)' }),
  setting({ name: 'WS_MESSAGE_RATE', key: 'wsMessageRate', schema: int(1, 100_000), default: 20, fromEnv: num, doc: 'WebSocket messages per second one connection may send (bursts of twice that)' }),
  setting({ name: 'USER_MESSAGE_RATE', key: 'userMessageRate', schema: int(1, 100_000), default: 40, fromEnv: num, doc: 'WebSocket messages per second one user may send over all their connections to a node, and HTTP writes per second one user may send to a node (bursts of twice that each; 429 with `Retry-After` past it over HTTP)' }),
  setting({ name: 'HTTP_ADDRESS_RATE', key: 'httpAddressRate', schema: int(1, 1_000_000), default: 1000, fromEnv: num, doc: 'HTTP writes per second one client address (an IPv6 /64) may send to a node, over all its users (bursts of twice that; 429 with `Retry-After` past it)' }),
  setting({ name: 'WS_ADMISSION_RATE', key: 'wsAdmissionRate', schema: int(1, 1_000_000), default: 1000, fromEnv: num, doc: 'new WebSocket connections per second a node admits (bursts of twice that; 429 past it)' }),
  setting({ name: 'HOST_COMMAND_RATE', key: 'hostCommandRate', schema: int(1, 100_000), default: 20, fromEnv: num, doc: 'host console commands per second per host, over all nodes' }),
  setting({ name: 'WS_IDLE_SECONDS', key: 'wsIdleSeconds', schema: int(8, 960), default: 60, fromEnv: num, doc: 'a connection that answers no ping for this long is closed' }),
  setting({ name: 'WS_BACKPRESSURE_BYTES', key: 'wsBackpressureBytes', schema: int(4096, 64 * 1024 * 1024), default: 256 * 1024, fromEnv: num, doc: 'unsent bytes past which a socket is behind (state coalesced, events queued, catch-up on drain)' }),
  setting({ name: 'WS_SLOW_CLOSE_MS', key: 'wsSlowCloseMs', schema: int(100, 3_600_000), default: 30_000, fromEnv: num, doc: 'a socket behind for longer is closed with 4008' }),
  setting({ name: 'SHUTDOWN_DRAIN_MS', key: 'shutdownDrainMs', schema: int(0, 600_000), default: 5000, fromEnv: num, doc: 'how long a stopping gateway waits for in-flight requests' }),
  setting({ name: 'SWEEP_INTERVAL_MS', key: 'sweepIntervalMs', schema: int(10, 60_000), default: 250, fromEnv: num, doc: 'pause between rounds of the inventory sweeper (expiry, reminders, scheduled prices, group close)' }),
  setting({ name: 'AUDIT_INTERVAL_MS', key: 'auditIntervalMs', schema: int(0, 86_400_000), default: 60_000, fromEnv: num, doc: 'how often the sweeper process audits Redis against the ledger (`0`: never)' }),
  setting({ name: 'SWEEPER_METRICS_PORT', key: 'sweeperMetricsPort', schema: int(0, 65535), default: 9465, fromEnv: num, doc: 'the sweeper process serves `GET /metrics` (audit drift) on `HOST` at this port (`0`: not served)' }),
  setting({
    name: 'ITEM_RETENTION_SECONDS',
    key: 'itemRetentionSeconds',
    schema: int(0, 366 * 86_400),
    default: 7 * 86_400,
    fromEnv: num,
    doc: "how long a retired item's Redis keys (holds, idempotency answers, the emptied outbox) are kept before they expire; at least as long as a client may retry a buy (`0`: items never retire, their state stays forever)",
  }),
  setting({
    name: 'ITEM_RETIRE_GRACE_SECONDS',
    key: 'itemRetireGraceSeconds',
    schema: int(0, 30 * 86_400),
    default: 3600,
    fromEnv: num,
    doc: 'an ended, drained item stays live this long after its sale ended, so a host may still refund a paid order; once retired, nothing changes it any more',
  }),
  setting({
    name: 'REFERRAL_WINDOW_SECONDS',
    key: 'referralWindowSeconds',
    schema: int(60, 30 * 86_400),
    default: 86_400,
    fromEnv: num,
    doc: 'a share link opened now attributes the shopper\'s orders in its room for this long (the last link opened wins); the window is fixed on the click when it is recorded',
  }),
  setting({ name: 'RELAY_CLAIM_IDLE_MS', key: 'relayClaimIdleMs', schema: int(100, 3_600_000), default: 15_000, fromEnv: num, doc: 'outbox entries pending this long on another relay (it died) are re-claimed' }),
  setting({ name: 'HEARTBEAT_MS', key: 'heartbeatMs', schema: int(100, 60_000), default: 1000, fromEnv: num, doc: 'relay and writer processes write a heartbeat to Redis this often; one silent for five times as long counts as down' }),
  setting({ name: 'READY_PIPELINE', key: 'readyPipeline', schema: z.boolean(), default: true, fromEnv: flag, doc: "whether the gateway's `/readyz` also needs a live relay, a live writer and the ledger within the lag bounds" }),
  setting({ name: 'READY_MAX_LAG_SECONDS', key: 'readyMaxLagSeconds', schema: int(1, 86_400), default: 60, fromEnv: num, doc: '`/readyz` is not ready while the ledger is further behind than this (oldest event not yet written)' }),
  setting({ name: 'READY_MAX_LAG_EVENTS', key: 'readyMaxLagEvents', schema: int(1, 100_000_000), default: 50_000, fromEnv: num, doc: '`/readyz` is not ready while more events than this wait for the ledger (outbox entries plus the writer group\'s Kafka lag)' }),
  setting({ name: 'RUN_OF_SHOW_PUSH_MS', key: 'runOfShowPushMs', schema: int(100, 60_000), default: 2000, fromEnv: num, doc: 'while a show is live, its run of show (current slot, time left, drift) goes to the room\'s host and ops sockets at least once per this many ms' }),
  setting({
    name: 'FAULT_POINT',
    key: 'faultPoint',
    schema: z.enum(['', ...faultPoints]),
    default: '',
    shownDefault: '(none)',
    doc: `development only (refused in production): the process kills itself (SIGKILL) at this step of a create, to prove a retry with the same idempotency key applies it once: ${faultPoints.map((f) => `\`${f}\``).join(', ')}`,
  }),
  setting({ name: 'STATS_PUSH_MS', key: 'statsPushMs', schema: int(10, 60_000), default: 250, fromEnv: num, doc: 'live figures go to a room\'s ops dashboards at most once per this many ms' }),
  setting({
    name: 'SEGMENT_REFRESH_SECONDS',
    key: 'segmentRefreshSeconds',
    schema: int(0, 86_400),
    default: 300,
    fromEnv: num,
    doc: "the ledger writer recomputes every shopper's lifecycle stage from the ledger this often into the copy in Redis that buys (coupon audiences) and reminders read, and after each batch those of the shoppers it paid or refunded; 0: neither, only on demand (`POST /segments/refresh`)",
  }),
] as const;

type AnySetting = (typeof settings)[number];
type Values = { -readonly [S in AnySetting as S['key']]: z.output<S['schema']> };
export type SettingKey = AnySetting['key'];

const schema = z.object(Object.fromEntries(settings.map((s) => [s.key, s.schema]))) as unknown as z.ZodType<Values>;

/** The fixed defaults by field (computed ones, like the random JWT secret, are left out). */
export const defaults = Object.freeze(
  Object.fromEntries(settings.filter((s) => typeof s.default !== 'function').map((s) => [s.key, s.key === 'kafkaBrokers' ? (s.default as string[]).join(',') : s.default])),
) as { readonly redisUrl: string; readonly databaseUrl: string; readonly kafkaBrokers: string } & Readonly<Record<string, unknown>>;

export type Config = Readonly<Values> & {
  readonly topics: Readonly<{ orders: string; deadLetter: string; activity: string }>;
};

/**
 * Reads the configuration from the environment (and explicit overrides), validates it once and
 * freezes it. Throws a CONFIG_INVALID error naming every bad setting.
 */
export function loadConfig(overrides: Partial<Record<SettingKey, unknown>> = {}, env: Env = process.env): Config {
  const raw: Record<string, unknown> = {};
  const unsetKeys = new Set<string>();
  for (const s of settings as readonly Setting[]) {
    const text = env[s.name];
    const unset = text === undefined || (text === '' && s.emptyIsUnset !== false);
    if (unset) unsetKeys.add(s.key);
    raw[s.key] = unset ? (typeof s.default === 'function' ? (s.default as () => unknown)() : s.default) : s.fromEnv ? s.fromEnv(text) : text;
  }
  Object.assign(raw, overrides);
  for (const key of Object.keys(overrides)) unsetKeys.delete(key);
  const parsed = schema.safeParse(raw);
  const nameOf = (key: unknown) => settings.find((s) => s.key === key)?.name ?? String(key);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${nameOf(i.path[0])} (${i.path.join('.')}): ${i.message}`);
  // Outside development a secret nobody gave is refused: each node would invent its own and
  // refuse the others' tokens.
  if (unsetKeys.has('jwtSecret') && raw.livesaleEnv === 'production') problems.push('JWT_SECRET (jwtSecret): required outside development (LIVESALE_ENV=development)');
  // A fault point kills the process on purpose: never where it serves anyone.
  if (raw.faultPoint && raw.livesaleEnv === 'production' && !problems.some((m) => m.startsWith('FAULT_POINT '))) {
    problems.push('FAULT_POINT (faultPoint): only in development (LIVESALE_ENV=development)');
  }
  if (!parsed.success || problems.length) throw new LivesaleError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  const c = parsed.data;
  const p = c.kafkaTopicPrefix;
  return Object.freeze({
    ...c,
    kafkaBrokers: Object.freeze([...c.kafkaBrokers]) as unknown as string[],
    topics: Object.freeze({ orders: `${p}orders`, deadLetter: `${p}orders.dlq`, activity: `${p}room-activity` }),
  });
}

/** The README's configuration table, from the settings table (written by `npm run docs:settings`). */
export function settingsMarkdown(): string {
  const shown = (s: Setting): string => {
    if (s.shownDefault !== undefined) return s.shownDefault;
    const d = s.default;
    return d === '' ? '(empty)' : `\`${Array.isArray(d) ? d.join(',') : String(d)}\``;
  };
  const rows = (settings as readonly Setting[]).map((s) => `| \`${s.name}\` | ${shown(s)} | ${s.doc.replaceAll('|', '\\|')} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
