import { LivesaleError } from '../../common/platform/errors.ts';
import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Config } from '../../common/platform/config.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { authMessage, demoTokenBody, pingMessage } from '../../common/contracts/protocol.ts';
import type { Auth } from '../auth.ts';
import { parseBody } from '../http.ts';
import type { Router } from '../router.ts';

export interface SystemRouteDeps {
  config: Pick<Config, 'nodeId' | 'demoAuth'>;
  redis: Redis | Cluster;
  db: Kysely<Database>;
  registry: Registry;
  auth: Auth;
}

/** Health, readiness, metrics, demo tokens; ping and token refresh over WebSocket. */
export function registerSystemRoutes(router: Router, deps: SystemRouteDeps): void {
  const { config, redis, db, registry, auth } = deps;

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

  router.route('get', '/readyz', 'readyz', 'system.read', async () => {
    try {
      await redis.ping();
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      return { status: 200, body: { ready: true } };
    } catch (err) {
      return { status: 503, body: { ready: false, error: (err as Error).message } };
    }
  });

  router.route('get', '/metrics', 'metrics', 'system.read', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }));

  router.route('post', '/auth/demo', 'auth.demo', 'auth.demo', async (r) => {
    if (!config.demoAuth) throw new LivesaleError('NOT_FOUND', 'demo tokens are disabled (DEMO_AUTH is off)');
    const b = parseBody(demoTokenBody, r.body);
    return { status: 201, body: { token: await auth.issue(b.sub, b.role) } };
  });
}
