import type { z } from 'zod';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Principal } from './auth.ts';
import type { Reply, Req } from './http.ts';
import { authorize, isPublic, type Action, type ResourceOf } from './policy.ts';
import type { Ws } from './socket-data.ts';

/**
 * One call of a route or message handler: the caller and the check of the action the route
 * was registered with. For a non-public action the principal is authenticated before the
 * handler runs; `authorize` is the handler's to call, where it knows the resource.
 */
export interface Call<A extends Action = Action> {
  readonly principal: Principal;
  /** The action's policy for this caller (and `resource`, when given); FORBIDDEN otherwise. */
  authorize(resource?: ResourceOf<A>): void;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'del';

export type HttpHandler<A extends Action = Action> = (req: Req, call: Call<A>) => Promise<Reply>;

/** A WebSocket message type: its schema (validated before the handler runs), its action and its handler. */
export interface WsMessageType<S extends z.ZodType = z.ZodType, A extends Action = Action> {
  readonly schema: S;
  readonly action: A;
  readonly handler: (ws: Ws, msg: z.infer<S>, reply: (frame: object) => void, call: Call<A>) => Promise<void>;
}

/**
 * What route modules register on: HTTP routes with `route`, WebSocket message types with
 * `wsMessage`. The server wires authentication, validation, errors, metrics and shutdown around
 * them; the protocol documentation registers the same modules on a recording router.
 */
export interface Router {
  route<A extends Action>(method: HttpMethod, pattern: string, name: string, action: A, handler: HttpHandler<A>): void;
  wsMessage<S extends z.ZodType, A extends Action>(type: string, def: WsMessageType<S, A>): void;
}

/** A call's state: whether its handler authorized before answering. */
export interface TrackedCall<A extends Action> extends Call<A> {
  readonly authorized: boolean;
}

/** The call of `action` by `principal` (undefined only for public actions). */
export function callOf<A extends Action>(action: A, principal: Principal | undefined): TrackedCall<A> {
  let authorized = isPublic(action);
  return {
    get principal(): Principal {
      // Public routes read no token; asking for their caller is a defect of the route.
      if (!principal) throw new Error(`the public action ${action} has no principal`);
      return principal;
    },
    authorize(resource) {
      if (principal) authorize(action, principal, resource);
      authorized = true;
    },
    get authorized() {
      return authorized;
    },
  };
}

/** Throws INTERNAL when a handler answered a non-public action without authorizing. */
export function requireAuthorized(call: TrackedCall<Action>, what: string): void {
  if (!call.authorized) throw new LivesaleError('INTERNAL', `${what} answered without checking its policy`);
}
