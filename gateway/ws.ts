import { randomBytes } from 'node:crypto';
import uWS, { type HttpResponse, type TemplatedApp } from 'uWebSockets.js';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import type { Config } from '../common/platform/config.ts';
import type { Logger } from '../common/platform/logger.ts';
import { describeIssues } from '../common/contracts/protocol.ts';
import type { ActivityPublisher } from './activity.ts';
import { bearer, type Auth, type Principal } from './auth.ts';
import type { Fanout } from './fanout.ts';
import type { Presence } from './presence.ts';
import { abort, errorReply, send, type ResState } from './http.ts';
import { KeyedBuckets, newBucket, take } from './limits.ts';
import type { GatewayMetrics } from './metrics.ts';
import { allows, authorize } from './policy.ts';
import { deltaFrame, type LocalRoom, type RoomHub } from './room-hub.ts';
import type { RoomStore } from './room-store.ts';
import { callOf, requireAuthorized, type WsMessageType } from './router.ts';
import type { SocketData, Ws } from './socket-data.ts';

/** The largest frame uWS accepts at all: 1 MiB, or twice the message limit if that is larger. */
export function hardFrameBytes(maxPayloadBytes: number): number {
  return Math.max(1024 * 1024, maxPayloadBytes * 2);
}

/**
 * Why uWS closed a connection itself (it gives the handler code 1006 and one of these reasons,
 * and sends the client no close frame): counted so that the drops are visible.
 */
function transportCloseReason(code: number, reason: string): string | undefined {
  if (code !== 1006) return undefined;
  if (/too big/i.test(reason)) return 'oversized_hard';
  if (/utf-?8/i.test(reason)) return 'invalid_utf8';
  return undefined;
}

export interface WsState {
  readonly sockets: Set<Ws>;
  readonly types: Map<string, WsMessageType>;
  closing: boolean;
  inFlight: number;
}

/** The id of this process's run: with a connection number, it names a visit uniquely. */
export const bootId = randomBytes(4).toString('hex');

const userKey = (ud: SocketData) => `${ud.principal.role}:${ud.principal.sub}`;

/** Frames that bring a reconnecting client up to date without a snapshot, or undefined. */
function resumeFrames(room: LocalRoom, ud: SocketData): string[] | undefined {
  const r = ud.resume;
  const v = room.view;
  if (!r || r.epoch !== v.epoch || r.offset > v.offset) return undefined;
  const out: string[] = [];
  let next = r.offset + 1;
  for (const raw of ud.backfill ?? []) {
    if (next > v.offset) break;
    out.push(deltaFrame(raw));
    next++;
  }
  for (const e of room.ring) {
    if (e.o < next) continue;
    if (e.o !== next) return undefined;
    out.push(deltaFrame(e.raw));
    next++;
  }
  if (next !== v.offset + 1) return undefined;
  return [JSON.stringify({ type: 'resumed', epoch: v.epoch, offset: r.offset, replayed: out.length }), ...out];
}

/**
 * The WebSocket endpoint `/rooms/:roomId/ws`: admission, authentication at upgrade, snapshot or
 * resume on open, rate limits and schema validation of every message, viewer counting and
 * activity events, token expiry. No exception escapes a uWS callback.
 */
export interface WebSocketDeps {
  config: Config;
  log: Logger;
  auth: Auth;
  hub: RoomHub;
  store: RoomStore;
  fanout: Fanout;
  metrics: GatewayMetrics;
  activity: ActivityPublisher;
  /** Which shoppers have a socket open in which room on this node (lottery eligibility). */
  presence: Presence;
}

