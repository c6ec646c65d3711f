import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { LivesaleError } from './errors.ts';

/**
 * Every setting, its environment variable and its default, in one place.
 * Defaults are local-development values: they point at services on loopback.
 */
export const defaults = {
  /** REDIS_URL: inventory, holds, outbox streams, room logs and the backplane. */
  redisUrl: 'redis://127.0.0.1:6379',
  /** DATABASE_URL: the order ledger and the catalog (rooms, items). */
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/livesale',
  /** DATABASE_SCHEMA: every table lives in this schema (tests use a fresh one each). */
  databaseSchema: 'public',
  /** KAFKA_BROKERS: comma-separated host:port list. */
  kafkaBrokers: '127.0.0.1:9092',
  /** KAFKA_TOPIC_PREFIX: prepended to every topic name (tests use a fresh one each). */
  kafkaTopicPrefix: '',
  /** KAFKA_PARTITIONS: partitions of the orders topic when this service creates it. */
  kafkaPartitions: 6,
  /** KEY_PREFIX: prepended to every Redis key (tests use a fresh one each). */
  keyPrefix: 'ls:',
  /** HOST / PORT: where the gateway listens. */
  host: '127.0.0.1',
  port: 8080,
  /** JWT_SECRET: HS256 secret for access tokens (at least 32 characters). */
  jwtSecret: '',
  /** DEMO_AUTH: when true, POST /auth/demo issues tokens to anyone. Never in production. */
  demoAuth: false,
  /** HOLD_SECONDS: default payment deadline of a hold. */
  holdSeconds: 900,
  /** STOCK_TICK_MS: stock changes are coalesced per item and published once per tick. */
  stockTickMs: 50,
  /** MAX_PAYLOAD_BYTES: largest WebSocket message or HTTP body accepted. */
  maxPayloadBytes: 16 * 1024,
  /** LOG_LEVEL: pino level. */
  logLevel: 'info',
  /**
   * REDIS_AUTO_PIPELINING: ioredis auto-pipelining (one write per event-loop turn) instead of one
   * write per command. Off by default: with the scripts registered, every auto-pipelined batch
   * builds a pipeline object carrying all of them, and `npm run bench:inventory` measures the
   * plain client clearly faster for script calls.
   */
  redisAutoPipelining: false,
  /** NODE_ID: names this process in logs, metrics and per-node counters. */
  nodeId: '',
  /** ROOM_TICK_MS: room updates to sockets are batched per tick (sale open/close and sold-out skip it). */
  roomTickMs: 25,
  /**
   * ROOM_SLICE_MS: how long one turn of the event loop may spend writing a room's batch to its
   * sockets before it yields to commands, buys and the backplane (0: one stride of 64 sockets).
   */
  roomSliceMs: 4,
  /** WS_MESSAGE_RATE: messages per second one WebSocket connection may send (bursts of twice that). */
  wsMessageRate: 20,
  /** USER_MESSAGE_RATE: messages per second one user may send over all their connections to a node. */
  userMessageRate: 40,
  /** WS_ADMISSION_RATE: new WebSocket connections per second a node admits (bursts of twice that). */
  wsAdmissionRate: 1000,
  /** HOST_COMMAND_RATE: host console commands per second per host (all nodes). */
  hostCommandRate: 20,
  /** WS_IDLE_SECONDS: a connection silent this long (pings unanswered) is closed. */
  wsIdleSeconds: 60,
  /** WS_BACKPRESSURE_BYTES: unsent bytes past which a socket is "behind" (state coalesced, events queued). */
  wsBackpressureBytes: 256 * 1024,
  /** WS_SLOW_CLOSE_MS: a socket still behind after this long is closed with a reason. */
  wsSlowCloseMs: 30_000,
  /** SHUTDOWN_DRAIN_MS: how long a stopping gateway waits for in-flight requests. */
  shutdownDrainMs: 5000,
  /** RELAY_CLAIM_IDLE_MS: outbox entries pending this long on another relay (it crashed) are re-claimed. */
  relayClaimIdleMs: 15_000,
  /** STATS_PUSH_MS: live figures are pushed to a room's ops dashboards at most once per this many ms. */
  statsPushMs: 250,
  /** SWEEP_INTERVAL_MS: pause between rounds of the inventory sweeper (expiry, reminders, scheduled prices). */
  sweepIntervalMs: 250,
  /** AUDIT_INTERVAL_MS: how often the sweeper process audits Redis against the ledger (0: never). */
  auditIntervalMs: 60_000,
  /** SWEEPER_METRICS_PORT: the sweeper process serves GET /metrics here (0: not served). */
  sweeperMetricsPort: 9465,
  /**
   * ITEM_RETENTION_SECONDS: how long a retired item's Redis keys (holds, idempotency answers, the
   * emptied outbox) are kept before they expire; at least as long as a client may retry a buy,
   * since a retry after that finds no answer (0: items never retire, their state stays forever).
   */
  itemRetentionSeconds: 7 * 86_400,
  /**
   * ITEM_RETIRE_GRACE_SECONDS: an ended, drained item stays live this long after its sale ended,
   * so a host may still refund a paid order; once retired, nothing changes it any more.
   */
  itemRetireGraceSeconds: 3600,
} as const;

