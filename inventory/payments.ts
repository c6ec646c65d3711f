import type { Kafka, Producer } from 'kafkajs';
import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, assertOk, decodeAnswer, scriptError } from '../common/contracts/script-codes.ts';
import type { InventoryDeps } from './item-ops.ts';
import { checkInt, checkOrderId, checkUser } from './validate.ts';

/**
 * Payments, confirmed to the payer only once durable.
 *
 *   const payments = new Payments({ redis, keys, scripts, kafka, topic: config.topics.orders });
 *   await payments.start();                         // connects an idempotent producer (acks=all)
 *   await payments.pay(itemId, orderId, userId, version?)  -> Paid { amount, available, ver, already }
 *   await payments.stop();
 *
 * The pay script turns the hold into a sale and writes order.paid to the outbox in one call.
 * Then the same event goes to the Kafka orders topic here (idempotent producer, acks=all, keyed
 * by item like the relay's messages), and only when Kafka has acknowledged it does pay() answer.
 * The relay sends the outbox copy later: the same event id, so the ledger keeps it once. If Kafka
 * does not acknowledge in time, pay() throws PAYMENT_NOT_CONFIRMED; paying again with the same
 * order finds it already paid in Redis and confirms the same event once Kafka takes it.
 *
 * Refusals throw typed errors and change nothing (except an overdue hold, which this call
 * expires, exactly once): ORDER_NOT_FOUND, HOLD_EXPIRED (details: available, ver), HOLD_CANCELLED,
 * HOLD_CHANGED (details: version, unitPrice), GROUP_CLOSED (a failed group), ITEM_UNAVAILABLE.
 */

export interface PaymentsDeps extends InventoryDeps {
  kafka: Kafka;
  /** The Kafka orders topic. */
  topic: string;
  /**
   * How long to wait for Kafka's acknowledgement before answering PAYMENT_NOT_CONFIRMED (default
   * 5 s). A rebuild after a Redis loss waits longer than this (its grace) before reading the ledger.
   */
  confirmTimeoutMs?: number;
}

export interface Paid {
  readonly outcome: 'paid';
  readonly itemId: string;
  readonly orderId: string;
  readonly qty: number;
  /** What was charged (fen). */
  readonly amount: number;
  readonly available: number;
  readonly ver: number;
  /** It had been paid before (this call confirmed the same payment again). */
  readonly already: boolean;
  readonly eventId: string;
}

export class Payments {
  readonly #d: PaymentsDeps;
  #producer: Producer | undefined;
  #renewing: Promise<void> | undefined;

  constructor(deps: PaymentsDeps) {
    this.#d = deps;
  }

  async start(): Promise<void> {
    this.#producer = await this.#connect();
  }

  /**
   * Bounded: one retry, each request at most half the confirmation time, so a send that gives
   * up never lands later than confirmTimeoutMs after it began (the rebuild's grace covers it).
   */
  async #connect(): Promise<Producer> {
    const p = this.#d.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: this.#timeoutMs / 2 },
    });
    await p.connect();
    return p;
  }

  /**
   * After a failed send the idempotent producer's sequence numbers may be out of step with the
   * broker (a restarted broker answers OUT_OF_ORDER_SEQUENCE_NUMBER forever), so the next payments
   * use a fresh producer. One renewal at a time; payments meanwhile keep the old one.
   */
  #renew(): void {
    if (this.#renewing || !this.#producer) return;
    const old = this.#producer;
    this.#renewing = this.#connect()
      .then((fresh) => {
        if (this.#producer === old) this.#producer = fresh;
        else void fresh.disconnect();
        void old.disconnect().catch(() => {});
      })
      .catch(() => {
        // Kafka is still unreachable: the next failed payment tries again.
      })
      .finally(() => {
        this.#renewing = undefined;
      });
  }

  async stop(): Promise<void> {
    await this.#renewing;
    await this.#producer?.disconnect();
    this.#producer = undefined;
  }

  /** Pays `orderId` for its holder; `version` is the hold version the payer saw (omit: current). */
  async pay(itemId: string, orderId: string, userId: string, version?: number): Promise<Paid> {
    checkOrderId(orderId);
    checkUser(userId);
    if (version !== undefined) checkInt(version, 'version', 1, 1_000_000);
    const producer = this.#producer;
    if (!producer) throw new LivesaleError('SHUTTING_DOWN', 'payments are not started');
    const k = this.#d.keys.item(itemId);
    const a = decodeAnswer(await this.#d.scripts.call('pay', [k.item, k.users, k.holds, k.deadlines, k.outbox], [orderId, userId, version ?? '']));
    const f = a.fields;
    if (a.code === ScriptCode.HOLD_EXPIRED) throw scriptError(a.code, undefined, { available: Number(f[0]), ver: Number(f[1]) });
    if (a.code === ScriptCode.HOLD_CHANGED) {
      throw new LivesaleError('HOLD_CHANGED', `the reservation is at version ${f[0]} (unit price ${f[1]}), not ${version}`, { version: Number(f[0]), unitPrice: Number(f[1]) });
    }
    assertOk(a);
    const event = String(f[0]);
    await this.#confirm(producer, itemId, event);
    const e = JSON.parse(event) as { id: string; qty: number };
    return { outcome: 'paid', itemId, orderId, qty: e.qty, amount: Number(f[3]), available: Number(f[1]), ver: Number(f[2]), already: a.code === ScriptCode.ALREADY, eventId: e.id };
  }

  get #timeoutMs(): number {
    return this.#d.confirmTimeoutMs ?? 5000;
  }

  async #confirm(producer: Producer, itemId: string, event: string): Promise<void> {
    const timeoutMs = this.#timeoutMs;
    const started = Date.now();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          producer.send({ topic: this.#d.topic, acks: -1, timeout: Math.floor(timeoutMs / 2), messages: [{ key: itemId, value: event }] }),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no acknowledgement within ${timeoutMs} ms`)), timeoutMs - (Date.now() - started));
          }),
        ]);
        return;
      } catch (err) {
        // The broker refused the write because the partition's leader was moving (a topic just
        // created, a broker restarting): nothing was written, so sending again is safe, while
        // half the confirmation time is left.
        if (leaderMoving(err) && Date.now() - started < timeoutMs / 2) {
          await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
          continue;
        }
        this.#renew();
        throw new LivesaleError('PAYMENT_NOT_CONFIRMED', undefined, undefined, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/** Kafka's answers meaning the partition has no leader at the moment (the write was refused). */
const leaderMovingTypes = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER']);

function leaderMoving(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.type === 'string' && leaderMovingTypes.has(e.type)) return true;
  }
  return false;
}