export function registerWebSocket(app: TemplatedApp, deps: WebSocketDeps, st: WsState): { sweepTokens(): void } {
  const { config, log, auth, hub, store, fanout, metrics, activity, presence } = deps;
  const admission = newBucket(config.wsAdmissionRate * 2);
  const users = new KeyedBuckets(config.userMessageRate, config.userMessageRate * 2);
  const strikeLimit = Math.max(20, config.wsMessageRate * 2);
  let connSeq = 0;

  function guard(where: string, ws: Ws | undefined, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      metrics.handlerErrors.inc({ where });
      log.error({ err, where }, 'WebSocket handler failed');
      if (ws && !ws.getUserData().closed) {
        try {
          ws.end(1011, 'internal error');
        } catch {
          /* already closed */
        }
      }
    }
  }

  function sendError(ws: Ws, err: unknown, reqId?: string): void {
    const e = asLivesaleError(err);
    fanout.send(ws, JSON.stringify({ type: 'error', ...(reqId ? { reqId } : {}), code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) }));
  }

  function close(ws: Ws, code: number, reason: string, metric: string): void {
    metrics.closes.inc({ reason: metric });
    ws.end(code, reason);
  }

  /** Refuses an upgrade with the error's HTTP status and body. */
  function refuse(res: HttpResponse, state: ResState, err: unknown): void {
    const e = asLivesaleError(err);
    metrics.refused.inc({ code: e.code });
    if (e.code === 'INTERNAL') log.error({ err }, 'upgrade failed');
    send(res, state, errorReply(e));
  }

  app.ws<SocketData>('/rooms/:roomId/ws', {
    compression: uWS.DISABLED,
    // The transport's hard bound, well above our own limit so that every frame up to it reaches
    // the message handler, which closes with 1009 and a reason the client can show. uWS refuses a
    // frame past this bound from its header alone and drops the connection without a close frame
    // (the client sees 1006); the bound caps what one socket can make the gateway buffer.
    maxPayloadLength: hardFrameBytes(config.maxPayloadBytes),
    idleTimeout: Math.floor(config.wsIdleSeconds / 4) * 4 || 8,
    sendPingsAutomatically: true,
    // The hard cap: past it uWS refuses writes. Sockets are "behind" (nothing more is written
    // but catch-up) well before, at wsBackpressureBytes.
    maxBackpressure: config.wsBackpressureBytes * 4 + config.maxPayloadBytes * 4,
    closeOnBackpressureLimit: 0,

    upgrade: (res, req, context) => {
      const state: ResState = { aborted: false };
      res.onAborted(() => abort(state));
      let key = '';
      let protocol = '';
      let extensions = '';
      let roomId = '';
      let query: URLSearchParams;
      let token: string | undefined;
      try {
        key = req.getHeader('sec-websocket-key');
        protocol = req.getHeader('sec-websocket-protocol');
        extensions = req.getHeader('sec-websocket-extensions');
        roomId = req.getParameter(0) ?? '';
        query = new URLSearchParams(req.getQuery() ?? '');
        token = query.get('token') ?? bearer(req.getHeader('authorization'));
      } catch (err) {
        metrics.handlerErrors.inc({ where: 'upgrade' });
        log.error({ err }, 'upgrade request unreadable');
        send(res, state, errorReply(new LivesaleError('BAD_REQUEST')));
        return;
      }
      if (st.closing) {
        metrics.refused.inc({ code: 'SHUTTING_DOWN' });
        send(res, state, errorReply(new LivesaleError('SHUTTING_DOWN')));
        return;
      }
      if (!take(admission, config.wsAdmissionRate, config.wsAdmissionRate * 2)) {
        metrics.refused.inc({ code: 'RATE_LIMITED' });
        const reply = errorReply(new LivesaleError('RATE_LIMITED', 'too many new connections; retry shortly'));
        send(res, state, { ...reply, headers: { 'retry-after': '1' } });
        return;
      }
      // The principal is checked synchronously. With the room already loaded here (every
      // connection after a room's first on this node) and nothing to read back from the room
      // log, the upgrade happens inside this callback, as uWS expects. Otherwise the room is
      // loaded first and the upgrade is finished from a macrotask of its own, uncorked (uWS
      // prints a one-line warning for it): an upgrade finished inside res.cork() can have uWS
      // take the new WebSocket for the HTTP response and end it right after open (1006), and
      // one finished from a microtask can run while uWS parses another connection's request.
      let principal: Principal;
      try {
        principal = auth.verifyNow(token);
        authorize('room.watch', principal);
      } catch (err) {
        refuse(res, state, err);
        return;
      }
      const epoch = query.get('epoch');
      const offset = Number(query.get('offset'));
      const resume = epoch && Number.isInteger(offset) && offset >= 0 ? { epoch, offset } : undefined;
      const userData = (room: LocalRoom, backfill?: string[]): SocketData => ({
        principal,
        roomId: room.id,
        resume,
        backfill,
        closed: false,
        conn: ++connSeq,
        openedAt: Date.now(),
        bucket: newBucket(config.wsMessageRate * 2),
        strikes: 0,
      });
      /** The log entries a resume needs that the in-memory ring no longer holds, if any. */
      const backfillRange = (room: LocalRoom): [number, number] | undefined => {
        if (!resume) return undefined;
        const v = room.view;
        const ringStart = room.ring[0]?.o ?? v.offset + 1;
        return resume.epoch === v.epoch && resume.offset <= v.offset && resume.offset + 1 < ringStart ? [resume.offset, ringStart - 1] : undefined;
      };
      const loaded = hub.loaded(roomId);
      if (loaded && !backfillRange(loaded)) {
        res.upgrade(userData(loaded), key, protocol, extensions, context);
        return;
      }
      (async () => {
        const room = await hub.require(roomId);
        const range = backfillRange(room);
        return userData(room, range && (await store.deltasAfter(room.id, range[0], range[1])));
      })().then(
        (ud) =>
          setImmediate(() => {
            if (state.aborted) return;
            if (st.closing) {
              send(res, state, errorReply(new LivesaleError('SHUTTING_DOWN')));
              return;
            }
            res.upgrade(ud, key, protocol, extensions, context);
          }),
        (err: unknown) => refuse(res, state, err),
      );
    },

    open: (ws) =>
      guard('open', ws, () => {
        const ud = ws.getUserData();
        const room = hub.loaded(ud.roomId);
        if (!room) {
          close(ws, 1011, 'room unavailable', 'room_unavailable');
          return;
        }
        st.sockets.add(ws);
        const p = ud.principal;
        metrics.connections.inc({ role: p.role });
        users.acquire(userKey(ud));
        if (p.role === 'shopper') {
          hub.viewerJoined(ud.roomId);
          presence.joined(ud.roomId, p.sub, ud.conn, ud.openedAt);
          activity.publish({ type: 'viewer.joined', id: `join:${config.nodeId}:${bootId}:${ud.conn}`, room: ud.roomId, at: ud.openedAt, user: p.sub, node: config.nodeId });
        }
        const frames = resumeFrames(room, ud);
        ud.backfill = undefined;
        if (frames) for (const f of frames) fanout.send(ws, f, 'resume');
        else fanout.send(ws, JSON.stringify(hub.snapshot(room, ud.resume ? false : undefined)), 'snapshot');
        ud.resume = undefined;
        // Live figures go to the sockets that may read the room's stats.
        fanout.add(ws, allows('room.stats.read', p, room.view.doc));
        const f = hub.figures(ud.roomId);
        if (f) fanout.send(ws, JSON.stringify({ type: 'viewers', online: f.online, peak: f.peak }), 'ephemeral');
      }),

    message: (ws, message, isBinary) =>
      guard('message', ws, () => {
        const ud = ws.getUserData();
        if (message.byteLength > config.maxPayloadBytes) {
          metrics.wsMessages.inc({ type: 'oversized' });
          close(ws, 1009, `message too big: the limit is ${config.maxPayloadBytes} bytes`, 'oversized');
          return;
        }
        if (!take(ud.bucket, config.wsMessageRate, config.wsMessageRate * 2) || !users.take(userKey(ud))) {
          metrics.rateLimited.inc({ scope: 'ws_messages' });
          if (++ud.strikes >= strikeLimit) {
            close(ws, 4029, 'too many messages: the rate limit was exceeded repeatedly', 'rate_limit');
            return;
          }
          sendError(ws, new LivesaleError('RATE_LIMITED', `at most ${config.wsMessageRate} messages per second per connection and ${config.userMessageRate} per user`));
          return;
        }
        ud.strikes = 0;
        if (isBinary) {
          metrics.wsMessages.inc({ type: 'binary' });
          sendError(ws, new LivesaleError('BAD_REQUEST', 'binary frames are not accepted; send JSON text'));
          return;
        }
        const text = Buffer.from(message).toString('utf8'); // copy: uWS reuses the buffer
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          metrics.wsMessages.inc({ type: 'invalid' });
          sendError(ws, new LivesaleError('INVALID_JSON'));
          return;
        }
        const obj = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
        const reqId = typeof obj?.reqId === 'string' ? obj.reqId.slice(0, 64) : undefined;
        const type = obj?.type;
        if (!obj || typeof type !== 'string') {
          metrics.wsMessages.inc({ type: 'invalid' });
          sendError(ws, new LivesaleError('VALIDATION_FAILED', 'a message is a JSON object with a string "type"'), reqId);
          return;
        }
        const def = st.types.get(type);
        if (!def) {
          metrics.wsMessages.inc({ type: 'unknown' });
          sendError(ws, new LivesaleError('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 40))}; known: ${[...st.types.keys()].join(', ')}`), reqId);
          return;
        }
        const parsed = def.schema.safeParse(obj);
        if (!parsed.success) {
          metrics.wsMessages.inc({ type: 'invalid' });
          sendError(ws, new LivesaleError('VALIDATION_FAILED', describeIssues(parsed.error)), reqId);
          return;
        }
        metrics.wsMessages.inc({ type });
        st.inFlight++;
        // The principal as of this message (a token refresh may replace it).
        const call = callOf(def.action, ud.principal);
        let handling: Promise<void>;
        try {
          handling = def.handler(ws, parsed.data, (frame) => fanout.send(ws, JSON.stringify(frame)), call);
        } catch (err) {
          handling = Promise.reject(err);
        }
        handling
          .then(() => requireAuthorized(call, `the ${type} message`))
          .catch((err: unknown) => {
            const e = asLivesaleError(err);
            if (e.code === 'INTERNAL') {
              metrics.handlerErrors.inc({ where: type });
              log.error({ err, type }, 'message handling failed');
            }
            if (!ud.closed) sendError(ws, e, reqId);
          })
          .catch((err: unknown) => log.error({ err }, 'error reply failed'))
          .finally(() => st.inFlight--);
      }),

    drain: (ws) => guard('drain', ws, () => fanout.drained(ws)),

    close: (ws, code, message) =>
      guard('close', undefined, () => {
        const ud = ws.getUserData();
        ud.closed = true;
        const dropped = transportCloseReason(code, Buffer.from(message).toString('utf8'));
        if (dropped) metrics.closes.inc({ reason: dropped });
        if (!st.sockets.delete(ws)) return;
        fanout.remove(ws);
        const p = ud.principal;
        metrics.connections.dec({ role: p.role });
        users.release(userKey(ud));
        if (p.role === 'shopper') {
          hub.viewerLeft(ud.roomId);
          presence.left(ud.roomId, p.sub, ud.conn);
          const now = Date.now();
          activity.publish({
            type: 'viewer.left',
            id: `leave:${config.nodeId}:${bootId}:${ud.conn}`,
            room: ud.roomId,
            at: now,
            user: p.sub,
            node: config.nodeId,
            watchedMs: Math.max(0, now - ud.openedAt),
          });
        }
        log.debug({ roomId: ud.roomId, user: p.sub, code, reason: Buffer.from(message).toString('utf8').slice(0, 123) }, 'socket closed');
      }),
  });

  return {
    /** Closes connections whose access token has expired (4001), after an error frame saying so. */
    sweepTokens() {
      const now = Date.now() / 1000;
      for (const ws of st.sockets) {
        const ud = ws.getUserData();
        if (ud.closed || ud.principal.exp > now) continue;
        guard('token_sweep', ws, () => {
          sendError(ws, new LivesaleError('UNAUTHENTICATED', 'the access token has expired'));
          close(ws, 4001, 'access token expired', 'token_expired');
        });
      }
    },
  };
}
