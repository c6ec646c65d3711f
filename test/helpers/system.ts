import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Kysely } from 'kysely';
import WebSocket from 'ws';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { createRedis } from '../../common/platform/redis.ts';
import type { Config } from '../../common/platform/config.ts';
import { createLogger, type Logger } from '../../common/platform/logger.ts';
import { HttpClient, RoomSocket, type WebSocketCtor } from '../../web/client.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { Keys } from '../../common/contracts/keys.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { Relay } from '../../orders/relay.ts';
import { StatsPusher } from '../../orders/stats-push.ts';
import { Writer } from '../../orders/writer.ts';
import { createSchema, dropNamespace, testConfig } from './namespace.ts';

export interface System {
  config: Config;
  log: Logger;
  redis: Redis;
  db: Kysely<Database>;
  kafka: Kafka;
  keys: Keys;
  gateway: Gateway;
  relay: Relay;
  writer: Writer;
  baseUrl: string;
  http(token?: string): HttpClient;
  token(role: 'shopper' | 'host' | 'ops', sub: string): Promise<string>;
  connect(roomId: string, token: string, resume?: { epoch: string; offset: number }): Promise<RoomSocket>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Push live figures to ops and host sockets after each committed ledger batch (as writer does). */
  liveStats?: boolean;
}

/** The whole pipeline in this process against the real services, in a fresh namespace. */
export async function startSystem(overrides: Parameters<typeof testConfig>[0] = {}, opts: SystemOptions = {}): Promise<System> {
  const config = testConfig(overrides);
  const log = createLogger({ level: config.logLevel, name: 'test', nodeId: config.nodeId });
  const redis = createRedis(config);
  await createSchema(config);
  const db = createDbFromConfig(config, 20);
  await migrateToLatest(db, config.databaseSchema);
  const kafka = createKafka(config, log);
  await ensureTopics(kafka, config);
  const keys = new Keys(config.keyPrefix);
  const gateway = await startGateway({ config, log, redis, db, keys });
  const relay = new Relay({ redis, keys, kafka, topic: config.topics.orders, log, consumer: config.nodeId, idleMs: 5 });
  await relay.start();
  const pusher = opts.liveStats
    ? new StatsPusher({ db, log, minIntervalMs: config.statsPushMs, publish: (roomId, payload) => gateway.context.store.publishEphemeral(roomId, 'stats', payload) })
    : undefined;
  const writer = new Writer({
    kafka,
    db,
    topic: config.topics.orders,
    activityTopic: config.topics.activity,
    deadLetterTopic: config.topics.deadLetter,
    groupId: `${config.kafkaTopicPrefix}writer`,
    log,
    onCommit: pusher && ((rooms, info) => pusher.notify(rooms, info.committedAt)),
  });
  await writer.start();
  const baseUrl = `http://127.0.0.1:${gateway.port}`;
  const sockets: RoomSocket[] = [];
  return {
    config,
    log,
    redis,
    db,
    kafka,
    keys,
    gateway,
    relay,
    writer,
    baseUrl,
    http: (token) => new HttpClient(baseUrl, token),
    token: (role, sub) => gateway.auth.issue(sub, role),
    async connect(roomId, token, resume) {
      const s = await RoomSocket.connect({ baseUrl, roomId, token, resume, WebSocket: WebSocket as unknown as WebSocketCtor });
      sockets.push(s);
      return s;
    },
    async stop() {
      for (const s of sockets) s.close();
      await gateway.close({ drainMs: 1000 });
      await relay.stop();
      await writer.stop();
      pusher?.close();
      redis.disconnect();
      await db.destroy();
      await dropNamespace(config);
    },
  };
}
