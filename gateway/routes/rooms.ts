import { createHash } from 'node:crypto';
import type { Config } from '../../common/platform/config.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import { faultAt } from '../../common/platform/faults.ts';
import type { Catalog } from '../../orders/catalog.ts';
import type { ActivityPublisher } from '../activity.ts';
import type { AuditLog } from '../audit.ts';
import type { Commands } from '../commands.ts';
import { parseBody, type Req } from '../http.ts';
import type { RoomHub } from '../room-hub.ts';
import type { RoomStore } from '../room-store.ts';
import type { Router } from '../router.ts';
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

export interface RoomRouteDeps {
  nodeId: string;
  config: Pick<Config, 'faultPoint'>;
  catalog: Catalog;
  store: RoomStore;
  hub: RoomHub;
  commands: Commands;
  audit: AuditLog;
  activity: ActivityPublisher;
}

/** Rooms, host console commands, and what viewers do in a room. */
export function registerRoomRoutes(router: Router, deps: RoomRouteDeps): void {
  const { nodeId, config, catalog, store, hub, commands, audit, activity } = deps;
  let eventSeq = 0;

  // With an idempotency key (body or Idempotency-Key header) the room is made once: the catalog
  // row and its key in one transaction, then the document (made once too); a retry after a crash
  // between them resumes, and a repeat answers 200 with the room as it is now.
  router.route('post', '/rooms', 'rooms.create', 'room.create', async (r, call) => {
    call.authorize();
    const b = parseBody(createRoomBody, r.body);
    const key = b.idempotencyKey ?? r.headers['idempotency-key'];
    if (key !== undefined && !idempotencyKey.safeParse(key).success) throw new LivesaleError('VALIDATION_FAILED', 'idempotencyKey: 1 to 128 printable ASCII characters');
    const p = call.principal;
    const { row, existed } =
      key === undefined
        ? { row: await catalog.createRoom(b.title, p.sub), existed: false }
        : await catalog.createRoomOnce(
            { principal: `${p.role}:${p.sub}`, roomId: '', key, op: 'createRoom', fingerprint: createHash('sha256').update(JSON.stringify({ title: b.title })).digest('base64url').slice(0, 22) },
            b.title,
            p.sub,
          );
    faultAt(config, 'createRoom.catalog');
    const doc: RoomDoc = { id: row.id, title: row.title, hostId: row.hostId, listing: [], onAir: null, items: {}, announcements: [] };
    await store.init(doc);
    faultAt(config, 'createRoom.room');
    if (!existed) return { status: 201, body: { room: doc, version: 1, duplicate: false } };
    const now = await store.get(row.id);
    if (!now) throw new LivesaleError('INTERNAL', `room ${row.id} has no document after its creation`);
    return { status: 200, body: { room: now.doc, version: now.version, duplicate: true } };
  });

  router.route('get', '/rooms/:roomId', 'rooms.get', 'room.read', async (r) => {
    const room = await hub.require(r.params[0]!);
    return { status: 200, body: hub.snapshot(room), headers: { etag: `"${room.view.version}"` } };
  });

  const reply = (status: number, result: Awaited<ReturnType<typeof commands.run>>) => ({
    status: result.duplicate ? 200 : status,
    body: result,
    headers: { etag: `"${result.version}"` },
  });

  // The command pipeline authorizes (and counts a refusal) once it has the room.
  router.route('post', '/rooms/:roomId/commands', 'rooms.command', 'room.command', async (r, call) => {
    const cmd = parseBody(commandBody, r.body);
    return reply(200, await commands.run(call, r.params[0]!, cmd, 'http'));
  });

  router.route('post', '/rooms/:roomId/items', 'items.create', 'room.command', async (r, call) => {
    const parsed = parseBody(createItemBody, r.body);
    const { idempotencyKey: _k, baseVersion: _v, ...b } = parsed;
    const cmd: Command = { command: 'addItem', ...envelope(r, parsed), ...b };
    const result = await commands.run(call, r.params[0]!, cmd, 'http');
    return reply(201, { ...result, ...result.data });
  });

  router.route('post', '/rooms/:roomId/on-air', 'rooms.onAir', 'room.command', async (r, call) => {
    const b = parseBody(onAirBody, r.body);
    const result = await commands.run(call, r.params[0]!, { command: 'onAir', itemId: b.itemId, ...envelope(r, b) }, 'http');
    return reply(200, { ...result, data: { onAir: b.itemId } });
  });

  router.route('get', '/rooms/:roomId/audit', 'rooms.audit', 'room.audit.read', async (r, call) => {
    const room = await hub.require(r.params[0]!);
    call.authorize(room.view.doc);
    const limit = Math.min(1000, Math.max(1, Number(r.query.get('limit') ?? 100) || 100));
    const [entries, refusals] = await Promise.all([audit.entries(room.id, limit), audit.refusals(room.id)]);
    return { status: 200, body: { roomId: room.id, entries, refusals } };
  });

  router.wsMessage('command', {
    schema: commandMessage,
    action: 'room.command',
    handler: async (ws, msg, send, call) => {
      const { type: _t, reqId, ...cmd } = msg as typeof msg & { reqId?: string };
      const result = await commands.run(call, ws.getUserData().roomId, cmd as Command, 'ws');
      send({ type: 'command.result', ...(reqId ? { reqId } : {}), result });
    },
  });

  router.wsMessage('product.click', {
    schema: productClickMessage,
    action: 'ws.product.click',
    handler: async (ws, msg, send, call) => {
      call.authorize();
      const ud = ws.getUserData();
      const room = hub.loaded(ud.roomId);
      if (!room?.view.doc.items[msg.itemId]) throw new LivesaleError('ITEM_NOT_FOUND', `room ${ud.roomId} has no item ${msg.itemId}`);
      activity.publish({ type: 'product.clicked', id: `click:${nodeId}:${bootId}:${ud.conn}:${++eventSeq}`, room: ud.roomId, at: Date.now(), user: ud.principal.sub, item: msg.itemId });
      send({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'product.click' });
    },
  });

  router.wsMessage('follow', {
    schema: followMessage,
    action: 'ws.follow',
    handler: async (ws, msg, send, call) => {
      call.authorize();
      const ud = ws.getUserData();
      // One follow per user and room: the id makes a repeat harmless.
      activity.publish({ type: 'room.followed', id: `follow:${ud.roomId}:${ud.principal.sub}`, room: ud.roomId, at: Date.now(), user: ud.principal.sub });
      send({ type: 'ack', ...(msg.reqId ? { reqId: msg.reqId } : {}), of: 'follow' });
    },
  });
}
