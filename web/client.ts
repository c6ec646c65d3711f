import type {
  Audience,
  AuditEntryReply,
  AuditReply,
  BargainResultFrame,
  BuyResult,
  CatchupFrame,
  Command,
  CommandName,
  CommandResult,
  Envelope,
  GoingAwayFrame,
  ItemInfo,
  JoinResult,
  LotteryEntryResult,
  LotteryPublic,
  MyCommissionsReply,
  MyOrdersReply,
  OrderStateName,
  ReferralClick,
  RoomDoc,
  RoomView,
  RunOfShow,
  RunOfShowFrame,
  ServerFrame,
  SettlementReply,
  SnapshotFrame,
  TeamResultFrame,
} from '../common/contracts/protocol.ts';
import { applyDelta } from '../common/contracts/room-view.ts';

export type { AuditEntryReply, AuditReply, RefusalCountReply } from '../common/contracts/protocol.ts';

/**
 * The typed client of the livesale gateway, for tests, load tests and web pages. HTTP through
 * fetch; WebSocket through the platform's WebSocket or one passed in (the `ws` package in Node 20).
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = 'ApiError';
  }
}

/** The envelope of a host command: without a base version, the client reads the room's version first. */
export interface CommandOptions {
  idempotencyKey?: string;
  /** The room version the command is based on; omitted: the current one (retried on CONFLICT). */
  baseVersion?: number;
}

/** A command's own fields, without the envelope. */
export type CommandInput<N extends CommandName = CommandName> = N extends CommandName ? Omit<Extract<Command, { command: N }>, 'idempotencyKey' | 'baseVersion'> : never;

function newKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Runs `send` with the envelope; without a base version, with the current one, retrying on CONFLICT. */
async function withEnvelope<T>(opts: CommandOptions, current: () => Promise<number>, send: (env: { idempotencyKey: string; baseVersion: number }) => Promise<T>): Promise<T> {
  const idempotencyKey = opts.idempotencyKey ?? newKey();
  if (opts.baseVersion !== undefined) return send({ idempotencyKey, baseVersion: opts.baseVersion });
  for (let attempt = 0; ; attempt++) {
    try {
      return await send({ idempotencyKey, baseVersion: await current() });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CONFLICT' && attempt < 5)) throw err;
    }
  }
}

export interface CreateItemInput {
  title: string;
  price: number;
  stock: number;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  holdSeconds?: number;
  /** A planned or live show of the room; absent: the live show, else the next planned one, else the room shelf. */
  showId?: string;
}

export interface MetricValue {
  metric: string;
  value: number;
  unit: string;
  version: number;
}

export interface StatsReply {
  roomId: string;
  /** The show the figures are of (the room's current show); null for a room that has no show. */
  showId: string | null;
  asOf: string;
  metrics: MetricValue[];
  online: number;
}

/** Filters and the page of a listing of the caller's own orders. */
export interface MyOrdersOptions {
  showId?: string;
  roomId?: string;
  state?: OrderStateName;
  /** The nextCursor of the previous page. */
  cursor?: string;
  /** 1 to 100 (default 20). */
  limit?: number;
}

