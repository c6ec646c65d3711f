import type { GatewayContext } from '../context.ts';
import { registerOrderRoutes } from './orders.ts';
import { registerRoomRoutes } from './rooms.ts';
import { registerShowRoutes } from './shows.ts';
import { registerStatsRoutes } from './stats.ts';
import { registerSystemRoutes } from './system.ts';
import { registerWebRoutes } from './web.ts';

/**
 * Every route module, in registration order. The server registers them on its context; the
 * protocol documentation (scripts/protocol-docs.ts) registers them on a recording context to
 * list every HTTP endpoint and WebSocket message. A new route module adds one line here.
 */
export function registerRoutes(ctx: GatewayContext): void {
  registerSystemRoutes(ctx);
  registerRoomRoutes(ctx);
  registerOrderRoutes(ctx);
  registerStatsRoutes(ctx);
  registerShowRoutes(ctx);
  registerWebRoutes(ctx);
}
