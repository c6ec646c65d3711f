import type { Cluster, Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import { Gauge, type Registry } from 'prom-client';
import type { Keys } from '../common/contracts/keys.ts';
import type { Config } from '../common/platform/config.ts';
import { liveMembers } from '../common/platform/heartbeat.ts';
import type { Logger } from '../common/platform/logger.ts';

/** What readiness and metrics show of the order pipeline (outbox -> relay -> Kafka -> writer -> ledger). */
export interface PipelineHealth {
  readonly relays: number;
  readonly writers: number;
  /** Outbox entries in Redis not yet in Kafka. */
  readonly outboxEvents: number;
  /** Orders-topic messages the writer group has not committed; undefined when Kafka did not answer. */
  readonly kafkaEvents: number | undefined;
  /** Events waiting for the ledger. */
  readonly lagEvents: number;
  /** How far behind the ledger is: the oldest waiting outbox entry, or how long Kafka lag has lasted. */
  readonly lagSeconds: number;
}

/** Reads are cached this long: readiness probes and scrapes from many sources cost one read. */
const cacheMs = 1000;

/**
 * Relay and writer liveness (their heartbeats) and the ledger lag, read on demand and cached for
 * a second. Kafka lag is the writer group's committed offsets against the high watermarks.
 */
export function createPipelineHealth(deps: {
  redis: Redis | Cluster;
  keys: Keys;
  kafka: Kafka;
  config: Pick<Config, 'heartbeatMs' | 'kafkaTopicPrefix' | 'topics'>;
  registry: Registry;
  log: Logger;
}) {
  const { redis, keys, kafka, config, log } = deps;
  const groupId = `${config.kafkaTopicPrefix}ledger-writer`;
  let admin: Promise<Admin> | undefined;
  let cached: { at: number; value: Promise<PipelineHealth> } | undefined;
  /** Since when the writer group has been behind in Kafka (ms), while it is. */
  let kafkaBehindSince: number | undefined;

  const connectAdmin = () => {
    admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })().catch((err) => {
      admin = undefined;
      throw err;
    });
    return admin;
  };

  async function kafkaLag(): Promise<number | undefined> {
    try {
      const a = await connectAdmin();
      const topic = config.topics.orders;
      const [ends, committed] = await Promise.all([a.fetchTopicOffsets(topic), a.fetchOffsets({ groupId, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      let lag = 0;
      for (const p of ends) {
        const c = done.get(p.partition) ?? -1;
        lag += Math.max(0, Number(p.high) - (c < 0 ? Number(p.low) : c));
      }
      return lag;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'kafka lag not read');
      return undefined;
    }
  }

  async function outbox(now: number): Promise<{ events: number; oldestMs: number }> {
    const ids = await redis.smembers(keys.outboxRegistry);
    if (!ids.length) return { events: 0, oldestMs: now };
    const p = redis.pipeline();
    for (const id of ids) p.xlen(keys.item(id).outbox).xrange(keys.item(id).outbox, '-', '+', 'COUNT', 1);
    const r = (await p.exec()) ?? [];
    let events = 0;
    let oldestMs = now;
    for (let i = 0; i < r.length; i += 2) {
      events += Number(r[i]?.[1] ?? 0);
      const first = (r[i + 1]?.[1] as [string, string[]][] | undefined)?.[0]?.[0];
      if (first) oldestMs = Math.min(oldestMs, Number(first.split('-')[0]));
    }
    return { events, oldestMs };
  }

  async function read(): Promise<PipelineHealth> {
    const now = Date.now();
    const [relays, writers, box, kafkaEvents] = await Promise.all([
      liveMembers(redis, keys.heartbeats('relay'), config.heartbeatMs),
      liveMembers(redis, keys.heartbeats('writer'), config.heartbeatMs),
      outbox(now),
      kafkaLag(),
    ]);
    if (kafkaEvents) kafkaBehindSince ??= now;
    else if (kafkaEvents === 0) kafkaBehindSince = undefined;
    const lagMs = Math.max(now - box.oldestMs, kafkaBehindSince === undefined ? 0 : now - kafkaBehindSince);
    return { relays: relays.length, writers: writers.length, outboxEvents: box.events, kafkaEvents, lagEvents: box.events + (kafkaEvents ?? 0), lagSeconds: Math.round(lagMs / 100) / 10 };
  }

  function get(): Promise<PipelineHealth> {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) {
      const value = read();
      cached = { at: now, value };
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  }

  const registers = [deps.registry];
  const gauge = (name: string, help: string, pick: (h: PipelineHealth) => number | undefined, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const v = await get().then(pick, () => undefined);
        if (v !== undefined) this.set(v);
      },
    });
  gauge('livesale_ledger_lag_events', 'Events waiting for the ledger (outbox entries plus the writer group Kafka lag)', (h) => h.lagEvents);
  gauge('livesale_ledger_lag_seconds', 'How far behind the ledger is, in seconds', (h) => h.lagSeconds);
  gauge('livesale_outbox_events', 'Outbox entries in Redis not yet relayed to Kafka', (h) => h.outboxEvents);
  gauge('livesale_relays_live', 'Relay processes with a fresh heartbeat', (h) => h.relays);
  gauge('livesale_writers_live', 'Ledger writer processes with a fresh heartbeat', (h) => h.writers);

  return {
    get,
    async close() {
      const a = admin;
      admin = undefined;
      await a?.then((x) => x.disconnect()).catch(() => undefined);
    },
  };
}

export type PipelineHealthReader = ReturnType<typeof createPipelineHealth>;