function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export class HttpClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
  ) {}

  withToken(token: string): HttpClient {
    return new HttpClient(this.baseUrl, token);
  }

  /** Raw request: status and parsed JSON body, errors included. */
  // biome-ignore lint/suspicious/noExplicitAny: the body is whatever the server sent; callers narrow it to the reply they expect
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON (metrics) */
    }
    return { status: res.status, body: parsed };
  }

  async #ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status >= 400) {
      const e = (r.body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })?.error;
      throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? String(r.body), e?.details);
    }
    return r.body as T;
  }

  /** The room's current document version (what a host command is based on). */
  async version(roomId: string): Promise<number> {
    return (await this.snapshot(roomId)).version;
  }

  async demoToken(role: 'shopper' | 'host' | 'ops', sub: string): Promise<string> {
    return (await this.#ok<{ token: string }>('POST', '/auth/demo', { role, sub })).token;
  }

  /** Creates a room; with an idempotency key, a retry names the room the first try made. */
  async createRoom(title: string, opts: { idempotencyKey?: string } = {}): Promise<RoomDoc> {
    return (await this.#ok<{ room: RoomDoc }>('POST', '/rooms', { title, ...opts })).room;
  }

  /** Adds a flash-sale item (the addItem host command). */
  async addItem(roomId: string, item: CreateItemInput, opts: CommandOptions = {}): Promise<ItemInfo> {
    const r = await withEnvelope(opts, () => this.version(roomId), (env) => this.#ok<{ item: ItemInfo }>('POST', `/rooms/${roomId}/items`, { ...item, ...env }));
    return r.item;
  }

  /** Puts an item on air, or none (the onAir host command). */
  async putOnAir(roomId: string, itemId: string | null, opts: CommandOptions = {}): Promise<CommandResult> {
    return this.command(roomId, { command: 'onAir', itemId }, opts);
  }

  /** Runs a host command (POST /rooms/:roomId/commands); refusals throw ApiError (CONFLICT carries details.version). */
  async command(roomId: string, cmd: CommandInput, opts: CommandOptions = {}): Promise<CommandResult> {
    return withEnvelope(opts, () => this.version(roomId), (env) => this.#ok<CommandResult>('POST', `/rooms/${roomId}/commands`, { ...cmd, ...env }));
  }

  /** The room's host command audit log, newest first (ops and the room's host). */
  async audit(roomId: string, limit = 100): Promise<AuditEntryReply[]> {
    return (await this.auditLog(roomId, limit)).entries;
  }

  /** The room's audit log and its refused commands, counted per actor, role, command and code. */
  async auditLog(roomId: string, limit = 100): Promise<AuditReply> {
    return this.#ok<AuditReply>('GET', `/rooms/${roomId}/audit?limit=${limit}`);
  }

  async snapshot(roomId: string): Promise<SnapshotFrame> {
    return this.#ok<SnapshotFrame>('GET', `/rooms/${roomId}`);
  }

  /** Enters a lottery (shoppers): `entered` once, `duplicate` after; refusals throw ApiError with their code. */
  async enterLottery(lotteryId: string): Promise<LotteryEntryResult> {
    return this.#ok<LotteryEntryResult>('POST', `/lotteries/${lotteryId}/enter`, {});
  }

  /** A lottery as anyone may read it (after the draw: seed, sorted entrants, winners). */
  async lottery(lotteryId: string): Promise<LotteryPublic> {
    return this.#ok<LotteryPublic>('GET', `/lotteries/${lotteryId}`);
  }

  /** Every lottery of a show (without the entrant lists). */
  async showLotteries(showId: string): Promise<LotteryPublic[]> {
    return (await this.#ok<{ lotteries: LotteryPublic[] }>('GET', `/shows/${showId}/lotteries`)).lotteries;
  }

  /** Buys over HTTP; refusals (409) are results, not exceptions. */
  async buy(roomId: string, itemId: string, qty: number, idempotencyKey: string, coupon?: string): Promise<BuyResult> {
    const r = await this.request('POST', `/rooms/${roomId}/items/${itemId}/buy`, coupon === undefined ? { qty, idempotencyKey } : { qty, idempotencyKey, coupon });
    if (r.status >= 400 && !(r.body as { outcome?: string })?.outcome) {
      const e = (r.body as { error?: { code?: string; message?: string } })?.error;
      throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? String(r.body));
    }
    return r.body as BuyResult;
  }

  async stats(roomId: string): Promise<StatsReply> {
    return this.#ok<StatsReply>('GET', `/rooms/${roomId}/stats`);
  }

  /** Joins a tiered group over HTTP; refusals (409) are results, not exceptions. */
  async join(roomId: string, itemId: string, qty: number, idempotencyKey: string): Promise<JoinResult> {
    const r = await this.request('POST', `/rooms/${roomId}/items/${itemId}/join`, { qty, idempotencyKey });
    if (r.status >= 400 && !(r.body as { outcome?: string })?.outcome) {
      const e = (r.body as { error?: { code?: string; message?: string } })?.error;
      throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? String(r.body));
    }
    return r.body as JoinResult;
  }

  /** Pays a hold (against `version`, the hold version from the reservation); answered once durable. */
  async pay(roomId: string, itemId: string, orderId: string, version?: number): Promise<PaidReply> {
    return this.#ok<PaidReply>('POST', `/rooms/${roomId}/items/${itemId}/pay`, version === undefined ? { orderId } : { orderId, version });
  }

  /** Cancels an unpaid hold. */
  async cancel(roomId: string, itemId: string, orderId: string): Promise<CancelReply> {
    return this.#ok<CancelReply>('POST', `/rooms/${roomId}/items/${itemId}/cancel`, { orderId });
  }

  /** Asks for a reminder when a pre-heated sale opens. */
  async subscribe(roomId: string, itemId: string): Promise<SubscribeReply> {
    return this.#ok<SubscribeReply>('POST', `/rooms/${roomId}/items/${itemId}/subscribe`, {});
  }

  /** The run of show of a show: current and next slot, planned against actual, drift (ops and the show's host). */
  async runOfShow(showId: string): Promise<RunOfShow> {
    return this.#ok<RunOfShow>('GET', `/shows/${showId}/run`);
  }

  /** The caller's own orders, newest first (one page; pass its nextCursor for the next). */
  async myOrders(opts: MyOrdersOptions = {}): Promise<MyOrdersReply> {
    return this.#ok<MyOrdersReply>('GET', `/me/orders${queryString({ ...opts })}`);
  }

  /** Sets a shopper's member tier (hosts and ops). */
  async setMemberTier(userId: string, tier: 'regular' | 'silver' | 'gold'): Promise<{ userId: string; tier: string }> {
    return this.#ok('PUT', `/members/${encodeURIComponent(userId)}/tier`, { tier });
  }

  /** Sets a flash-sale item's member-day rule (the room's host and ops): its route runs the setMemberDay host command. */
  async setMemberDay(roomId: string, itemId: string, rule: { threshold: number; off: { regular: number; silver: number; gold: number } }): Promise<unknown> {
    return this.#ok('PUT', `/rooms/${roomId}/items/${itemId}/member-day`, rule);
  }

  /** Adds a coupon campaign to a flash-sale item (the room's host and ops): its route runs the addCoupon host command. */
  async addCoupon(
    roomId: string,
    itemId: string,
    c: { id: string; kind: 'fixed' | 'percent' | 'spend'; amount?: number; percent?: number; minSpend?: number; budget: number; perUser?: number; startsAt: number; endsAt: number; audience?: Audience },
  ): Promise<{ itemId: string; id: string; created: boolean; left: number; issued: number; spent: number; audience?: Audience }> {
    return this.#ok('POST', `/rooms/${roomId}/items/${itemId}/coupons`, c);
  }

  /** A tiered group's settlement per order (the room's host and ops). */
  async settlement(roomId: string, itemId: string, opts: { cursor?: string; limit?: number } = {}): Promise<SettlementReply> {
    return this.#ok<SettlementReply>('GET', `/rooms/${roomId}/items/${itemId}/settlement${queryString({ ...opts })}`);
  }

  /** Records that the caller opened `referrer`'s share link for a room or one of its items. */
  async referralClick(roomId: string, referrer: string, itemId?: string): Promise<ReferralClick> {
    return this.#ok<ReferralClick>('POST', `/rooms/${roomId}/referrals`, { referrer, ...(itemId ? { itemId } : {}) });
  }

  /** Sets an item's commission rate in basis points (the room's host and ops): its route runs the setCommission host command. */
  async setCommissionRate(roomId: string, itemId: string, rateBp: number): Promise<{ itemId: string; rateBp: number }> {
    return this.#ok('PUT', `/rooms/${roomId}/items/${itemId}/commission`, { rateBp });
  }

  /** The caller's commissions as a referrer, newest first (one page; pass its nextCursor for the next). */
  async myCommissions(opts: { cursor?: string; limit?: number } = {}): Promise<MyCommissionsReply> {
    return this.#ok<MyCommissionsReply>('GET', `/me/commissions${queryString({ ...opts })}`);
  }

  /** Opens a team of a team-buy item (a hold at the team price); refusals (404, 409) are results, not exceptions. */
  async openTeam(roomId: string, itemId: string, idempotencyKey: string): Promise<TeamSeatResult> {
    return this.#result<TeamSeatResult>('POST', `/rooms/${roomId}/items/${itemId}/teams`, { idempotencyKey });
  }

  /** Joins a team by its share code (a hold at the team's price); refusals (404, 409) are results, not exceptions. */
  async joinTeam(roomId: string, itemId: string, teamId: string, idempotencyKey: string): Promise<TeamSeatResult> {
    return this.#result<TeamSeatResult>('POST', `/rooms/${roomId}/items/${itemId}/teams/${encodeURIComponent(teamId)}/join`, { idempotencyKey });
  }

  /** A team's progress: seats taken and paid of its size, its state and members (by user). */
  async team(roomId: string, itemId: string, teamId: string): Promise<TeamProgress> {
    return this.#ok<TeamProgress>('GET', `/rooms/${roomId}/items/${itemId}/teams/${encodeURIComponent(teamId)}`);
  }

  /** Starts a bargain (or answers the caller's open one); refusals are results, not exceptions. */
  async startBargain(roomId: string, itemId: string): Promise<BargainStartResult> {
    return this.#result<BargainStartResult>('POST', `/rooms/${roomId}/items/${itemId}/bargains`, {});
  }

  /** Helps another shopper's bargain (once per user); refusals are results, not exceptions. */
  async helpBargain(roomId: string, itemId: string, bargainId: string): Promise<BargainHelpResult> {
    return this.#result<BargainHelpResult>('POST', `/rooms/${roomId}/items/${itemId}/bargains/${encodeURIComponent(bargainId)}/help`, {});
  }

  /** The starter buys at the bargain's current price (a hold, paid with pay); refusals are results, not exceptions. */
  async buyBargain(roomId: string, itemId: string, bargainId: string): Promise<BargainBuyResult> {
    return this.#result<BargainBuyResult>('POST', `/rooms/${roomId}/items/${itemId}/bargains/${encodeURIComponent(bargainId)}/buy`, {});
  }

  /** A bargain as anyone may read it: current price, helps so far, state and window. */
  async bargain(roomId: string, itemId: string, bargainId: string): Promise<BargainProgress> {
    return this.#ok<BargainProgress>('GET', `/rooms/${roomId}/items/${itemId}/bargains/${encodeURIComponent(bargainId)}`);
  }

  /** A write whose refusals are answers (a body with `outcome`); any other error throws ApiError. */
  async #result<T>(method: string, path: string, body: unknown): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status >= 400 && !(r.body as { outcome?: string })?.outcome) {
      const e = (r.body as { error?: { code?: string; message?: string } })?.error;
      throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? String(r.body));
    }
    return r.body as T;
  }
}

