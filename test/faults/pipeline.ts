import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { sql, type Kysely } from 'kysely';
import { expect } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { FlashSale } from '../../inventory/flash-sale.ts';
import { Keys, relayGroup } from '../../common/contracts/keys.ts';
import { Payments } from '../../inventory/payments.ts';
import { createDb, type Database } from '../../common/contracts/ledger-schema.ts';
import { createKafka, ensureTopics } from '../../common/platform/kafka.ts';
import { migrateToLatest } from '../../orders/migrate.ts';
import { auditRoomStats } from '../../orders/stats-audit.ts';
import { showFigures } from '../../orders/stats.ts';
import { waitFor } from '../helpers/wait.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The ledger pipeline as real processes for fault tests: the writer and relays run as child
 * processes (so kill -9 is real) against a private Kafka and a private Postgres; the shared Redis
 * holds the sale under a fresh key prefix. The test process drives a sale through the inventory's
 * reserve and pay wrappers and keeps what it was told: every hold and every confirmed payment.
 */

export interface Services {
  redisUrl: string;
  kafkaBrokers: string;
  databaseUrl: string;
}

export class Service {
  readonly lines: string[] = [];
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {}

  /** Resolves when a log line matches; fails with the last lines if the process exits first. */
  async ready(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${this.name} to log ${pattern}`, () => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}):\n${this.tail()}`);
      return this.lines.some((l) => pattern.test(l));
    }, timeoutMs, 50);
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  /** kill -9, and wait until it is gone. */
  async kill9(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }
}

export interface Hold {
  orderId: string;
  itemId: string;
  userId: string;
  amount: number;
}

export class Pipeline {
  readonly id = randomBytes(4).toString('hex');
  readonly keyPrefix = `f${this.id}:`;
  readonly topicPrefix = `f${this.id}.`;
  readonly schema = `f_${this.id}`;
  readonly roomId = String(5000 + Math.floor(Math.random() * 1000));
  readonly itemIds: string[];
  readonly services: Service[] = [];
  readonly holds = new Map<string, Hold>();
  readonly confirmed = new Set<string>();
  /** When each payment was confirmed to its payer (ms). */
  readonly confirmedAt: number[] = [];
  readonly refusedPayments: string[] = [];
  readonly redis: Redis;
  readonly db: Kysely<Database>;
  kafka: Kafka;
  #flash: FlashSale;
  #payments: Payments | undefined;
  #selling = false;
  #sale: Promise<void> | undefined;
  #n = 0;

  constructor(
    readonly svc: Services,
    items = 4,
  ) {
    this.itemIds = Array.from({ length: items }, (_, i) => String(60_000 + Number.parseInt(this.id.slice(0, 4), 16) * 10 + i));
    this.redis = new Redis(svc.redisUrl, { enableAutoPipelining: true });
    this.db = createDb({ url: svc.databaseUrl, schema: this.schema, max: 4 });
    this.kafka = this.#kafka();
    this.#flash = new FlashSale({ redis: this.redis, keys: new Keys(this.keyPrefix), scripts: inventoryScripts(this.redis) });
  }

