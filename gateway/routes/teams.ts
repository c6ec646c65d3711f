import { LivesaleError } from '../../common/platform/errors.ts';
import type { Logger } from '../../common/platform/logger.ts';
import { teamBuyBody, teamJoinBody, teamJoinMessage, teamOpenMessage } from '../../common/contracts/protocol.ts';
import type { TeamBuy, TeamJoinResult } from '../../inventory/team-buy.ts';
import type { Commands } from '../commands.ts';
import { parseBody } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Call, Router } from '../router.ts';
import { runOfferCommand } from './offer-commands.ts';

/**
 * Team buys (拼团, docs/team-buy-bargain.md) over HTTP: the room's host (or ops) offers a
 * flash-sale item in teams (the setTeamBuy host command); shoppers open a team (its id is the share code) and join one by its
 * id (over HTTP or WebSocket: team.open, team.join); anyone reads a team's progress. A team forms when its last seat is paid (the pay route
 * settles the order's team) and fails, refunding its paid members, when its window ends (the
 * sweeper).
 */
export interface TeamRouteDeps {
  teams: TeamBuy;
  commands: Commands;
  hub: RoomHub;
  log: Logger;
}

export function registerTeamRoutes(router: Router, deps: TeamRouteDeps): void {
  const { teams, commands, hub, log } = deps;

  /** The item must be a flash-sale item of the room. */
  async function flashItemIn(roomId: string, itemId: string): Promise<void> {
    const room = await hub.require(roomId);
    const item = room.view.doc.items[itemId];
    if (!item) throw new LivesaleError('ITEM_NOT_FOUND', `room ${roomId} has no item ${itemId}`);
    if (item.kind !== 'flash') throw new LivesaleError('WRONG_ITEM_KIND', 'team buys apply to flash-sale items');
  }

  const status = (r: TeamJoinResult) => (r.outcome === 'held' ? 201 : r.outcome === 'duplicate' ? 200 : r.outcome === 'team_not_found' ? 404 : 409);

  async function seat(call: Call, roomId: string, itemId: string, teamId: string | undefined, idempotencyKey: string): Promise<TeamJoinResult> {
    call.authorize();
    await flashItemIn(roomId, itemId);
    const r = teamId === undefined ? await teams.open(itemId, call.principal.sub, idempotencyKey) : await teams.join(itemId, teamId, call.principal.sub, idempotencyKey);
    if (r.outcome === 'held') {
      hub.noteStock(roomId, itemId, r.available, r.ver);
      await publishTeam(teams, hub, log, roomId, itemId, r.teamId);
    }
    return r;
  }

  // The setTeamBuy host command (gateway/host-commands.ts) with this route's body and reply.
  router.route('put', '/rooms/:roomId/items/:itemId/team-buy', 'items.teamBuy', 'team.configure', async (r, call) => {
    call.authorize();
    const b = parseBody(teamBuyBody, r.body);
    const result = await runOfferCommand({ commands, hub }, call, r, r.params[0]!, { command: 'setTeamBuy', itemId: r.params[1]!, ...b });
    return { status: 200, body: result.data };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/teams', 'items.teamOpen', 'team.join', async (r, call) => {
    const b = parseBody(teamJoinBody, r.body);
    const result = await seat(call, r.params[0]!, r.params[1]!, undefined, r.headers['idempotency-key'] ?? b.idempotencyKey);
    return { status: status(result), body: result };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/teams/:teamId/join', 'items.teamJoin', 'team.join', async (r, call) => {
    const b = parseBody(teamJoinBody, r.body);
    const result = await seat(call, r.params[0]!, r.params[1]!, r.params[2]!, r.headers['idempotency-key'] ?? b.idempotencyKey);
    return { status: status(result), body: result };
  });

  // Over WebSocket, the socket's room: the same answers as the routes above.
  router.wsMessage('team.open', {
    schema: teamOpenMessage,
    action: 'team.join',
    handler: async (ws, msg, reply, call) => {
      const result = await seat(call, ws.getUserData().roomId, msg.itemId, undefined, msg.idempotencyKey);
      reply({ type: 'team.result', ...(msg.reqId ? { reqId: msg.reqId } : {}), command: 'open', result });
    },
  });

  router.wsMessage('team.join', {
    schema: teamJoinMessage,
    action: 'team.join',
    handler: async (ws, msg, reply, call) => {
      const result = await seat(call, ws.getUserData().roomId, msg.itemId, msg.teamId, msg.idempotencyKey);
      reply({ type: 'team.result', ...(msg.reqId ? { reqId: msg.reqId } : {}), command: 'join', result });
    },
  });

  router.route('get', '/rooms/:roomId/items/:itemId/teams/:teamId', 'items.team', 'room.read', async (r, call) => {
    call.authorize();
    await flashItemIn(r.params[0]!, r.params[1]!);
    const t = await teams.team(r.params[1]!, r.params[2]!);
    if (!t) throw new LivesaleError('TEAM_NOT_FOUND');
    // Members by user and state only: order ids stay with their holders.
    return { status: 200, body: { ...t, members: t.members.map((m) => ({ userId: m.userId, state: m.state })) } };
  });
}

/** The team's progress to its room (state, latest version wins). A failure to publish is logged: the GET route still tells. */
export async function publishTeam(teams: TeamBuy, hub: RoomHub, log: Logger, roomId: string, itemId: string, teamId: string): Promise<void> {
  try {
    const t = await teams.team(itemId, teamId);
    if (t) await hub.publish(roomId, { t: 'team', item: itemId, team: teamId, state: t.state, seats: t.seats, paid: t.paid, size: t.size, ver: t.ver });
  } catch (err) {
    log.warn({ err: (err as Error).message, roomId, itemId, teamId }, 'team progress publish given up');
  }
}
