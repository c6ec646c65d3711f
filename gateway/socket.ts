import type { WebSocket } from 'uWebSockets.js';
import type { Principal } from './auth.ts';
import type { Bucket } from './limits.ts';

/*
 * The per-socket types, in a module of their own: the fan-out (fanout.ts) and the gateway
 * context (context.ts) both need them, and the context needs the fan-out, so keeping them in
 * either would make the two import each other.
 */

/** What a socket carries from upgrade to close. Kept small: an idle socket costs little memory. */
export interface SocketData {
  principal: Principal;
  roomId: string;
  /** Client's last (epoch, offset) when reconnecting. */
  resume?: { epoch: string; offset: number } | undefined;
  backfill?: string[] | undefined;
  closed: boolean;
  /** This node's number for the connection (activity event ids). */
  conn: number;
  openedAt: number;
  /** Per-connection message rate. */
  bucket: Bucket;
  /** Messages refused by a rate limit in a row; past a bound the connection is closed. */
  strikes: number;
  /** Set while the socket is behind (backpressured): what it still needs. */
  behind?: Behind | undefined;
}

export type Ws = WebSocket<SocketData>;

/** What a socket that fell behind still needs. */
export interface Behind {
  readonly since: number;
  /** The room offset the socket had been sent when it fell behind. */
  readonly from: number;
  to: number;
  v: number;
  readonly state: Map<string, { readonly o: number; readonly raw: string }>;
  events: { readonly o: number; readonly raw: string }[];
  eventBytes: number;
  coalesced: number;
  /** Set when the queue was given up: a fresh snapshot is sent on drain instead. */
  resync?: string;
}