  #kafka(): Kafka {
    const log = createLogger({ level: 'silent', name: 'fault-test' });
    return createKafka({ kafkaBrokers: [this.svc.kafkaBrokers], nodeId: `fault-${this.id}` }, log, 'fault-test');
  }

  env(nodeId: string): Record<string, string> {
    return {
      REDIS_URL: this.svc.redisUrl,
      DATABASE_URL: this.svc.databaseUrl,
      DATABASE_SCHEMA: this.schema,
      KAFKA_BROKERS: this.svc.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: this.topicPrefix,
      KAFKA_PARTITIONS: '3',
      KEY_PREFIX: this.keyPrefix,
      LOG_LEVEL: 'info',
      NODE_ID: nodeId,
      RELAY_CLAIM_IDLE_MS: '2000',
      LIVESALE_PARENT_PID: String(process.pid),
    };
  }

  /** Migrates the private schema, creates the topics and the items (sale open now). */
  async setup(): Promise<void> {
    await migrateToLatest(this.db, this.schema);
    await ensureTopics(this.kafka, { topics: { orders: `${this.topicPrefix}orders`, deadLetter: `${this.topicPrefix}orders.dlq`, activity: `${this.topicPrefix}room-activity` }, kafkaPartitions: 3 });
    const now = Date.now();
    for (const itemId of this.itemIds) {
      await this.#flash.createItem({ itemId, roomId: this.roomId, total: 1_000_000, price: 1990 + Number(itemId.slice(-1)) * 100, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 3600_000, holdMs: 3600_000 });
    }
    this.#payments = new Payments({ redis: this.redis, keys: new Keys(this.keyPrefix), scripts: inventoryScripts(this.redis), kafka: this.kafka, topic: `${this.topicPrefix}orders`, confirmTimeoutMs: 3000 });
    await this.#payments.start();
  }

  #spawn(name: string, entry: string, nodeId: string): Service {
    const proc = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: repoRoot, env: { ...process.env, ...this.env(nodeId) }, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new Service(name, proc);
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) s.lines.push(line);
      if (s.lines.length > 2000) s.lines.splice(0, s.lines.length - 1000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    this.services.push(s);
    return s;
  }

  async startWriter(): Promise<Service> {
    const s = this.#spawn('writer', 'scripts/writer.ts', `writer-${this.id}`);
    await s.ready(/writer running/);
    return s;
  }

  async startRelay(name: string): Promise<Service> {
    const s = this.#spawn(`relay ${name}`, 'scripts/relay.ts', `relay-${name}-${this.id}`);
    await s.ready(/relay running/);
    return s;
  }

  /**
   * Reads up to `count` new entries of every outbox stream as relay `name` would, without
   * relaying them: the window where a relay has taken entries and dies before Kafka has them.
   * Returns how many entries are now pending on that relay.
   */
  async takeAsRelay(name: string, count: number): Promise<number> {
    const keys = new Keys(this.keyPrefix);
    let taken = 0;
    for (const id of this.itemIds) {
      const r = (await this.redis.xreadgroup('GROUP', relayGroup, `relay-${name}-${this.id}`, 'COUNT', count, 'STREAMS', keys.item(id).outbox, '>')) as [string, unknown[]][] | null;
      taken += r?.[0]?.[1].length ?? 0;
    }
    return taken;
  }

  /**
   * Sells until stopSale(): `rate` reservations a second over the items, each by a new user; half
   * of the holds are then paid. Holds and confirmed payments are recorded as the caller sees them.
   */
  startSale(rate = 150): void {
    this.#selling = true;
    const pending = new Set<Promise<void>>();
    this.#sale = (async () => {
      const started = Date.now();
      let issued = 0;
      while (this.#selling) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate) - issued;
        for (let i = 0; i < due; i++) {
          issued++;
          const p = this.#buyOne().finally(() => pending.delete(p));
          pending.add(p);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all(pending);
    })();
  }

  async #buyOne(): Promise<void> {
    const n = ++this.#n;
    const itemId = this.itemIds[n % this.itemIds.length]!;
    const userId = `buyer-${this.id}-${n}`;
    const r = await this.#flash.reserve(itemId, userId, 1 + (n % 2), `key-${n}`);
    if (r.outcome !== 'held') throw new Error(`reservation refused: ${r.outcome}`);
    this.holds.set(r.orderId, { orderId: r.orderId, itemId, userId, amount: r.amount });
    if (n % 2 === 0) return;
    try {
      await this.#payments!.pay(itemId, r.orderId, userId);
      this.confirmed.add(r.orderId);
      this.confirmedAt.push(Date.now());
    } catch (err) {
      // Not confirmed to the payer (Kafka away): a payment the ledger may or may not get.
      if (err instanceof LivesaleError && err.code === 'PAYMENT_NOT_CONFIRMED') this.refusedPayments.push(r.orderId);
      else throw err;
    }
  }

  async stopSale(): Promise<void> {
    this.#selling = false;
    await this.#sale;
  }

  /** Waits until the sale has made at least `n` holds. */
  async holdsAtLeast(n: number): Promise<void> {
    await waitFor(`${n} holds`, () => this.holds.size >= n, 60_000, 20);
  }

  /**
   * After recovery: every hold in the ledger exactly once, every confirmed payment there as paid,
   * and every figure equal to a recomputation from the order rows, to the fen. Returns counts.
   */
  async verify(timeoutMs = 90_000): Promise<{ holds: number; confirmed: number; paidInLedger: number; orderedGmv: number }> {
    const held = [...this.holds.keys()];
    const confirmed = [...this.confirmed];
    await this.#explain(() => waitFor(
      `all ${held.length} holds and ${confirmed.length} confirmed payments in the ledger`,
      async () => {
        const r = await sql<{ orders: string; paid: string }>`
          SELECT count(*) FILTER (WHERE order_id = ANY(${held}::text[])) AS orders,
                 count(*) FILTER (WHERE order_id = ANY(${confirmed}::text[]) AND paid_at IS NOT NULL) AS paid
          FROM orders`.execute(this.db);
        return Number(r.rows[0]!.orders) === held.length && Number(r.rows[0]!.paid) === confirmed.length;
      },
      timeoutMs,
      250,
    ));
    // Let anything still in flight (payments not confirmed to their payer) settle, then read:
    // the outboxes are empty and the writer has committed the orders topic to its end.
    await waitFor('the outboxes to drain', async () => {
      for (const id of this.itemIds) if ((await this.redis.xlen(new Keys(this.keyPrefix).item(id).outbox)) > 0) return false;
      return true;
    }, timeoutMs, 250);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await waitFor('the writer to commit the orders topic to its end', async () => {
        const topic = `${this.topicPrefix}orders`;
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: `${this.topicPrefix}ledger-writer`, topics: [topic] });
        return ends.every((p) => p.high === '0' || committed!.partitions.find((c) => c.partition === p.partition)?.offset === p.high);
      }, timeoutMs, 250);
    } finally {
      await admin.disconnect();
    }

    // Every hold exactly once: one row and one held event per order, and nothing else.
    const rows = await this.db.selectFrom('orders').select(['order_id', 'user_id', 'item_id', 'amount', 'paid_amount', 'paid_at', 'state']).execute();
    expect(rows.map((r) => r.order_id).sort()).toEqual(held.sort());
    const heldEvents = await sql<{ order_id: string; n: string }>`SELECT order_id, count(*) AS n FROM order_events WHERE type = 'order.held' GROUP BY order_id`.execute(this.db);
    expect(heldEvents.rows.length).toBe(held.length);
    expect(heldEvents.rows.every((r) => Number(r.n) === 1)).toBe(true);
    for (const r of rows) {
      const h = this.holds.get(r.order_id)!;
      expect({ user: r.user_id, item: r.item_id, amount: Number(r.amount) }).toEqual({ user: h.userId, item: h.itemId, amount: h.amount });
    }
    // Every confirmed payment is there, paid in full; nothing is paid that was never paid for.
    const paid = rows.filter((r) => r.paid_at !== null);
    const byId = new Map(rows.map((r) => [r.order_id, r]));
    for (const id of confirmed) {
      expect(byId.get(id)?.state).toBe('paid');
      expect(Number(byId.get(id)!.paid_amount)).toBe(this.holds.get(id)!.amount);
    }
    const attempted = new Set([...confirmed, ...this.refusedPayments]);
    expect(paid.every((r) => attempted.has(r.order_id))).toBe(true);
    const paidEvents = await sql<{ n: string }>`SELECT count(*) AS n FROM order_events WHERE type = 'order.paid'`.execute(this.db);
    expect(Number(paidEvents.rows[0]!.n)).toBe(paid.length);

    // Every figure equals a recomputation from the order rows, to the fen.
    expect(await auditRoomStats(this.db, this.roomId)).toEqual([]);
    const f = await showFigures(this.db, this.roomId);
    const d = (
      await sql<{ ordered: string; paid: string; orders: string; buyers: string; placed: string }>`
        SELECT coalesce(sum(amount), 0) AS ordered, coalesce(sum(paid_amount) FILTER (WHERE paid_at IS NOT NULL), 0) AS paid,
               count(*) FILTER (WHERE paid_at IS NOT NULL) AS orders, count(DISTINCT user_id) FILTER (WHERE paid_at IS NOT NULL) AS buyers,
               count(*) AS placed
        FROM orders WHERE room_id = ${this.roomId}`.execute(this.db)
    ).rows[0]!;
    expect({ orderedGmv: f.orderedGmv, placedOrders: f.placedOrders, paidGmv: f.paidGmv, paidOrders: f.paidOrders, buyers: f.buyers }).toEqual({
      orderedGmv: Number(d.ordered),
      placedOrders: Number(d.placed),
      paidGmv: Number(d.paid),
      paidOrders: Number(d.orders),
      buyers: Number(d.buyers),
    });
    // And to what the buyers were told.
    expect(f.orderedGmv).toBe([...this.holds.values()].reduce((s, h) => s + h.amount, 0));
    return { holds: held.length, confirmed: confirmed.length, paidInLedger: paid.length, orderedGmv: f.orderedGmv };
  }

  /** Runs `f`; if it fails, the error carries the last log lines of every service. */
  async #explain<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      const logs = this.services.map((s) => `--- ${s.name} (last lines)\n${s.tail(40)}`).join('\n');
      throw new Error(`${(err as Error).message}\n${logs}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.stopSale().catch(() => {});
    for (const s of this.services) await s.stop();
    await this.#payments?.stop().catch(() => {});
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await this.redis.del(...keys);
    } while (cursor !== '0');
    this.redis.disconnect();
    await sql`DROP SCHEMA IF EXISTS ${sql.id(this.schema)} CASCADE`.execute(this.db).catch(() => {});
    await this.db.destroy();
  }
}
