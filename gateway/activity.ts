import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../common/platform/logger.ts';
import { activityEvent, type ActivityEvent } from '../common/contracts/activity-events.ts';
import type { GatewayMetrics } from './metrics.ts';
import { createBackoff, sleep } from '../common/platform/retry.ts';

export interface ActivityOptions {
  kafka: Kafka;
  topic: string;
  log: Logger;
  metrics: GatewayMetrics;
  /** Events held in memory while Kafka is slow or away; past this the oldest are dropped (counted). */
  maxQueued?: number;
  /** Longest wait before a batch goes out. */
  lingerMs?: number;
  maxBatch?: number;
}

/**
 * Room-activity events (common/contracts/activity-events.ts) to Kafka, keyed by room id, off the socket path:
 * `publish` only validates and queues; a background loop sends batches. When Kafka is away the
 * queue is bounded and the oldest events are dropped (and counted), so sockets never wait and
 * memory never grows without bound. Event ids are deterministic, so a re-send is harmless.
 */
export class ActivityPublisher {
  readonly #o: Required<ActivityOptions>;
  readonly #producer: Producer;
  #queue: ActivityEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #connected: Promise<void> | undefined;
  #closed = false;
  readonly #backoff = createBackoff();
  /** Delay before the next send after a failed one (0: the last send went out). */
  #retryInMs = 0;

  constructor(opts: ActivityOptions) {
    this.#o = { maxQueued: 100_000, lingerMs: 50, maxBatch: 1000, ...opts };
    this.#producer = opts.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });
  }

  /** Validates and queues one event; never waits, never throws for Kafka trouble. */
  publish(e: ActivityEvent): void {
    if (this.#closed) return;
    const parsed = activityEvent.safeParse(e);
    if (!parsed.success) {
      this.#o.metrics.activity.inc({ outcome: 'invalid' });
      this.#o.log.warn({ type: e.type, issues: parsed.error.issues.slice(0, 3) }, 'activity event does not match its contract');
      return;
    }
    this.#queue.push(parsed.data);
    if (this.#queue.length > this.#o.maxQueued) {
      const drop = this.#queue.length - this.#o.maxQueued;
      this.#queue.splice(0, drop);
      this.#o.metrics.activity.inc({ outcome: 'dropped' }, drop);
    }
    this.#schedule();
  }

  #schedule(delay = this.#o.lingerMs): void {
    if (this.#timer || this.#sending || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sending = this.#sendBatch().finally(() => {
        this.#sending = undefined;
        if (this.#queue.length) this.#schedule(this.#retryInMs || this.#o.lingerMs);
      });
    }, delay);
  }

  async #sendBatch(): Promise<void> {
    if (!this.#queue.length) return;
    const batch = this.#queue.slice(0, this.#o.maxBatch);
    try {
      this.#connected ??= this.#producer.connect();
      await this.#connected;
      await this.#producer.send({
        topic: this.#o.topic,
        acks: 1,
        messages: batch.map((e) => ({ key: e.room, value: JSON.stringify(e) })),
      });
      // Only now remove them: a failed send keeps them for the next try.
      this.#queue.splice(0, batch.length);
      this.#o.metrics.activity.inc({ outcome: 'sent' }, batch.length);
      this.#backoff.reset();
      this.#retryInMs = 0;
    } catch (err) {
      this.#connected = undefined;
      this.#retryInMs = this.#backoff.next();
      this.#o.metrics.activity.inc({ outcome: 'failed' }, batch.length);
      this.#o.log.warn({ err: (err as Error).message, queued: this.#queue.length }, 'activity events not sent; will retry');
    }
  }

  /** Sends what is queued (bounded by `timeoutMs`), then disconnects. */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#sending) await this.#sending;
      if (!this.#queue.length) break;
      this.#sending = this.#sendBatch().finally(() => (this.#sending = undefined));
      await this.#sending;
      if (this.#queue.length && this.#retryInMs) await sleep(Math.min(this.#retryInMs, Math.max(0, deadline - Date.now())));
    }
    this.#closed = true;
    if (this.#queue.length) this.#o.metrics.activity.inc({ outcome: 'dropped' }, this.#queue.length);
    this.#queue = [];
    await this.#producer.disconnect().catch(() => {});
  }
}
