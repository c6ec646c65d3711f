import type { Cluster, Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp } from 'uWebSockets.js';
import type { z } from 'zod';
import type { Config } from '../common/platform/config.ts';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import type { Logger } from '../common/platform/logger.ts';
import { createKafka } from '../common/platform/kafka.ts';
import { createPipelineHealth } from './pipeline-health.ts';
import type { Keys } from '../common/contracts/keys.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { FlashSale } from '../inventory/flash-sale.ts';
import { Promotions } from '../inventory/promotions.ts';
import { Reminders } from './reminders.ts';
import { GroupBuy } from '../inventory/group-buy.ts';
import { TeamBuy } from '../inventory/team-buy.ts';
import { Bargains } from '../inventory/bargain.ts';
import { Payments } from '../inventory/payments.ts';
import { inventoryScripts } from '../inventory/scripts.ts';
import { Catalog } from '../orders/catalog.ts';
import { Lotteries } from '../orders/lottery.ts';
import { ActivityPublisher } from './activity.ts';
import { AuditDrainer, AuditLog } from './audit.ts';
import { Auth, bearer } from './auth.ts';
import { Commands } from './commands.ts';
import { Fanout } from './fanout.ts';
import { hostCommands } from './host-commands.ts';
import { HttpLimits } from './http-limits.ts';
import { abort, copyRequest, errorReply, readBody, requireJsonBody, requireWellFormedPath, send, type ResState } from './http.ts';
import { createMetrics } from './metrics.ts';
import { isPublic, type Action } from './policy.ts';
import { Presence } from './presence.ts';
import { RoomHub } from './room-hub.ts';
import { RoomStore } from './room-store.ts';
import { RunOfShowPush } from './run-of-show.ts';
import { callOf, requireAuthorized, type HttpHandler, type HttpMethod, type Router, type WsMessageType } from './router.ts';
import { registerRoutes, type GatewayServices } from './routes/index.ts';
import { registerWebSocket, type WsState } from './ws.ts';
import { assertNativeUws } from './uws-native.ts';

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
  /** The services the gateway is composed of (tests and tools reach in through them). */
  readonly context: GatewayServices;
  /** Open WebSocket connections on this node. */
  readonly connections: number;
  /** HTTP requests and WebSocket messages being handled now (shutdown waits for them). */
  readonly inFlight: number;
  /**
   * Graceful: stop accepting, tell sockets when to reconnect (jittered), finish in-flight
   * requests, close sockets, flush activity events, stop the audit drainer (what it leaves stays in
   * the audit outboxes for the next one).
   */
  close(opts?: { drainMs?: number }): Promise<{ drained: boolean }>;
}

