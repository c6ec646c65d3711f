import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Config } from '../common/platform/config.ts';
import type { Logger } from '../common/platform/logger.ts';
import type { FlashSale } from '../inventory/flash-sale.ts';
import type { Payments } from '../inventory/payments.ts';
import type { Keys } from '../common/contracts/keys.ts';
import type { Scripts } from '../common/platform/lua-loader.ts';
import type { Catalog } from '../orders/catalog.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { ActivityPublisher } from './activity.ts';
import type { AuditLog } from './audit.ts';
import type { Auth, Principal } from './auth.ts';
import type { Commands } from './commands.ts';
import type { Fanout } from './fanout.ts';
import type { Reply, Req } from './http.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Delta, RoomDoc } from '../common/contracts/protocol.ts';
import type { LocalRoom, RoomHub } from './room-hub.ts';
import type { RoomStore } from './room-store.ts';
import type { Ws } from './socket.ts';

export type { GatewayMetrics } from './metrics.ts';

export type { SocketData, Ws } from './socket.ts';

export type HttpHandler = (req: Req) => Promise<Reply>;

/** A WebSocket message type: its schema (validated before the handler runs) and its handler. */
export interface WsMessageType<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** Roles allowed to send it (FORBIDDEN otherwise). */
  readonly roles?: readonly Principal['role'][];
  readonly handler: (ws: Ws, msg: z.infer<S>, reply: (frame: object) => void) => Promise<void>;
}

/**
 * Everything a route module needs. Route modules (gateway/routes/*.ts) register their HTTP
 * routes with `route` and their WebSocket message types with `wsMessage`; the server wires
 * validation, errors, metrics and shutdown around them.
 */
export interface GatewayContext {
  readonly config: Config;
  readonly log: Logger;
  readonly redis: Redis | Cluster;
  readonly db: Kysely<Database>;
  readonly keys: Keys;
  readonly scripts: Scripts;
  readonly auth: Auth;
  readonly flash: FlashSale;
  /** Payments, answered only once durable in Kafka. */
  readonly payments: Payments;
  readonly catalog: Catalog;
  readonly store: RoomStore;
  readonly hub: RoomHub;
  readonly metrics: GatewayMetrics;
  readonly fanout: Fanout;
  readonly commands: Commands;
  readonly audit: AuditLog;
  readonly activity: ActivityPublisher;

  route(method: 'get' | 'post' | 'put' | 'del', pattern: string, name: string, handler: HttpHandler): void;
  wsMessage<S extends z.ZodType>(type: string, def: WsMessageType<S>): void;

  /** The bearer token's principal, or UNAUTHENTICATED. */
  principalOf(req: Pick<Req, 'headers'>): Promise<Principal>;
  /** JSON body validated by schema, or INVALID_JSON / VALIDATION_FAILED. */
  parseBody<S extends z.ZodType>(schema: S, body: Buffer): z.infer<S>;
  /** The room loaded on this node, or ROOM_NOT_FOUND. */
  roomFor(roomId: string): Promise<LocalRoom>;
  /** The room, if `p` is its host (or ops); FORBIDDEN otherwise. */
  hostRoom(p: Principal, roomId: string): Promise<LocalRoom>;
  /**
   * Appends a change to the room document with optimistic concurrency, retrying on CONFLICT.
   * For internal changes only: host commands go through `commands` (idempotency, base version, audit).
   */
  hostCommand(roomId: string, build: (doc: RoomDoc) => { doc: RoomDoc; delta: Delta }): Promise<{ offset: number; version: number }>;
}
