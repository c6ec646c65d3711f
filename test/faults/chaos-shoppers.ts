import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ApiError, HttpClient, RoomSocket, type PaidReply, type WebSocketCtor } from '../../web/client.ts';
import type { BuyResult } from '../../common/contracts/protocol.ts';

const NodeWebSocket = WebSocket as unknown as WebSocketCtor;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The storm's shoppers: each keeps a room socket on one gateway node and sends its intents over
 * HTTP, retrying every intent with the same idempotency key (a hold) or the same order (a
 * payment) on any failure that is not an answer (connection refused or reset, a 5xx, a 429, no
 * reply in time), against whichever node is up, until it gets a definitive one. What each
 * shopper was told is kept for the checks after recovery.
 */

export interface Told {
  /** Idempotency key -> every order id a `held` answer (first or duplicate) named for it. */
  readonly keys: Map<string, Set<string>>;
  /** Order id -> the hold as its buyer was told. */
  readonly holds: Map<string, { itemId: string; userId: string; qty: number; amount: number }>;
  /** Order id -> amount confirmed paid to its payer. */
  readonly paid: Map<string, number>;
  /** Intents retried at least once, and the retries. */
  retriedIntents: number;
  retries: number;
  /** Socket moves to another node after a drop. */
  moves: number;
  refusals: Record<string, number>;
}

/** The gateway nodes up now; a node killed leaves the list, a node (re)started joins it. */
export class Nodes {
  readonly #urls: string[] = [];
  add(url: string): void {
    this.#urls.push(url);
  }
  remove(url: string): void {
    const i = this.#urls.indexOf(url);
    if (i >= 0) this.#urls.splice(i, 1);
  }
  pick(n: number, avoid?: string): string | undefined {
    const up = this.#urls.filter((u) => u !== avoid);
    const list = up.length ? up : this.#urls;
    return list[n % Math.max(1, list.length)];
  }
}

/** An answer that is not one: the request must be sent again with the same key. */
function transient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 0 || err.status >= 500 || err.status === 429;
  return true; // fetch failed, socket reset, timed out
}

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms)))]).finally(() => clearTimeout(t!));
}

export class Shopper {
  socket: RoomSocket | undefined;
  node: string;
  #stopped = false;
  #n = 0;

  constructor(
    readonly userId: string,
    readonly token: string,
    readonly roomId: string,
    readonly itemIds: readonly string[],
    readonly nodes: Nodes,
    readonly told: Told,
    readonly index: number,
  ) {
    this.node = nodes.pick(index)!;
  }

  async connect(): Promise<void> {
    this.socket = await RoomSocket.connect({ baseUrl: this.node, roomId: this.roomId, token: this.token, WebSocket: NodeWebSocket });
    this.#watch(this.socket);
  }

  /** On a drop, moves to another node from the socket's position (keeping its view). */
  #watch(s: RoomSocket): void {
    s.onFrame((f) => {
      if (f.type !== 'error' || (f as { code?: string }).code !== 'CLOSED' || this.#stopped) return;
      void this.#move(s);
    });
  }

  async #move(from: RoomSocket): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      const node = this.nodes.pick(this.index + attempt, attempt === 0 ? this.node : undefined);
      if (node) {
        try {
          const s = await within(from.reconnect({ baseUrl: node, token: this.token, WebSocket: NodeWebSocket }), 5000);
          this.node = node;
          this.socket = s;
          this.told.moves++;
          this.#watch(s);
          return;
        } catch {
          /* that node is not up (yet): try the next */
        }
      }
      await sleep(200 + Math.random() * 300);
    }
  }

  /** Sends `attempt` to the shopper's node, then to any node up, until it answers definitively. */
  async #retry<T>(attempt: (http: HttpClient) => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      const node = n === 0 ? this.node : (this.nodes.pick(this.index + n) ?? this.node);
      try {
        return await within(attempt(new HttpClient(node, this.token)), 5000);
      } catch (err) {
        if (!transient(err)) throw err;
        if (n === 0) this.told.retriedIntents++;
        this.told.retries++;
        await sleep(100 + Math.random() * 400);
      }
    }
  }

  /** Buys and pays until stopped: one intent at a time, every `pauseMs` on average. */
  async run(pauseMs: number): Promise<void> {
    while (!this.#stopped) {
      await sleep(pauseMs / 2 + Math.random() * pauseMs);
      if (this.#stopped) break;
      const n = this.#n++;
      const itemId = this.itemIds[(this.index + n) % this.itemIds.length]!;
      const key = `k-${this.userId}-${n}-${randomBytes(3).toString('hex')}`;
      const qty = 1 + ((this.index + n) % 2);
      const r: BuyResult = await this.#retry((h) => h.buy(this.roomId, itemId, qty, key));
      const held = r.outcome === 'held' ? r : r.outcome === 'duplicate' && r.first.outcome === 'held' ? r.first : undefined;
      if (held?.outcome !== 'held') {
        const why = r.outcome === 'duplicate' ? r.first.outcome : r.outcome;
        this.told.refusals[why] = (this.told.refusals[why] ?? 0) + 1;
        continue;
      }
      let ids = this.told.keys.get(key);
      if (!ids) this.told.keys.set(key, (ids = new Set()));
      ids.add(held.orderId);
      this.told.holds.set(held.orderId, { itemId, userId: this.userId, qty: held.qty, amount: held.amount });
      if (n % 3 === 2) continue; // a third of the holds stay unpaid
      const p: PaidReply = await this.#retry((h) => h.pay(this.roomId, itemId, held.orderId));
      this.told.paid.set(held.orderId, p.amount);
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  close(): void {
    this.#stopped = true;
    this.socket?.close();
  }
}