export interface PaidReply {
  outcome: 'paid';
  orderId: string;
  qty: number;
  amount: number;
  already: boolean;
}

export interface CancelReply {
  outcome: 'cancelled' | 'refunded';
  orderId: string;
  refund: number;
  already: boolean;
}

/** A refusal answered as a result: the outcome, its code of the error table and the message. */
export interface OfferRefusal {
  outcome: string;
  code: string;
  message: string;
}

/** A team seat taken (opening or joining): a hold of one unit at the team's price. */
export interface TeamSeatHeld {
  outcome: 'held';
  orderId: string;
  teamId: string;
  qty: 1;
  unitPrice: number;
  amount: number;
  deadline: number;
  available: number;
  ver: number;
  version: 1;
  seats: number;
  size: number;
  teamEndsAt: number;
}
export type TeamSeatResult = TeamSeatHeld | OfferRefusal | { outcome: 'duplicate'; first: TeamSeatHeld | OfferRefusal };

export interface TeamProgress {
  itemId: string;
  teamId: string;
  state: 'open' | 'formed' | 'failed';
  leader: string;
  size: number;
  price: number;
  endsAt: number;
  seats: number;
  paid: number;
  /** The version of the team's record (the `team` deltas carry it too). */
  ver?: number;
  members: { userId: string; state: 'held' | 'paid' | 'cancelled' | 'expired' | 'refunded' }[];
}

