import { LivesaleError } from '../../common/platform/errors.ts';
import { requireRole } from '../auth.ts';
import type { GatewayContext } from '../context.ts';
import type { Req } from '../http.ts';
import { bootId } from '../ws.ts';
import {
  commandBody,
  commandMessage,
  createItemBody,
  createRoomBody,
  followMessage,
  idempotencyKey,
  onAirBody,
  productClickMessage,
  type Command,
  type RoomDoc,
} from '../../common/contracts/protocol.ts';

/** The command envelope of a convenience endpoint: from the body, or the Idempotency-Key and If-Match headers. */
function envelope(r: Req, b: { idempotencyKey?: string | undefined; baseVersion?: number | undefined }): { idempotencyKey: string; baseVersion: number } {
  const key = b.idempotencyKey ?? r.headers['idempotency-key'];
  const ifMatch = r.headers['if-match']?.replace(/^W\//, '').replace(/"/g, '');
  const version = b.baseVersion ?? (ifMatch !== undefined && /^\d{1,9}$/.test(ifMatch) ? Number(ifMatch) : undefined);
  const problems: string[] = [];
  if (key === undefined || !idempotencyKey.safeParse(key).success) problems.push('idempotencyKey: 1 to 128 printable ASCII characters are required (body or Idempotency-Key header)');
  if (version === undefined) problems.push('baseVersion: the room version the command is based on is required (body or If-Match header)');
  if (problems.length) throw new LivesaleError('VALIDATION_FAILED', problems.join('; '));
  return { idempotencyKey: key!, baseVersion: version! };
}

/** Rooms, host console commands, and what viewers do in a room. */
export function registerRoomRoutes(ctx: GatewayContext): void {
  const { catalog, store, hub, commands, audit, activity, config } = ctx;
  let eventSeq = 0;

  ctx.route('post', '/rooms', 'rooms.create', async (r) => {
    const p = await ctx.principalOf(r);
    requireRole(p, 'host');
    const b = ctx.parseBody(createRoomBody, r.body);
    const row = await catalog.createRoom(b.title, p.sub);
    const doc: RoomDoc = { id: row.id, title: row.title, hostId: row.hostId, listing: [], onAir: null, items: {}, announcements: [] };
    await store.init(doc);
    return { status: 201, body: { room: doc, version: 1 } };
  });

  ctx.route('get', '/rooms/:roomId', 'rooms.get', async (r) => {
    const room = await ctx.roomFor(r.params[0]!);
    return { status: 200, body: hub.snapshot(room), headers: { etag: `"${room.view.version}"` } };
  });

  const reply = (status: number, result: Awaited<ReturnType<typeof commands.run>>) => ({
    status: result.duplicate ? 200 : status,
    body: result,
    headers: { etag: `"${result.version}"` },
  });

  ctx.route('post', '/rooms/:roomId/commands', 'rooms.command', async (r) => {
    const p = await ctx.principalOf(r);
    const cmd = ctx.parseBody(commandBody, r.body);
    return reply(200, await commands.run(p, r.params[0]!, cmd, 'http'));
  });

  ctx.route('post', '/rooms/:roomId/items', 'items.create', async (r) => {
    const p = await ctx.principalOf(r);
    const parsed = ctx.parseBody(createItemBody, r.body);
    const { idempotencyKey: _k, baseVersion: _v, ...b } = parsed;
    const cmd: Command = { command: 'addItem', ...envelope(r, parsed), ...b };
    const result = await commands.run(p, r.params[0]!, cmd, 'http');
    return reply(201, { ...result, ...result.data });
  });

  ctx.route('post', '/rooms/:roomId/on-air', 'rooms.onAir', async (r) => {
    const p = await ctx.principalOf(r);
    const b = ctx.parseBody(onAirBody, r.body);
    const result = await commands.run(p, r.params[0]!, { command: 'onAir', itemId: b.itemId, ...envelope(r, b) }, 'http');
    return reply(200, { ...result, data: { onAir: b.itemId } });
  });

  ctx.route('get', '/rooms/:roomId/audit', 'rooms.audit', async (r) => {
    const p = await ctx.principalOf(r);
    const room = await ctx.hostRoom(p, r.params[0]!);
    const limit = Math.min(1000, Math.max(1, Number(r.query.get('limit') ?? 100) || 100));
    return { status: 200, body: { roomId: room.id, entries: await audit.entries(room.id, limit) } };
  });

  ctx.wsMessage('command', {
    schema: commandMessage,
    // Who may run which command is decided (and audited) by the command pipeline.
    handler: async (ws, msg, send) => {
      const { type: _t, reqId, ...cmd } = msg as typeof msg & { reqId?: string };
      const result = await commands.run(ws.getUserData().principal, ws.getUserData().roomId, cmd as Command, 'ws');
      send({ type: 'command.result', ...(reqId ? { reqId } : {}), result });
    },
  });

  ctx.wsMessage('product.click', {
    schema: productClickMessage,
    roles: ['shopper'],
    handler: async (ws, msg, send) => {
      const ud = ws.getUserData();
      const room = hub.loaded(ud.roomId);
      if (!room?.view.doc.items[msg.itemId]) throw new LivesaleError('ITEM_NOT_FOUND', `room ${ud.roomId} has no item ${msg.itemId}`);
      activity.publish({ type: 'product.clicked', id: `click:${config.nodeId}:${bootId}:${ud.conn}:${++eventSeq}`, room: ud.roomId, at: Date.now(), user: ud.principal.sub, item: msg.itemId });
      send({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'product.click' });
    },
  });

  ctx.wsMessage('follow', {
    schema: followMessage,
    roles: ['shopper'],
    handler: async (ws, msg, send) => {
      const ud = ws.getUserData();
      // One follow per user and room: the id makes a repeat harmless.
      activity.publish({ type: 'room.followed', id: `follow:${ud.roomId}:${ud.principal.sub}`, room: ud.roomId, at: Date.now(), user: ud.principal.sub });
      send({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'follow' });
    },
  });
}