/** Starts the HTTP and WebSocket gateway. */
export async function startGateway(deps: GatewayDeps): Promise<Gateway> {
  assertNativeUws();
  const { config, redis, db, keys } = deps;
  const log = deps.log.child({ component: 'gateway' });
  const app: TemplatedApp = uWS.App();
  const st: WsState = { sockets: new Set(), types: new Map(), closing: false, inFlight: 0 };

  // Built in dependency order; each route module gets only what it uses (routes/index.ts).
  const auth = new Auth(config.jwtSecret);
  const scripts = inventoryScripts(redis);
  const metrics = createMetrics();
  const store = new RoomStore({ redis, keys });
  const kafka = deps.kafka ?? createKafka(config, log, 'gateway');
  const activity = new ActivityPublisher({ kafka, topic: config.topics.activity, log: log.child({ component: 'activity' }), metrics });
  const audit = new AuditLog({ db, store });
  // Every node drains the rooms' audit outboxes into Postgres (one consumer group: they share the work).
  const auditDrainer = new AuditDrainer({ redis, keys, db, log: log.child({ component: 'audit' }), consumer: config.nodeId, counter: metrics.auditRecords });
  auditDrainer.start();

  // The fan-out and the hub call each other back: resyncs need the hub's snapshot, the hub's
  // deltas go to the fan-out. Neither calls the other while being built.
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
  const reminders = new Reminders({ redis, keys, store, fanout, nodeId: config.nodeId, log: log.child({ component: 'reminders' }) });
  const hub: RoomHub = new RoomHub({
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
    // A reminder goes to the shoppers of its audience connected here (gateway/reminders.ts).
    ephemeral: (roomId, kind, raw) => {
      if (kind === 'remind') return reminders.onPublished(roomId, raw);
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

  const flash = new FlashSale({ redis, keys, scripts });
  const promotions = new Promotions({ redis, keys, scripts });
  const groups = new GroupBuy({ redis, keys, scripts });
  const teams = new TeamBuy({ redis, keys, scripts });
  const bargains = new Bargains({ redis, keys, scripts });
  // Payments are confirmed only once Kafka acknowledged them (inventory/payments.ts).
  const payments = new Payments({ redis, keys, scripts, kafka, topic: config.topics.orders });
  await payments.start();
  const catalog = new Catalog(db);
  const runOfShow = new RunOfShowPush({ db, store, fanout, log: log.child({ component: 'run-of-show' }), pushMs: config.runOfShowPushMs });
  runOfShow.start();
  const lotteries = new Lotteries(db);
  const presence = new Presence();
  const commands = new Commands({
    config,
    log: log.child({ component: 'commands' }),
    store,
    hub,
    metrics,
    commands: hostCommands({ config, db, catalog, flash, groups, hub, activity, runOfShow, lotteries, teams, bargains, promotions, reminders }),
  });
  const pipeline = createPipelineHealth({ redis, keys, kafka, config, registry: metrics.registry, log: log.child({ component: 'pipeline-health' }) });
  const services: GatewayServices = { config, log, redis, db, auth, scripts, metrics, store, activity, audit, auditDrainer, fanout, hub, flash, groups, teams, bargains, keys, promotions, payments, catalog, runOfShow, commands, lotteries, presence, pipeline };

  // ---- HTTP
  const limits = new HttpLimits(config);
  /** A write over its rate: counted, then refused with 429 RATE_LIMITED and Retry-After. */
  const limited = (scope: string) => (err: unknown) => {
    if (err instanceof LivesaleError && err.code === 'RATE_LIMITED') metrics.rateLimited.inc({ scope });
    throw err;
  };
  /**
   * Every route: the caller of a non-public action is authenticated before the handler runs
   * (UNAUTHENTICATED otherwise), and the handler must have authorized before it answers. Every
   * write (POST, PUT, DELETE) is rate-limited per client address before its body is read, and
   * per user once authenticated.
   */
  function route<A extends Action>(method: HttpMethod, pattern: string, name: string, action: A, handler: HttpHandler<A>): void {
    const paramCount = (pattern.match(/:/g) ?? []).length;
    const serve = (res: HttpResponse, rq: HttpRequest, isHead: boolean) => {
      const state: ResState = { aborted: false, head: isHead };
      res.onAborted(() => abort(state));
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
      const write = method !== 'get';
      // Read now: uWS allows no access to the response's socket after the first await.
      const address = write ? Buffer.from(res.getRemoteAddressAsText()).toString('utf8') : '';
      st.inFlight++;
      (async () => {
        if (write) await limits.address(address).catch(limited('http_address'));
        let body: Buffer = Buffer.alloc(0);
        if (method === 'post' || method === 'put') {
          // Refused before a byte of the body is read: a JSON body sent as text/plain (a
          // cross-site form can send that without a preflight) is never processed.
          requireJsonBody(head.headers);
          body = await readBody(res, state, config.maxPayloadBytes);
        }
        const principal = isPublic(action) ? undefined : await auth.verify(bearer(head.headers.authorization));
        if (write && principal) await limits.user(principal.role, principal.sub).catch(limited('http_user'));
        const call = callOf(action, principal);
        const reply = await handler({ ...head, body }, call);
        requireAuthorized(call, `route ${name}`);
        return reply;
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
    };
    app[method](pattern, (res: HttpResponse, rq: HttpRequest) => serve(res, rq, false));
    // uWS routes HEAD apart from GET: without this, HEAD fell through to the 404 route.
    if (method === 'get') app.head(pattern, (res: HttpResponse, rq: HttpRequest) => serve(res, rq, true));
  }

  const router: Router = {
    route,
    wsMessage<S extends z.ZodType, A extends Action>(type: string, def: WsMessageType<S, A>) {
      if (st.types.has(type)) throw new Error(`WebSocket message type ${type} registered twice`);
      st.types.set(type, def as unknown as WsMessageType);
    },
  };
  registerRoutes(router, services);

  app.any('/*', (res, rq) => {
    const state: ResState = { aborted: false, head: rq.getMethod() === 'head' };
    res.onAborted(() => abort(state));
    let reply = errorReply(new LivesaleError('NOT_FOUND', 'no such endpoint'));
    try {
      requireWellFormedPath(rq.getUrl());
    } catch (err) {
      reply = errorReply(err);
    }
    send(res, state, reply);
  });

  // ---- WebSocket
  const ws = registerWebSocket(app, { config, log, auth, hub, store, fanout, metrics, activity, presence }, st);
  const tokenSweep = setInterval(() => ws.sweepTokens(), 1000);

  // ---- listen
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  log.info({ host: config.host, port }, 'gateway listening');

  let closed: Promise<{ drained: boolean }> | undefined;
  return {
    port,
    hub,
    auth,
    registry: metrics.registry,
    context: services,
    get connections() {
      return st.sockets.size;
    },
    get inFlight() {
      return st.inFlight;
    },
    close(opts = {}) {
      closed ??= (async () => {
        st.closing = true;
        uWS.us_listen_socket_close(listenSocket);
        clearInterval(tokenSweep);
        runOfShow.close();
        const drainMs = opts.drainMs ?? config.shutdownDrainMs;
        log.info({ sockets: st.sockets.size, inFlight: st.inFlight, drainMs }, 'draining');
        for (const s of st.sockets) {
          // Spread the reconnects of many clients over a few seconds.
          const reconnectInMs = 500 + Math.floor(Math.random() * 4500);
          fanout.send(s, JSON.stringify({ type: 'going_away', reason: 'server shutting down', reconnectInMs }), 'control');
        }
        const deadline = Date.now() + drainMs;
        while (st.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        // drained: every request settled before the drain time ran out (none was left waiting).
        const drained = st.inFlight === 0;
        if (!drained) log.warn({ inFlight: st.inFlight, drainMs }, 'drain time ran out with requests in flight');
        fanout.close();
        for (const s of [...st.sockets]) {
          try {
            s.end(1001, 'server shutting down');
          } catch {
            /* already closed */
          }
        }
        await hub.close();
        await Promise.all([activity.close(), auditDrainer.stop(), payments.stop(), pipeline.close()]);
        log.info({ drained }, 'gateway closed');
        return { drained };
      })();
      return closed;
    },
  };
}