export type BargainStartResult = { outcome: 'started' | 'existing'; bargainId: string; price: number; floor: number; helpers: number; endsAt: number } | OfferRefusal;
export type BargainHelpResult = { outcome: 'helped'; cut: number; price: number; helped: number; helpers: number; floor: number } | OfferRefusal;
export type BargainBuyResult = { outcome: 'held'; orderId: string; qty: 1; unitPrice: number; amount: number; deadline: number; available: number; ver: number; already: boolean } | OfferRefusal;

export interface BargainProgress {
  itemId: string;
  bargainId: string;
  state: 'open' | 'bought' | 'expired';
  starter: string;
  start: number;
  floor: number;
  price: number;
  helpers: number;
  helped: number;
  endsAt: number;
  helperIds: string[];
}

export interface SubscribeReply {
  outcome: 'subscribed' | 'already_subscribed' | 'live' | 'ended';
  subscribers?: number;
  startsAt?: number;
  endsAt?: number;
}


/** The figure named `metric` in a stats reply. */
export function metricValue(stats: StatsReply, metric: string): number | undefined {
  return stats.metrics.find((m) => m.metric === metric)?.value;
}

type WsLike = {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
};
export type WebSocketCtor = new (url: string) => WsLike;

export interface RoomSocketOptions {
  baseUrl: string;
  roomId: string;
  token: string;
  WebSocket?: WebSocketCtor;
  /** Reconnect position: the epoch and offset last seen. */
  resume?: { epoch: string; offset: number };
}

