import { LivesaleError } from '../../common/platform/errors.ts';
import type { Logger } from '../../common/platform/logger.ts';
import { lotteryEnterBody, lotteryEnterMessage, type LotteryEntryResult } from '../../common/contracts/protocol.ts';
import type { Lotteries } from '../../orders/lottery.ts';
import { parseBody } from '../http.ts';
import type { Presence } from '../presence.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Call, Router } from '../router.ts';

/**
 * Lotteries (docs/lottery.md): entries by shoppers over HTTP and WebSocket (once per user; the
 * entrant count goes to the room coalesced, at most once per tick), and the public reads that
 * make a draw verifiable. Creation and the draw are host commands (gateway/host-commands.ts).
 */
export interface LotteryRouteDeps {
  lotteries: Lotteries;
  presence: Presence;
  hub: RoomHub;
  log: Logger;
  /** How often entrant counts are published (at most). */
  stockTickMs: number;
}

export function registerLotteryRoutes(router: Router, deps: LotteryRouteDeps): void {
  const { lotteries, presence, hub, log, stockTickMs } = deps;

  // Entrant counts per lottery, the highest wins, published once per tick.
  const pending = new Map<string, { roomId: string; entrants: number }>();
  let timer: NodeJS.Timeout | undefined;
  const noteEntrants = (roomId: string, lotteryId: string, entrants: number) => {
    const cur = pending.get(lotteryId);
    if (!cur || entrants > cur.entrants) pending.set(lotteryId, { roomId, entrants });
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      const batch = [...pending.entries()];
      pending.clear();
      for (const [lottery, p] of batch) {
        hub.publish(p.roomId, { t: 'lotteryEntries', lottery, entrants: p.entrants }).catch((err: unknown) => log.warn({ err: (err as Error).message, roomId: p.roomId, lottery }, 'lottery entrants publish given up'));
      }
    }, stockTickMs);
    timer.unref?.();
  };

  async function enter(call: Call, lotteryId: string, via: 'http' | 'ws', socketRoom?: string): Promise<LotteryEntryResult> {
    call.authorize();
    const userId = call.principal.sub;
    const row = await lotteries.require(lotteryId, socketRoom);
    const connectedSince = presence.since(row.room_id, userId);
    const r = await lotteries.enter(row.id, userId, via, { roomId: row.room_id, presence: connectedSince === undefined ? {} : { connectedSince } });
    if (r.outcome === 'entered') noteEntrants(row.room_id, row.id, r.entrants);
    return r;
  }

  router.route('post', '/lotteries/:lotteryId/enter', 'lotteries.enter', 'lottery.enter', async (r, call) => {
    if (r.body.length) parseBody(lotteryEnterBody, r.body);
    const result = await enter(call, r.params[0]!, 'http');
    return { status: result.outcome === 'entered' ? 201 : 200, body: result };
  });

  router.route('get', '/lotteries/:lotteryId', 'lotteries.get', 'lottery.read', async (r, call) => {
    call.authorize();
    const row = await lotteries.require(r.params[0]!);
    return { status: 200, body: await lotteries.publicView(row, true) };
  });

  router.route('get', '/shows/:showId/lotteries', 'shows.lotteries', 'lottery.read', async (r, call) => {
    call.authorize();
    const showId = r.params[0]!;
    if (!(await lotteries.showExists(showId))) throw new LivesaleError('SHOW_NOT_FOUND', `no show ${JSON.stringify(showId.slice(0, 40))}`);
    const rows = await lotteries.ofShow(showId);
    return { status: 200, body: { showId, lotteries: await Promise.all(rows.map((x) => lotteries.publicView(x, false))) } };
  });

  router.wsMessage('lottery.enter', {
    schema: lotteryEnterMessage,
    action: 'lottery.enter',
    handler: async (ws, msg, reply, call) => {
      const ud = ws.getUserData();
      const result = await enter(call, msg.lotteryId, 'ws', ud.roomId);
      reply({ type: 'lottery.result', ...(msg.reqId ? { reqId: msg.reqId } : {}), result });
    },
  });
}
