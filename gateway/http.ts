import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { z } from 'zod';
import { LivesaleError, asLivesaleError } from '../common/platform/errors.ts';
import { describeIssues } from '../common/contracts/protocol.ts';

const statusText: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  302: '302 Found',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** What a handler may read of a request: copied out of uWS before the first await. */
export interface Req {
  readonly method: string;
  readonly url: string;
  readonly query: URLSearchParams;
  readonly params: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Tracks whether the client went away, so nothing is written to a dead response. */
export interface ResState {
  aborted: boolean;
  /** A HEAD request: answered like GET, headers and content-length, without the body. */
  head?: boolean;
  /** Called once when the client goes away (a body being read rejects, so its request settles). */
  onAbort?: () => void;
}

/** Headers on every response: no content sniffing, no referrer leaking room or show ids. */
const commonHeaders: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Marks the response aborted and settles whatever waits on it; give it to res.onAborted. */
export function abort(state: ResState): void {
  state.aborted = true;
  state.onAbort?.();
  state.onAbort = undefined;
}

const jsonType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** UNSUPPORTED_MEDIA_TYPE when a request carries a body that is not declared JSON. */
export function requireJsonBody(headers: Readonly<Record<string, string>>): void {
  const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
  if (!hasBody) return;
  const type = headers['content-type'] ?? '';
  if (!jsonType.test(type)) throw new LivesaleError('UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, not ${JSON.stringify(type.slice(0, 80))}`);
}

/** BAD_REQUEST unless the whole path is valid percent-encoding of UTF-8 (whatever route it matched, or none). */
export function requireWellFormedPath(url: string): void {
  try {
    decodeURIComponent(url);
  } catch {
    throw new LivesaleError('BAD_REQUEST', 'the request path is not valid percent-encoding');
  }
}

/** The request's fields, path parameters decoded; BAD_REQUEST for a malformed path. */
export function copyRequest(req: HttpRequest, paramCount: number): Omit<Req, 'body'> {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = v;
  });
  const url = req.getUrl();
  requireWellFormedPath(url);
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(decodeURIComponent(req.getParameter(i) ?? ''));
  return { method: req.getCaseSensitiveMethod(), url, query: new URLSearchParams(req.getQuery() ?? ''), params, headers };
}

/** Reads the body (copying each chunk: uWS reuses the buffer), refusing more than `limit` bytes. */
export function readBody(res: HttpResponse, state: ResState, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A client that goes away mid-body would otherwise leave this request pending for ever.
    if (state.aborted) return reject(new LivesaleError('BAD_REQUEST', 'the client went away before the body was complete'));
    state.onAbort = () => reject(new LivesaleError('BAD_REQUEST', 'the client went away before the body was complete'));
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (state.aborted) return;
      size += chunk.byteLength;
      if (size > limit) {
        reject(new LivesaleError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new LivesaleError('BAD_REQUEST', 'a JSON body is required');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new LivesaleError('INVALID_JSON', 'the body is not valid JSON');
  }
}

/** The JSON body validated by `schema`; BAD_REQUEST, INVALID_JSON or VALIDATION_FAILED otherwise. */
export function parseBody<S extends z.ZodType>(schema: S, body: Buffer): z.infer<S> {
  const r = schema.safeParse(parseJson(body));
  if (!r.success) throw new LivesaleError('VALIDATION_FAILED', describeIssues(r.error));
  return r.data;
}

/** A query string checked against its schema (values are strings; a repeated name is refused): VALIDATION_FAILED otherwise. */
export function parseQuery<S extends z.ZodType>(schema: S, query: URLSearchParams): z.infer<S> {
  const values: Record<string, string> = {};
  for (const [k, v] of query) {
    if (Object.hasOwn(values, k)) throw new LivesaleError('VALIDATION_FAILED', `${k.slice(0, 40)}: given more than once`);
    values[k] = v;
  }
  const r = schema.safeParse(values);
  if (!r.success) throw new LivesaleError('VALIDATION_FAILED', describeIssues(r.error));
  return r.data;
}

export function send(res: HttpResponse, state: ResState, reply: Reply): void {
  if (state.aborted) return;
  const payload =
    reply.body === undefined ? '' : typeof reply.body === 'string' || Buffer.isBuffer(reply.body) ? reply.body : JSON.stringify(reply.body);
  res.cork(() => {
    res.writeStatus(statusText[reply.status] ?? `${reply.status} Status`);
    res.writeHeader('content-type', reply.contentType ?? 'application/json; charset=utf-8');
    for (const [k, v] of Object.entries(commonHeaders)) res.writeHeader(k, v);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.writeHeader(k, v);
    // HEAD: the same status and headers, the GET body's length, no body (a keep-alive client
    // reads the next response from the right place). The length is written as a header: this
    // uWS build, given endWithoutBody(length), waits for that many body bytes and then drops the
    // connection on the next request.
    if (state.head) res.writeHeader('content-length', String(Buffer.byteLength(payload))).endWithoutBody();
    else res.end(payload);
  });
}

/**
 * The error's status and body; a RATE_LIMITED one says when to retry in `Retry-After` (whole
 * seconds, at least 1, from its `retryAfterMs` when it has one).
 */
export function errorReply(err: unknown): Reply {
  const e = asLivesaleError(err);
  const reply: Reply = { status: e.status, body: { error: e.toJSON() } };
  if (e.code === 'RATE_LIMITED') {
    const ms = Number(e.details?.retryAfterMs);
    reply.headers = { 'retry-after': String(Number.isFinite(ms) && ms > 0 ? Math.ceil(ms / 1000) : 1) };
  }
  return reply;
}
