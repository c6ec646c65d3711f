import type { Kysely } from 'kysely';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import { dictionaryEntries } from '../../orders/metrics.ts';
import { roomStats } from '../../orders/stats.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Router } from '../router.ts';

/** Ops figures: a room's live figures and the metric dictionary. */
export function registerStatsRoutes(router: Router, deps: { db: Kysely<Database>; hub: RoomHub }): void {
  const { db, hub } = deps;

  router.route('get', '/rooms/:roomId/stats', 'rooms.stats', 'room.stats.read', async (r, call) => {
    const room = await hub.require(r.params[0]!);
    call.authorize(room.view.doc);
    const stats = await roomStats(db, room.id);
    return { status: 200, body: { ...stats, online: await hub.online(room.id) } };
  });

  // Every metric's name, unit, definition, version and scopes (orders/metrics.ts).
  router.route('get', '/stats/dictionary', 'stats.dictionary', 'stats.dictionary.read', async () => ({ status: 200, body: { metrics: dictionaryEntries() } }));
}
