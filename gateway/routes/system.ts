import { LivesaleError } from '../../common/platform/errors.ts';
import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../../common/platform/config.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { authMessage, demoTokenBody, pingMessage } from '../../common/contracts/protocol.ts';
import type { Logger } from '../../common/platform/logger.ts';
import type { Auth } from '../auth.ts';
import type { PipelineHealthReader } from '../pipeline-health.ts';
import { parseBody } from '../http.ts';
import type { Router } from '../router.ts';

export interface SystemRouteDeps {
  config: Pick<Config, 'nodeId' | 'demoAuth'> & Partial<Pick<Config, 'readyPipeline' | 'readyMaxLagSeconds' | 'readyMaxLagEvents'>>;
  redis: Redis | Cluster;
  db: Kysely<Database>;
  registry: Registry;
  auth: Auth;
  log?: Logger;
  pipeline?: PipelineHealthReader;
}

/** A readiness check that takes longer than this counts as down (a load balancer waits for no one). */
const readyCheckMs = 2000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Health, readiness, metrics, demo tokens; ping and token refresh over WebSocket. */
export function registerSystemRoutes(router: Router, deps: SystemRouteDeps): void {
  const { config, redis, db, registry, auth, log, pipeline } = deps;

  router.route('get', '/healthz', 'healthz', 'system.read', async () => ({ status: 200, body: { ok: true, node: config.nodeId } }));

  router.wsMessage('ping', {
    schema: pingMessage,
    action: 'ws.ping',
    handler: async (_ws, msg, reply, call) => {
      call.authorize();
      reply({ type: 'pong', ...(msg.reqId ? { reqId: msg.reqId } : {}), serverTime: Date.now() });
    },
  });

  router.wsMessage('auth', {
    schema: authMessage,
    action: 'ws.auth',
    handler: async (ws, msg, reply, call) => {
      const next = await auth.verify(msg.token);
      call.authorize(next);
      ws.getUserData().principal = next;
      reply({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'auth' });
    },
  });

  // Each dependency answers "up" or "down" by name: the reason (a driver message, often with an
  // internal address) goes to the log, never to whoever asks.
  const checks: Record<string, () => Promise<unknown>> = {
    redis: () => redis.ping(),
    postgres: () => db.selectNoFrom((eb) => eb.lit(1).as('one')).execute(),
  };
  router.route('get', '/readyz', 'readyz', 'system.read', async () => {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((n) => withTimeout(checks[n]!(), readyCheckMs)));
    const body: Record<string, unknown> = { ready: true };
    results.forEach((r, i) => {
      body[names[i]!] = r.status === 'fulfilled' ? 'up' : 'down';
      if (r.status === 'rejected') {
        body.ready = false;
        log?.warn({ dependency: names[i], err: (r.reason as Error)?.message }, 'readiness check failed');
      }
    });
    if (pipeline && config.readyPipeline) {
      // The ledger side: a relay and a writer alive, and the ledger within its bounds.
      const h = await withTimeout(pipeline.get(), readyCheckMs).catch((err) => {
        log?.warn({ err: (err as Error).message }, 'pipeline health not read');
        return undefined;
      });
      body.relay = h && h.relays > 0 ? 'up' : 'down';
      body.writer = h && h.writers > 0 ? 'up' : 'down';
      body.kafka = h && h.kafkaEvents !== undefined ? 'up' : 'down';
      const behind = !h || h.lagSeconds > (config.readyMaxLagSeconds ?? Infinity) || h.lagEvents > (config.readyMaxLagEvents ?? Infinity);
      body.ledger = behind ? 'behind' : 'up';
      if (h) body.lag = { seconds: h.lagSeconds, events: h.lagEvents, outbox: h.outboxEvents, kafka: h.kafkaEvents ?? null };
      if (body.relay === 'down' || body.writer === 'down' || body.kafka === 'down' || behind) body.ready = false;
    }
    return { status: body.ready ? 200 : 503, body };
  });

  router.route('get', '/metrics', 'metrics', 'system.read', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }));

  router.route('post', '/auth/demo', 'auth.demo', 'auth.demo', async (r) => {
    if (!config.demoAuth) throw new LivesaleError('NOT_FOUND', 'demo tokens are disabled (DEMO_AUTH is off)');
    const b = parseBody(demoTokenBody, r.body);
    return { status: 201, body: { token: await auth.issue(b.sub, b.role) } };
  });
}
