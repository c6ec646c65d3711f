import { afterAll, expect, it } from 'vitest';
import { Keys } from '../../common/contracts/keys.ts';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { testConfig } from '../helpers/namespace.ts';
import { waitFor } from '../helpers/wait.ts';
import { Pipeline } from './pipeline.ts';

/**
 * Readiness of the ledger side with real relay and writer processes: kill -9 the writer during a
 * sale, /readyz turns not-ready naming the writer while the lag grows, and recovers once a new
 * writer has caught up.
 */

// The spawned relay and writer inherit it: beats every 200 ms, down after 1 s of silence.
process.env.HEARTBEAT_MS = '200';
const maxEvents = 20;

let pipe: Pipeline | undefined;
let gateway: Gateway | undefined;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  await gateway?.close({ drainMs: 100 });
  for (const c of cleanups.reverse()) await c();
  await pipe?.close();
}, 60_000);

interface Ready {
  status: number;
  body: { ready: boolean; relay?: string; writer?: string; kafka?: string; ledger?: string; lag?: { seconds: number; events: number; kafka: number | null } };
}

it('/readyz and /metrics follow the writer: down and lagging when killed, ready again once it has caught up', async () => {
  pipe = new Pipeline({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/livesale' });
  const p = pipe;
  await p.setup();
  await p.startRelay('a');
  let writer = await p.startWriter();

  const config = testConfig({ keyPrefix: p.keyPrefix, kafkaTopicPrefix: p.topicPrefix, databaseSchema: p.schema, readyPipeline: true, heartbeatMs: 200, readyMaxLagEvents: maxEvents, readyMaxLagSeconds: 3600 });
  const redis = createRedis(config);
  const db = createDbFromConfig(config, 2);
  cleanups.push(() => redis.disconnect(), () => db.destroy());
  gateway = await startGateway({ config, log: createLogger({ level: 'silent', name: 'readiness' }), redis, db, keys: new Keys(config.keyPrefix) });
  const base = `http://127.0.0.1:${gateway.port}`;
  const ready = async (): Promise<Ready> => {
    const r = await fetch(`${base}/readyz`);
    return { status: r.status, body: (await r.json()) as Ready['body'] };
  };
  const gaugeOf = async (name: string): Promise<number> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };

  const up = await waitFor('/readyz to be ready with relay and writer up', async () => {
    const r = await ready();
    return r.status === 200 && r.body.relay === 'up' && r.body.writer === 'up' && r.body.ledger === 'up' ? r : undefined;
  });
  expect(up.body).toMatchObject({ ready: true, redis: 'up', postgres: 'up', kafka: 'up' });
  expect(await gaugeOf('livesale_writers_live')).toBe(1);
  expect(await gaugeOf('livesale_relays_live')).toBe(1);

  await writer.kill9();
  p.startSale(60);
  const down = await waitFor('/readyz to name the writer down and the ledger behind', async () => {
    const r = await ready();
    return r.status === 503 && r.body.writer === 'down' && r.body.ledger === 'behind' ? r : undefined;
  });
  expect(down.body).toMatchObject({ ready: false, relay: 'up', redis: 'up', postgres: 'up' });
  const first = down.body.lag!.events;
  expect(first).toBeGreaterThan(maxEvents);
  await waitFor('the lag to grow while no writer runs', async () => ((await ready()).body.lag?.events ?? 0) > first + 20);
  await waitFor('the lag gauges to show it', async () => (await gaugeOf('livesale_ledger_lag_events')) > first && (await gaugeOf('livesale_writers_live')) === 0 && (await gaugeOf('livesale_ledger_lag_seconds')) > 0);

  await p.stopSale();
  writer = await p.startWriter();
  const again = await waitFor('/readyz to be ready again once the writer caught up', async () => {
    const r = await ready();
    return r.status === 200 ? r : undefined;
  }, 60_000, 100);
  expect(again.body).toMatchObject({ ready: true, relay: 'up', writer: 'up', ledger: 'up' });
  expect(again.body.lag!.events).toBeLessThanOrEqual(maxEvents);
}, 180_000);
