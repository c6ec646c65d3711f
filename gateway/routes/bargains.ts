import { LivesaleError } from '../../common/platform/errors.ts';
import { bargainBuyMessage, bargainEmptyBody, bargainHelpMessage, bargainOfferBody, bargainStartMessage } from '../../common/contracts/protocol.ts';
import type { Bargains } from '../../inventory/bargain.ts';
import type { Commands } from '../commands.ts';
import { parseBody } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import type { Call, Router } from '../router.ts';
import { runOfferCommand } from './offer-commands.ts';

/**
 * Bargains (砍价, docs/team-buy-bargain.md) over HTTP: the room's host (or ops) offers a
 * flash-sale item for bargains (the setBargain host command); a shopper starts one, other shoppers help (each once), and the
 * starter buys at the current price within the window (a hold, paid with the pay route). The
 * shopper actions are WebSocket messages too (bargain.start, bargain.help, bargain.buy), with the
 * same answers.
 */
export interface BargainRouteDeps {
  bargains: Bargains;
  commands: Commands;
  hub: RoomHub;
}

export function registerBargainRoutes(router: Router, deps: BargainRouteDeps): void {
  const { bargains, commands, hub } = deps;

  async function flashItemIn(roomId: string, itemId: string): Promise<void> {
    const room = await hub.require(roomId);
    const item = room.view.doc.items[itemId];
    if (!item) throw new LivesaleError('ITEM_NOT_FOUND', `room ${roomId} has no item ${itemId}`);
    if (item.kind !== 'flash') throw new LivesaleError('WRONG_ITEM_KIND', 'bargains apply to flash-sale items');
  }

  const status = (outcome: string, ok: number) =>
    outcome === 'bargain_not_found' ? 404 : ['started', 'helped', 'held'].includes(outcome) ? ok : outcome === 'existing' ? 200 : 409;

  // The setBargain host command (gateway/host-commands.ts) with this route's body and reply.
  router.route('put', '/rooms/:roomId/items/:itemId/bargain', 'items.bargainOffer', 'bargain.configure', async (r, call) => {
    call.authorize();
    const b = parseBody(bargainOfferBody, r.body);
    const result = await runOfferCommand({ commands, hub }, call, r, r.params[0]!, { command: 'setBargain', itemId: r.params[1]!, ...b });
    return { status: 200, body: result.data };
  });

  // One function per action: the HTTP route and the WebSocket message answer alike.
  async function start(call: Call, roomId: string, itemId: string) {
    call.authorize();
    await flashItemIn(roomId, itemId);
    return bargains.start(itemId, call.principal.sub);
  }

  async function help(call: Call, roomId: string, itemId: string, bargainId: string) {
    call.authorize();
    await flashItemIn(roomId, itemId);
    return bargains.help(itemId, bargainId, call.principal.sub);
  }

  async function buy(call: Call, roomId: string, itemId: string, bargainId: string) {
    call.authorize();
    await flashItemIn(roomId, itemId);
    const result = await bargains.buy(itemId, bargainId, call.principal.sub);
    if (result.outcome === 'held') hub.noteStock(roomId, itemId, result.available, result.ver);
    return result;
  }

  router.route('post', '/rooms/:roomId/items/:itemId/bargains', 'items.bargainStart', 'bargain.start', async (r, call) => {
    call.authorize();
    if (r.body.length) parseBody(bargainEmptyBody, r.body);
    const result = await start(call, r.params[0]!, r.params[1]!);
    return { status: status(result.outcome, 201), body: result };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/bargains/:bargainId/help', 'items.bargainHelp', 'bargain.help', async (r, call) => {
    call.authorize();
    if (r.body.length) parseBody(bargainEmptyBody, r.body);
    const result = await help(call, r.params[0]!, r.params[1]!, r.params[2]!);
    return { status: status(result.outcome, 200), body: result };
  });

  router.route('post', '/rooms/:roomId/items/:itemId/bargains/:bargainId/buy', 'items.bargainBuy', 'bargain.buy', async (r, call) => {
    call.authorize();
    if (r.body.length) parseBody(bargainEmptyBody, r.body);
    const result = await buy(call, r.params[0]!, r.params[1]!, r.params[2]!);
    if (result.outcome === 'held') return { status: result.already ? 200 : 201, body: result };
    return { status: status(result.outcome, 201), body: result };
  });

  router.route('get', '/rooms/:roomId/items/:itemId/bargains/:bargainId', 'items.bargain', 'room.read', async (r, call) => {
    call.authorize();
    await flashItemIn(r.params[0]!, r.params[1]!);
    const b = await bargains.bargain(r.params[1]!, r.params[2]!);
    if (!b) throw new LivesaleError('BARGAIN_NOT_FOUND');
    // The purchase's order id stays with the starter.
    const { orderId: _orderId, ...view } = b;
    return { status: 200, body: view };
  });

  const reqIdOf = (msg: { reqId?: string | undefined }) => (msg.reqId ? { reqId: msg.reqId } : {});

  router.wsMessage('bargain.start', {
    schema: bargainStartMessage,
    action: 'bargain.start',
    handler: async (ws, msg, reply, call) => {
      reply({ type: 'bargain.result', ...reqIdOf(msg), command: 'start', result: await start(call, ws.getUserData().roomId, msg.itemId) });
    },
  });

  router.wsMessage('bargain.help', {
    schema: bargainHelpMessage,
    action: 'bargain.help',
    handler: async (ws, msg, reply, call) => {
      reply({ type: 'bargain.result', ...reqIdOf(msg), command: 'help', result: await help(call, ws.getUserData().roomId, msg.itemId, msg.bargainId) });
    },
  });

  router.wsMessage('bargain.buy', {
    schema: bargainBuyMessage,
    action: 'bargain.buy',
    handler: async (ws, msg, reply, call) => {
      reply({ type: 'bargain.result', ...reqIdOf(msg), command: 'buy', result: await buy(call, ws.getUserData().roomId, msg.itemId, msg.bargainId) });
    },
  });
}
