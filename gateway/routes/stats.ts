import { LivesaleError } from '../../common/platform/errors.ts';
import { dictionaryEntries } from '../../orders/metrics.ts';
import { roomStats } from '../../orders/stats.ts';
import type { GatewayContext } from '../context.ts';

/** Ops figures: a room's live figures and the metric dictionary. */
export function registerStatsRoutes(ctx: GatewayContext): void {
  ctx.route('get', '/rooms/:roomId/stats', 'rooms.stats', async (r) => {
    const p = await ctx.principalOf(r);
    const room = await ctx.roomFor(r.params[0]!);
    if (p.role === 'shopper' || (p.role === 'host' && room.view.doc.hostId !== p.sub)) {
      throw new LivesaleError('FORBIDDEN', 'stats are for ops and the room host');
    }
    const stats = await roomStats(ctx.db, room.id);
    return { status: 200, body: { ...stats, online: await ctx.hub.online(room.id) } };
  });

  // Every metric's name, unit, definition, version and scopes (orders/metrics.ts).
  ctx.route('get', '/stats/dictionary', 'stats.dictionary', async () => ({ status: 200, body: { metrics: dictionaryEntries() } }));
}
