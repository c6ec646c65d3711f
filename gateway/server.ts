import type { Cluster, Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import uWS, { type HttpResponse, type TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { FlashSale } from '../inventory/flash-sale.ts';
import type { Keys } from '../common/contracts/keys.ts';
import { Payments } from '../inventory/payments.ts';
import { Catalog } from '../orders/catalog.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { createKafka } from '../common/platform/kafka.ts';
import { ActivityPublisher } from './activity.ts';
import { AuditLog } from './audit.ts';
import { Auth, bearer } from './auth.ts';
import { Commands } from './commands.ts';
import type { GatewayContext, HttpHandler, WsMessageType } from './context.ts';
import { Fanout } from './fanout.ts';
import { copyRequest, errorReply, parseJson, readBody, send, type ResState } from './http.ts';
import { createMetrics } from './metrics.ts';
import { describeIssues } from '../common/contracts/protocol.ts';
import { RoomHub, type LocalRoom } from './room-hub.ts';
import { RoomStore } from './room-store.ts';
import { hostExecutors } from './routes/host-commands.ts';
import { registerRoutes } from './routes/index.ts';
import { registerWebSocket, type WsState } from './ws.ts';
import { assertNativeUws } from './uws-native.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

export interface GatewayDeps {
  config: Config;
  log: Logger;
  redis: Redis | Cluster;
  db: Kysely<Database>;
  keys: Keys;
  /** For room-activity events; one is created from the configuration when absent. */
  kafka?: Kafka;
}

export interface Gateway {
  readonly port: number;
  readonly hub: RoomHub;
  readonly auth: Auth;
  readonly registry: Registry;
  readonly context: GatewayContext;
  /** Open WebSocket connections on this node. */
  readonly connections: number;
  /**
   * Graceful: stop accepting, tell sockets when to reconnect (jittered), finish in-flight
   * requests, close sockets, flush activity events and the audit log.
   */
  close(opts?: { drainMs?: number }): Promise<void>;
}

/** Starts the HTTP and WebSocket gateway. */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  assertNativeUws();
  const { config, redis, db, keys } = deps;
  const log = deps.log.child({ component: 'gateway' });
  const app: TemplatedApp = uWS.App();
  const st: WsState = { sockets: new Set(), types: new Map(), closing: false, inFlight: 0 };

  const auth = new Auth(config.jwtSecret);
  const scripts = inventoryScripts(redis);
  const store = new RoomStore({ redis, keys });
  const metrics = createMetrics();
  const kafka = deps.kafka ?? createKafka(config, log, 'gateway');
  const activity = new ActivityPublisher({ kafka, topic: config.topics.activity, log: log.child({ component: 'activity' }), metrics });
  const audit = new AuditLog({ db, log: log.child({ component: 'audit' }), node: config.nodeId });

  let hub!: RoomHub;
  const fanout = new Fanout({
    log: log.child({ component: 'fanout' }),
    metrics,
    backpressureBytes: config.wsBackpressureBytes,
    slowCloseMs: config.wsSlowCloseMs,
    tickMs: config.roomTickMs,
    sliceMs: config.roomSliceMs,
    snapshot: (roomId) => {
      const room = hub.loaded(roomId);
      return room && hub.snapshot(room);
    },
  });
  const lastOnlineEvent = new Map<string, number>();
  hub = new RoomHub({
    redis,
    keys,
    store,
    log: log.child({ component: 'room-hub' }),
    nodeId: config.nodeId,
    stockTickMs: config.stockTickMs,
    onLoaded: (room) => {
      fanout.room(room.id, room.view.offset, room.view.version);
      metrics.rooms.set(hub.roomCount);
    },
    onUnloaded: (roomId) => {
      fanout.dropRoom(roomId);
      lastOnlineEvent.delete(roomId);
      metrics.rooms.set(hub.roomCount);
    },
    onDelta: (roomId, m, raw) => fanout.push(roomId, m, raw),
    onResync: (room, why) => fanout.resyncAll(room.id, room.view.offset, room.view.version, why),
    // Live figures go to the room's ops and host sockets only: {"x":"stats",...} becomes {"type":"stats",...}.
    ephemeral: (roomId, kind, raw) => {
      const comma = raw.indexOf(',');
      fanout.ephemeral(roomId, comma < 0 ? `{"type":"${kind}"}` : `{"type":"${kind}",${raw.slice(comma + 1)}`, true);
    },
    onViewers: (roomId, online, peak) => {
      fanout.ephemeral(roomId, `{"type":"viewers","online":${online},"peak":${peak}}`, false);
      const now = Date.now();
      const second = Math.floor(now / 1000);
      if (lastOnlineEvent.get(roomId) === second) return;
      lastOnlineEvent.set(roomId, second);
      activity.publish({ type: 'room.online', id: `online:${roomId}:${second}`, room: roomId, at: now, online });
    },
    inUse: (roomId) => fanout.socketCount(roomId) > 0,
  });

  async function roomFor(roomId: string): Promise<LocalRoom> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(roomId)) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 80))}`);
    const room = await hub.ensure(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
    return room;
  }

  const flash = new FlashSale({ redis, keys, scripts });
  // Payments are confirmed only once Kafka acknowledged them (inventory/payments.ts).
  const payments = new Payments({ redis, keys, scripts, kafka, topic: config.topics.orders });
  await payments.start();
  const catalog = new Catalog(db);
  const ctx: GatewayContext = {
    config,
    log,
    redis,
    db,
    keys,
    scripts,
    auth,
    flash,
    payments,
    catalog,
    store,
    hub,
    metrics,
    fanout,
    audit,
    activity,
    commands: undefined as unknown as Commands,
    route,
    wsMessage<S extends z.ZodType>(type: string, def: WsMessageType<S>) {
      if (st.types.has(type)) throw new Error(`WebSocket message type ${type} registered twice`);
      st.types.set(type, def as unknown as WsMessageType);
    },
    principalOf: (r) => auth.verify(bearer(r.headers.authorization)),
    parseBody(schema, body) {
      const r = schema.safeParse(parseJson(body));
      if (!r.success) throw new LivesaleError('VALIDATION_FAILED', describeIssues(r.error));
      return r.data;
    },
    roomFor,
    async hostRoom(p, roomId) {
      const room = await roomFor(roomId);
      Commands.authorize(p, room.view.doc);
      return room;
    },
    async hostCommand(roomId, build) {
      for (let attempt = 0; ; attempt++) {
        const stored = await store.get(roomId);
        if (!stored) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${roomId}`);
        const { doc, delta } = build(stored.doc);
        try {
          return await store.append(roomId, delta, { doc, baseVersion: stored.version });
        } catch (err) {
          if (err instanceof LivesaleError && err.code === 'CONFLICT' && attempt < 3) continue;
          throw err;
        }
      }
    },
  };
  (ctx as { commands: Commands }).commands = new Commands({ config, log: log.child({ component: 'commands' }), store, hub, audit, activity, metrics, executors: hostExecutors(ctx) });

  // ---- HTTP
  function route(method: 'get' | 'post' | 'put' | 'del', pattern: string, name: string, handler: HttpHandler): void {
    const paramCount = (pattern.match(/:/g) ?? []).length;
    app[method](pattern, (res: HttpResponse, rq) => {
      const state: ResState = { aborted: false };
      res.onAborted(() => (state.aborted = true));
      let head: ReturnType<typeof copyRequest>;
      try {
        head = copyRequest(rq, paramCount);
      } catch {
        metrics.httpRequests.inc({ route: name, status: 400 });
        send(res, state, errorReply(new LivesaleError('BAD_REQUEST', 'the request URL is malformed')));
        return;
      }
      if (st.closing) {
        metrics.httpRequests.inc({ route: name, status: 503 });
        send(res, state, { ...errorReply(new LivesaleError('SHUTTING_DOWN')), headers: { 'retry-after': '1', connection: 'close' } });
        return;
      }
      st.inFlight++;
      (async () => {
        const body = method === 'post' || method === 'put' ? await readBody(res, state, config.maxPayloadBytes) : Buffer.alloc(0);
        return handler({ ...head, body });
      })()
        .catch((err: unknown) => {
          const e = asLivesaleError(err);
          if (e.code === 'INTERNAL') {
            metrics.handlerErrors.inc({ where: name });
            log.error({ err, route: name }, 'request failed');
          }
          return errorReply(e);
        })
        .then((reply) => {
          metrics.httpRequests.inc({ route: name, status: reply.status });
          send(res, state, reply);
        })
        .catch((err: unknown) => log.error({ err, route: name }, 'reply failed'))
        .finally(() => st.inFlight--);
    });
  }

  registerRoutes(ctx);

  app.any('/*', (res) => {
    res.cork(() => res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such endpoint' } })));
  });

  // ---- WebSocket
  const ws = registerWebSocket(app, ctx, st);
  const tokenSweep = setInterval(() => ws.sweepTokens(), 1000);

  // ---- listen
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  log.info({ host: config.host, port }, 'gateway listening');

  let closed: Promise<void> | undefined;
  return {
    port,
    hub,
    auth,
    registry: metrics.registry,
    context: ctx,
    get connections() {
      return st.sockets.size;
    },
    close(opts = {}) {
      closed ??= (async () => {
        st.closing = true;
        uWS.us_listen_socket_close(listenSocket);
        clearInterval(tokenSweep);
        const drainMs = opts.drainMs ?? config.shutdownDrainMs;
        log.info({ sockets: st.sockets.size, inFlight: st.inFlight, drainMs }, 'draining');
        for (const s of st.sockets) {
          // Spread the reconnects of many clients over a few seconds.
          const reconnectInMs = 500 + Math.floor(Math.random() * 4500);
          fanout.send(s, JSON.stringify({ type: 'going_away', reason: 'server shutting down', reconnectInMs }), 'control');
        }
        const deadline = Date.now() + drainMs;
        while (st.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        fanout.close();
        for (const s of [...st.sockets]) {
          try {
            s.end(1001, 'server shutting down');
          } catch {
            /* already closed */
          }
        }
        await hub.close();
        await Promise.all([activity.close(), audit.flush(), payments.stop()]);
        log.info('gateway closed');
      })();
      return closed;
    },
  };
}