/**
 * A live room subscription: keeps the room view current from the snapshot and the ordered
 * deltas (single, batched per tick, or a catch-up after the socket fell behind), and sends
 * messages with request ids, resolving each with its reply. A gap in the offsets is never
 * applied: it is recorded in `protocolErrors` (the server never sends one).
 */
export class RoomSocket {
  view: RoomView | undefined;
  readonly frames: ServerFrame[] = [];
  /** Every frame received, if `keepFrames` was set (tests). */
  keepFrames = false;
  recovered: boolean | undefined;
  closed: { code: number; reason: string } | undefined;
  /** The last viewer figures received (ephemeral). */
  viewers: { online: number; peak: number } | undefined;
  /** The latest run of show pushed to this socket (the room's host and ops only). */
  runOfShow: RunOfShowFrame | undefined;
  /** Set when the server announced a shutdown: reconnect after `reconnectInMs`. */
  goingAway: GoingAwayFrame | undefined;
  /** Offsets that did not follow on: never expected from the server. */
  readonly protocolErrors: string[] = [];
  /** The transport's last error, if any (diagnostics). */
  lastError: string | undefined;
  /** Counts of frames received by type. */
  readonly counts: Record<string, number> = {};
  readonly #ws: WsLike;
  readonly #pending = new Map<string, { resolve: (f: ServerFrame) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Set<(f: ServerFrame) => void>();
  #seq = 0;
  #ready: Promise<void>;

