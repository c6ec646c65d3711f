import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaults, loadConfig, settings, settingsMarkdown, type Setting } from '../../common/platform/config.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import { readmePath, withSettingsTable } from '../../scripts/settings-docs.ts';

const all = settings as readonly Setting[];

/** Development mode, where an unset JWT_SECRET is allowed (production refuses it on its own). */
const dev = { LIVESALE_ENV: 'development' };

/** The CONFIG_INVALID error of `env` (in development unless it says otherwise), or a failure if the configuration loaded. */
function refusal(env: Record<string, string>): LivesaleError {
  try {
    loadConfig({}, { ...dev, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(LivesaleError);
    expect((err as LivesaleError).code).toBe('CONFIG_INVALID');
    return err as LivesaleError;
  }
  throw new Error(`configuration ${JSON.stringify(env)} was accepted`);
}

/** A value each setting must refuse, with the reason in words. */
const badValues: Record<string, string> = {
  REFERRAL_WINDOW_SECONDS: '30',
  REDIS_URL: 'http://127.0.0.1:6379',
  DATABASE_URL: 'mysql://x',
  DATABASE_SCHEMA: 'Bad-Schema',
  KAFKA_BROKERS: 'no-port',
  KAFKA_TOPIC_PREFIX: 'has space',
  KAFKA_PARTITIONS: '0',
  KEY_PREFIX: 'a{b}',
  HOST: ' ',
  PORT: '70000',
  LIVESALE_ENV: 'staging',
  JWT_SECRET: 'short',
  DEMO_AUTH: 'sometimes',
  HOLD_SECONDS: '5',
  STOCK_TICK_MS: 'fast',
  MAX_PAYLOAD_BYTES: '1.5',
  LOG_LEVEL: 'loud',
  REDIS_AUTO_PIPELINING: 'maybe',
  NODE_ID: 'x'.repeat(65),
  ROOM_TICK_MS: '0',
  ROOM_SLICE_MS: '-1',
  WS_MESSAGE_RATE: '0',
  USER_MESSAGE_RATE: '1e9',
  HTTP_ADDRESS_RATE: '0',
  WS_ADMISSION_RATE: 'many',
  HOST_COMMAND_RATE: '0',
  WS_IDLE_SECONDS: '7',
  WS_BACKPRESSURE_BYTES: '1',
  WS_SLOW_CLOSE_MS: '99',
  SHUTDOWN_DRAIN_MS: '-5',
  SWEEP_INTERVAL_MS: '9',
  AUDIT_INTERVAL_MS: 'often',
  SWEEPER_METRICS_PORT: '65536',
  RELAY_CLAIM_IDLE_MS: '1',
  STATS_PUSH_MS: '1',
  SEGMENT_REFRESH_SECONDS: '-1',
  FAULT_POINT: 'somewhere',
  ITEM_RETENTION_SECONDS: '-1',
  ITEM_RETIRE_GRACE_SECONDS: 'a while',
  HEARTBEAT_MS: '50',
  READY_PIPELINE: 'mostly',
  READY_MAX_LAG_SECONDS: '0',
  READY_MAX_LAG_EVENTS: 'lots',
  RUN_OF_SHOW_PUSH_MS: '50',
};

describe('settings table', () => {
  it('names each variable and field once, with a sentence for the README', () => {
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
    expect(new Set(all.map((s) => s.key)).size).toBe(all.length);
    for (const s of all) {
      expect(s.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(s.doc.length).toBeGreaterThan(5);
    }
  });

  it('the README table is the one generated from it', () => {
    const readme = readFileSync(readmePath, 'utf8');
    expect(readme, 'README.md is stale: run npm run docs:settings').toBe(withSettingsTable(readme));
    for (const s of all) expect(settingsMarkdown()).toContain(`| \`${s.name}\` |`);
  });

  it('an empty environment is production, and production needs JWT_SECRET', () => {
    const err = refusal({ LIVESALE_ENV: '' });
    expect(err.message).toBe('invalid configuration: JWT_SECRET (jwtSecret): required outside development (LIVESALE_ENV=development)');
    expect(() => loadConfig({}, {})).toThrow(/JWT_SECRET/);
    expect(loadConfig({}, { JWT_SECRET: 's'.repeat(32) })).toMatchObject({ livesaleEnv: 'production', jwtSecret: 's'.repeat(32) });
    expect(loadConfig({ jwtSecret: 's'.repeat(32) }, {}).livesaleEnv).toBe('production');
  });

  it('a development environment gives every other default, frozen', () => {
    const c = loadConfig({}, dev);
    expect(c.livesaleEnv).toBe('development');
    for (const s of all) {
      if (typeof s.default === 'function' || s.key === 'livesaleEnv') continue;
      expect(c[s.key as keyof typeof c], s.name).toEqual(s.default);
    }
    expect(c.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}, dev).jwtSecret).not.toBe(c.jwtSecret);
    expect(c.nodeId).toMatch(new RegExp(`-${process.pid}$`));
    expect(c.topics).toEqual({ orders: 'orders', deadLetter: 'orders.dlq', activity: 'room-activity' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.kafkaBrokers)).toBe(true);
    expect(Object.isFrozen(c.topics)).toBe(true);
    expect(defaults.kafkaBrokers).toBe('127.0.0.1:9092');
  });

  it('reads each variable from the environment', () => {
    const c = loadConfig(
      {},
      {
        REDIS_URL: 'rediss://r:1',
        KAFKA_BROKERS: 'a:1, b:2,',
        KAFKA_TOPIC_PREFIX: 't.',
        PORT: '0',
        DEMO_AUTH: 'yes',
        REDIS_AUTO_PIPELINING: 'OFF',
        JWT_SECRET: 's'.repeat(32),
        NODE_ID: 'n1',
        AUDIT_INTERVAL_MS: '0',
        HOLD_SECONDS: '',
      },
    );
    expect(c).toMatchObject({ redisUrl: 'rediss://r:1', kafkaBrokers: ['a:1', 'b:2'], kafkaTopicPrefix: 't.', port: 0, demoAuth: true, redisAutoPipelining: false, jwtSecret: 's'.repeat(32), nodeId: 'n1', auditIntervalMs: 0, holdSeconds: 900 });
    expect(c.topics.orders).toBe('t.orders');
    // Explicit overrides win over the environment.
    expect(loadConfig({ port: 1234 }, { ...dev, PORT: '80' }).port).toBe(1234);
  });

  it('refuses each bad value with the name of its variable', () => {
    expect(Object.keys(badValues).sort()).toEqual(all.map((s) => s.name).sort());
    for (const [name, value] of Object.entries(badValues)) {
      const err = refusal({ [name]: value });
      // Exactly one problem, and it is this setting's.
      expect(err.message, `${name}=${value}`).toMatch(new RegExp(`^invalid configuration: ${name} \\([^;]*$`));
    }
  });

  it('a fault point is honoured only in development: production refuses it', () => {
    expect(loadConfig({}, { ...dev, FAULT_POINT: 'addItem.catalog' }).faultPoint).toBe('addItem.catalog');
    expect(loadConfig({}, dev).faultPoint).toBe('');
    const err = refusal({ LIVESALE_ENV: 'production', JWT_SECRET: 's'.repeat(32), FAULT_POINT: 'addItem.catalog' });
    expect(err.message).toBe('invalid configuration: FAULT_POINT (faultPoint): only in development (LIVESALE_ENV=development)');
    expect(loadConfig({}, { JWT_SECRET: 's'.repeat(32), FAULT_POINT: '' }).faultPoint).toBe('');
  });

  it('names every bad setting at once', () => {
    const err = refusal({ PORT: 'x', LOG_LEVEL: 'loud', KAFKA_BROKERS: 'a:1,b' });
    expect(err.message).toContain('PORT (port)');
    expect(err.message).toContain('LOG_LEVEL (logLevel)');
    expect(err.message).toContain('KAFKA_BROKERS (kafkaBrokers.1)');
    // Empty means unset (the default), so only JWT_SECRET is wrong here.
    const one = refusal({ HOST: '', PORT: '', JWT_SECRET: 'x' }).message;
    expect(one).toContain('JWT_SECRET (');
    expect(one).not.toContain('HOST (');
  });
});