const schema = z.object({
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://'),
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier'),
  kafkaBrokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1),
  kafkaTopicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/),
  kafkaPartitions: z.number().int().min(1).max(256),
  keyPrefix: z.string().min(1).max(32).regex(/^[^{}\s]+$/, 'must not contain braces or spaces'),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  jwtSecret: z.string().min(32, 'must be at least 32 characters'),
  demoAuth: z.boolean(),
  redisAutoPipelining: z.boolean(),
  holdSeconds: z.number().int().min(10).max(86_400),
  stockTickMs: z.number().int().min(5).max(1000),
  maxPayloadBytes: z.number().int().min(256).max(1024 * 1024),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  nodeId: z.string().min(1).max(64),
  roomTickMs: z.number().int().min(1).max(60_000),
  roomSliceMs: z.number().int().min(0).max(1000),
  wsMessageRate: z.number().int().min(1).max(100_000),
  userMessageRate: z.number().int().min(1).max(100_000),
  wsAdmissionRate: z.number().int().min(1).max(1_000_000),
  hostCommandRate: z.number().int().min(1).max(100_000),
  wsIdleSeconds: z.number().int().min(8).max(960),
  wsBackpressureBytes: z.number().int().min(4096).max(64 * 1024 * 1024),
  wsSlowCloseMs: z.number().int().min(100).max(3_600_000),
  shutdownDrainMs: z.number().int().min(0).max(600_000),
  relayClaimIdleMs: z.number().int().min(100).max(3_600_000),
  statsPushMs: z.number().int().min(10).max(60_000),
  sweepIntervalMs: z.number().int().min(10).max(60_000),
  auditIntervalMs: z.number().int().min(0).max(86_400_000),
  sweeperMetricsPort: z.number().int().min(0).max(65535),
  itemRetentionSeconds: z.number().int().min(0).max(366 * 86_400),
  itemRetireGraceSeconds: z.number().int().min(0).max(30 * 86_400),
});

export type Config = Readonly<z.infer<typeof schema>> & {
  readonly topics: Readonly<{ orders: string; deadLetter: string; activity: string }>;
};

type Env = Record<string, string | undefined>;

function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

function bool(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  return ['1', 'true', 'yes', 'on'].includes(v.toLowerCase());
}

/**
 * Reads the configuration from the environment (and explicit overrides), validates it once and
 * freezes it. Throws a CONFIG_INVALID error naming every bad setting.
 */