  private constructor(ws: WsLike) {
    this.#ws = ws;
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    this.#ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectReady = rej;
    });
    ws.onmessage = (ev) => {
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        this.protocolErrors.push('a frame that is not JSON');
        return;
      }
      this.counts[f.type] = (this.counts[f.type] ?? 0) + 1;
      if (this.keepFrames) this.frames.push(f);
      this.#onFrame(f);
      if (f.type === 'snapshot' || f.type === 'resumed') resolveReady();
      for (const l of this.#listeners) l(f);
    };
    ws.onclose = (ev) => {
      this.closed = { code: ev.code, reason: String(ev.reason) };
      rejectReady(new Error(`closed before the first snapshot: ${ev.code} ${ev.reason}`));
      for (const p of this.#pending.values()) p.reject(new Error(`socket closed: ${ev.code} ${ev.reason}${this.lastError ? ` (${this.lastError})` : ''}`));
      this.#pending.clear();
      for (const l of this.#listeners) l({ type: 'error', code: 'CLOSED', message: `${ev.code} ${ev.reason}${this.lastError ? ` (${this.lastError})` : ''}` });
    };
    ws.onerror = (ev) => {
      const m = (ev as { message?: unknown; error?: { message?: unknown } })?.message ?? (ev as { error?: { message?: unknown } })?.error?.message;
      if (m !== undefined) this.lastError = String(m);
    };
  }

  /** Connects and resolves once the snapshot (or the resume confirmation) has arrived. */
  static async connect(opts: RoomSocketOptions & { view?: RoomView }): Promise<RoomSocket> {
    const Ctor = opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!Ctor) throw new Error('no WebSocket implementation: pass one (e.g. the ws package)');
    const q = new URLSearchParams({ token: opts.token });
    if (opts.resume) {
      q.set('epoch', opts.resume.epoch);
      q.set('offset', String(opts.resume.offset));
    }
    const url = `${opts.baseUrl.replace(/^http/, 'ws')}/rooms/${encodeURIComponent(opts.roomId)}/ws?${q}`;
    const s = new RoomSocket(new Ctor(url));
    if (opts.view) s.view = opts.view;
    await s.#ready;
    return s;
  }

  /** Reconnects (to the same or another node) from this socket's position, keeping its view. */
  reconnect(opts: Omit<RoomSocketOptions, 'resume' | 'roomId'> & { roomId?: string }): Promise<RoomSocket> {
    const v = this.view;
    return RoomSocket.connect({ ...opts, roomId: opts.roomId ?? v?.doc.id ?? '', ...(v ? { resume: { epoch: v.epoch, offset: v.offset }, view: v } : {}) });
  }

  #onFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'snapshot':
        this.view = { doc: f.room, stock: { ...f.stock }, groups: { ...(f.groups ?? {}) }, epoch: f.epoch, offset: f.offset, version: f.version };
        if (f.recovered !== undefined) this.recovered = f.recovered;
        break;
      case 'resumed':
        this.recovered = true;
        break;
      case 'delta':
        this.#apply(f);
        break;
      case 'deltas':
        for (const e of f.items) this.#apply(e);
        break;
      case 'catchup':
        this.#catchUp(f);
        break;
      case 'viewers':
        this.viewers = { online: f.online, peak: f.peak };
        break;
      case 'run_of_show':
        this.runOfShow = f;
        break;
      case 'going_away':
        this.goingAway = f;
        break;
      default: {
        const reqId = (f as { reqId?: string }).reqId;
        const p = reqId ? this.#pending.get(reqId) : undefined;
        if (p && reqId) {
          this.#pending.delete(reqId);
          p.resolve(f);
        }
      }
    }
  }

  #apply(e: Envelope): void {
    const v = this.view;
    if (!v || e.o <= v.offset) return;
    if (e.o !== v.offset + 1 || e.e !== v.epoch) {
      this.protocolErrors.push(`gap in room deltas: have ${v.epoch}/${v.offset}, got ${e.e}/${e.o}`);
      return;
    }
    applyDelta(v, e.d);
    v.offset = e.o;
    v.version = e.v;
  }

  #catchUp(f: CatchupFrame): void {
    const v = this.view;
    if (!v) return;
    if (f.from > v.offset) {
      this.protocolErrors.push(`catch-up from ${f.from} but the view is at ${v.offset}`);
      return;
    }
    if (f.to <= v.offset) return;
    const base = v.offset;
    for (const e of f.items) if (e.o > base) applyDelta(v, e.d);
    v.offset = f.to;
    v.version = f.v;
  }

  onFrame(listener: (f: ServerFrame) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends a raw string (tests of malformed input). */
  sendRaw(data: string): void {
    this.#ws.send(data);
  }

  /** Sends a message with a fresh reqId and resolves with the reply frame (result or error). */
  request(msg: Record<string, unknown>): Promise<ServerFrame> {
    const reqId = `r${++this.#seq}`;
    return new Promise<ServerFrame>((resolve, reject) => {
      if (this.closed) {
        reject(new Error(`socket closed: ${this.closed.code} ${this.closed.reason}${this.lastError ? ` (${this.lastError})` : ''}`));
        return;
      }
      this.#pending.set(reqId, { resolve, reject });
      this.#ws.send(JSON.stringify({ ...msg, reqId }));
    });
  }

  async #expect<T extends ServerFrame['type']>(msg: Record<string, unknown>, type: T): Promise<Extract<ServerFrame, { type: T }>> {
    const f = await this.request(msg);
    if (f.type === type) return f as Extract<ServerFrame, { type: T }>;
    if (f.type === 'error') throw new ApiError(0, f.code, f.message, f.details);
    throw new Error(`unexpected reply ${f.type}`);
  }

  async buy(itemId: string, qty: number, idempotencyKey: string, coupon?: string): Promise<BuyResult> {
    return (await this.#expect({ type: 'buy', itemId, qty, idempotencyKey, ...(coupon === undefined ? {} : { coupon }) }, 'buy.result')).result;
  }

  /** Enters a lottery of the room (shoppers). */
  async enterLottery(lotteryId: string): Promise<LotteryEntryResult> {
    return (await this.#expect({ type: 'lottery.enter', lotteryId }, 'lottery.result')).result;
  }

  async join(itemId: string, qty: number, idempotencyKey: string): Promise<JoinResult> {
    return (await this.#expect({ type: 'join', itemId, qty, idempotencyKey }, 'order.result')).result as JoinResult;
  }

  /** Pays a hold; resolves once the payment is durable (errors as ApiError with their code). */
  async pay(itemId: string, orderId: string, version?: number): Promise<PaidReply> {
    return (await this.#expect({ type: 'pay', itemId, orderId, ...(version === undefined ? {} : { version }) }, 'order.result')).result as PaidReply;
  }

  async cancel(itemId: string, orderId: string): Promise<CancelReply> {
    return (await this.#expect({ type: 'cancel', itemId, orderId }, 'order.result')).result as CancelReply;
  }

  async subscribe(itemId: string): Promise<SubscribeReply> {
    return (await this.#expect({ type: 'subscribe', itemId }, 'order.result')).result as SubscribeReply;
  }

  /**
   * Runs a host command over this socket (host and ops). Without `baseVersion` it is based on
   * this socket's view of the room (which the server keeps current).
   */
  async command(cmd: CommandInput, opts: CommandOptions = {}): Promise<CommandResult> {
    const env = { idempotencyKey: opts.idempotencyKey ?? newKey(), baseVersion: opts.baseVersion ?? this.view?.version ?? 0 };
    return (await this.#expect({ type: 'command', ...cmd, ...env }, 'command.result')).result;
  }

  /** Opens a team of a team buy (shoppers): the answer of POST .../teams (held with its teamId, a refusal, or the first answer of the key). */
  async openTeam(itemId: string, idempotencyKey: string): Promise<TeamResultFrame['result']> {
    return (await this.#expect({ type: 'team.open', itemId, idempotencyKey }, 'team.result')).result;
  }

  /** Takes a seat in a team by its share code (shoppers), like POST .../teams/:teamId/join. */
  async joinTeam(itemId: string, teamId: string, idempotencyKey: string): Promise<TeamResultFrame['result']> {
    return (await this.#expect({ type: 'team.join', itemId, teamId, idempotencyKey }, 'team.result')).result;
  }

  /** Starts a bargain (or answers the caller's open one), like POST .../bargains. */
  async startBargain(itemId: string): Promise<BargainResultFrame['result']> {
    return (await this.#expect({ type: 'bargain.start', itemId }, 'bargain.result')).result;
  }

  /** Helps another shopper's bargain, like POST .../bargains/:bargainId/help. */
  async helpBargain(itemId: string, bargainId: string): Promise<BargainResultFrame['result']> {
    return (await this.#expect({ type: 'bargain.help', itemId, bargainId }, 'bargain.result')).result;
  }

  /** The starter buys at the bargain's price now (a hold to pay), like POST .../bargains/:bargainId/buy. */
  async buyBargain(itemId: string, bargainId: string): Promise<BargainResultFrame['result']> {
    return (await this.#expect({ type: 'bargain.buy', itemId, bargainId }, 'bargain.result')).result;
  }

  /** Records that the caller opened `referrer`'s share link for this room or one of its items, like HttpClient.referralClick. */
  async referralClick(referrer: string, itemId?: string): Promise<ReferralClick> {
    return (await this.#expect({ type: 'referral.click', referrer, ...(itemId ? { itemId } : {}) }, 'referral.result')).result;
  }

  /** The caller's own orders, like HttpClient.myOrders (not limited to this socket's room unless roomId says so). */
  async orders(opts: MyOrdersOptions = {}): Promise<MyOrdersReply> {
    return (await this.#expect({ type: 'orders', ...opts }, 'orders.result')).result;
  }

  /** A product detail was opened (shoppers). */
  async click(itemId: string): Promise<void> {
    await this.#expect({ type: 'product.click', itemId }, 'ack');
  }

  /** Follows the room (shoppers). */
  async follow(): Promise<void> {
    await this.#expect({ type: 'follow' }, 'ack');
  }

  /** Replaces the connection's access token (same user and role) before it expires. */
  async refreshToken(token: string): Promise<void> {
    await this.#expect({ type: 'auth', token }, 'ack');
  }

  async ping(): Promise<number> {
    return (await this.#expect({ type: 'ping' }, 'pong')).serverTime;
  }

  /** Resolves when `predicate` holds for the room view (checked after every frame). */
  until(predicate: (v: RoomView) => boolean, timeoutMs = 10_000): Promise<RoomView> {
    return new Promise((resolve, reject) => {
      if (this.view && predicate(this.view)) {
        resolve(this.view);
        return;
      }
      const timer = setTimeout(() => {
        off();
        reject(new Error(`timed out waiting for the room view (at offset ${this.view?.offset})`));
      }, timeoutMs);
      const off = this.onFrame(() => {
        if (this.view && predicate(this.view)) {
          clearTimeout(timer);
          off();
          resolve(this.view);
        }
      });
    });
  }

  get position(): { epoch: string; offset: number } | undefined {
    return this.view && { epoch: this.view.epoch, offset: this.view.offset };
  }

  close(code = 1000, reason = 'bye'): void {
    try {
      this.#ws.close(code, reason);
    } catch {
      /* already closed */
    }
  }
}
