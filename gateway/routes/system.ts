import { LivesaleError } from '../../common/platform/errors.ts';
import type { GatewayContext } from '../context.ts';
import { authMessage, demoTokenBody, pingMessage } from '../../common/contracts/protocol.ts';

/** Health, readiness, metrics, demo tokens; ping and token refresh over WebSocket. */
export function registerSystemRoutes(ctx: GatewayContext): void {
  const { config, redis, db, metrics, auth } = ctx;

  ctx.route('get', '/healthz', 'healthz', async () => ({ status: 200, body: { ok: true, node: config.nodeId } }));

  ctx.wsMessage('ping', {
    schema: pingMessage,
    handler: async (_ws, msg, reply) => reply({ type: 'pong', ...(msg.reqId ? { reqId: msg.reqId } : {}), serverTime: Date.now() }),
  });

  ctx.wsMessage('auth', {
    schema: authMessage,
    handler: async (ws, msg, reply) => {
      const ud = ws.getUserData();
      const next = await auth.verify(msg.token);
      if (next.sub !== ud.principal.sub || next.role !== ud.principal.role) {
        throw new LivesaleError('FORBIDDEN', 'a refreshed token must be for the same user and role');
      }
      ud.principal = next;
      reply({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'auth' });
    },
  });

  ctx.route('get', '/readyz', 'readyz', async () => {
    try {
      await redis.ping();
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
      return { status: 200, body: { ready: true } };
    } catch (err) {
      return { status: 503, body: { ready: false, error: (err as Error).message } };
    }
  });

  ctx.route('get', '/metrics', 'metrics', async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }));

  ctx.route('post', '/auth/demo', 'auth.demo', async (r) => {
    if (!config.demoAuth) throw new LivesaleError('NOT_FOUND', 'demo tokens are disabled (DEMO_AUTH is off)');
    const b = ctx.parseBody(demoTokenBody, r.body);
    return { status: 201, body: { token: await auth.issue(b.sub, b.role) } };
  });
}