export function loadConfig(overrides: Partial<Record<keyof typeof defaults, unknown>> = {}, env: Env = process.env): Config {
  const raw = {
    redisUrl: env.REDIS_URL || defaults.redisUrl,
    databaseUrl: env.DATABASE_URL || defaults.databaseUrl,
    databaseSchema: env.DATABASE_SCHEMA || defaults.databaseSchema,
    kafkaBrokers: (env.KAFKA_BROKERS || defaults.kafkaBrokers).split(',').map((s) => s.trim()).filter(Boolean),
    kafkaTopicPrefix: env.KAFKA_TOPIC_PREFIX ?? defaults.kafkaTopicPrefix,
    kafkaPartitions: num(env.KAFKA_PARTITIONS) ?? defaults.kafkaPartitions,
    keyPrefix: env.KEY_PREFIX || defaults.keyPrefix,
    host: env.HOST || defaults.host,
    port: num(env.PORT) ?? defaults.port,
    // A random secret keeps a forgotten JWT_SECRET from ever meaning "no secret"; tokens then
    // only verify inside this process, which is what a local demo needs.
    jwtSecret: env.JWT_SECRET || defaults.jwtSecret || randomBytes(32).toString('base64url'),
    demoAuth: bool(env.DEMO_AUTH) ?? defaults.demoAuth,
    redisAutoPipelining: bool(env.REDIS_AUTO_PIPELINING) ?? defaults.redisAutoPipelining,
    holdSeconds: num(env.HOLD_SECONDS) ?? defaults.holdSeconds,
    stockTickMs: num(env.STOCK_TICK_MS) ?? defaults.stockTickMs,
    maxPayloadBytes: num(env.MAX_PAYLOAD_BYTES) ?? defaults.maxPayloadBytes,
    logLevel: env.LOG_LEVEL || defaults.logLevel,
    nodeId: env.NODE_ID || defaults.nodeId || `${hostname()}-${process.pid}`,
    roomTickMs: num(env.ROOM_TICK_MS) ?? defaults.roomTickMs,
    roomSliceMs: num(env.ROOM_SLICE_MS) ?? defaults.roomSliceMs,
    wsMessageRate: num(env.WS_MESSAGE_RATE) ?? defaults.wsMessageRate,
    userMessageRate: num(env.USER_MESSAGE_RATE) ?? defaults.userMessageRate,
    wsAdmissionRate: num(env.WS_ADMISSION_RATE) ?? defaults.wsAdmissionRate,
    hostCommandRate: num(env.HOST_COMMAND_RATE) ?? defaults.hostCommandRate,
    wsIdleSeconds: num(env.WS_IDLE_SECONDS) ?? defaults.wsIdleSeconds,
    wsBackpressureBytes: num(env.WS_BACKPRESSURE_BYTES) ?? defaults.wsBackpressureBytes,
    wsSlowCloseMs: num(env.WS_SLOW_CLOSE_MS) ?? defaults.wsSlowCloseMs,
    shutdownDrainMs: num(env.SHUTDOWN_DRAIN_MS) ?? defaults.shutdownDrainMs,
    relayClaimIdleMs: num(env.RELAY_CLAIM_IDLE_MS) ?? defaults.relayClaimIdleMs,
    statsPushMs: num(env.STATS_PUSH_MS) ?? defaults.statsPushMs,
    sweepIntervalMs: num(env.SWEEP_INTERVAL_MS) ?? defaults.sweepIntervalMs,
    auditIntervalMs: num(env.AUDIT_INTERVAL_MS) ?? defaults.auditIntervalMs,
    sweeperMetricsPort: num(env.SWEEPER_METRICS_PORT) ?? defaults.sweeperMetricsPort,
    itemRetentionSeconds: num(env.ITEM_RETENTION_SECONDS) ?? defaults.itemRetentionSeconds,
    itemRetireGraceSeconds: num(env.ITEM_RETIRE_GRACE_SECONDS) ?? defaults.itemRetireGraceSeconds,
    ...overrides,
  };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new LivesaleError('CONFIG_INVALID', `invalid configuration: ${problems}`);
  }
  const c = parsed.data;
  const p = c.kafkaTopicPrefix;
  return Object.freeze({
    ...c,
    kafkaBrokers: Object.freeze([...c.kafkaBrokers]) as unknown as string[],
    topics: Object.freeze({ orders: `${p}orders`, deadLetter: `${p}orders.dlq`, activity: `${p}room-activity` }),
  });
}
