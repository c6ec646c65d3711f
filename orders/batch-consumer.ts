import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import { pgDataError } from '../common/platform/driver-errors.ts';
import { backoffMs, createBackoff, defaultRetry, retryPolicy, sleep, type RetryPolicy } from '../common/platform/retry.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';

/** A message's verdict: an event to write, or poison with its error. */
export type Parsed<E> = { ok: true; event: E; raw: string } | { ok: false; error: string };

export interface BatchResult {
  /** Rooms whose figures changed (for the live stats push). */
  rooms: ReadonlySet<string>;
  /** Events that were new to the ledger (not re-deliveries). */
  fresh: number;
}

export interface CommitInfo<E> {
  topic: string;
  partition: number;
  /** Events of the batch that were new to the ledger. */
  events: readonly E[];
  /** Date.now() right after the transaction committed. */
  committedAt: number;
}

export interface BatchConsumerOptions<E> {
  kafka: Kafka;
  db: Kysely<Database>;
  topic: string;
  groupId: string;
  deadLetter: Producer;
  deadLetterTopic: string;
  log: Logger;
  parse(raw: string): Parsed<E>;
  /** Writes a batch of distinct, valid events inside `trx`; returns what changed. */
  write(trx: Transaction<Database>, events: readonly { event: E; raw: string }[]): Promise<BatchResult & { freshEvents: readonly E[] }>;
  onCommit?: (rooms: ReadonlySet<string>, info: CommitInfo<E>) => void;
  /** Partitions handled at once (each batch is its own transaction). */
  concurrency?: number;
  /** Backoff cap while Postgres is unreachable. */
  maxBackoffMs?: number;
}

/**
 * SQLSTATE classes 22 and 23 mean "this data can never be written"; every other failure (Postgres
 * away, a deadlock, a restart) is waited out with the partition paused, since the writer must
 * never skip an event.
 */
const isDataError = pgDataError;

/** Rebuilding a crashed consumer: a second or two at first, at most ten apart. */
const rebuildPolicy = retryPolicy({ initialMs: 2000, maxMs: 10_000 });

export function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return `${e?.code ? `${e.code} ` : ''}${e?.message ?? String(err)}`;
}

/**
 * Consumes one topic in batches into Postgres, exactly once in effect:
 * - each batch is written in one transaction (the writer's inserts use ON CONFLICT on event ids,
 *   so a re-delivered batch changes nothing), and its offsets are committed only after the
 *   transaction committed;
 * - a message that cannot be parsed, or that Postgres refuses as data (SQLSTATE classes 22 and 23,
 *   found by writing the batch event by event), goes to the dead-letter topic with its error and
 *   never stalls its partition;
 * - while Postgres is unreachable the partition pauses: the batch is retried with jittered
 *   exponential backoff (heartbeating, so the group keeps the partition) until it commits, and
 *   consumption resumes where it stopped. Nothing is skipped.
 * If the consumer crashes in a way KafkaJS would not restart, it is rebuilt with backoff.
 */
export class BatchConsumer<E> {
  readonly #o: BatchConsumerOptions<E>;
  #consumer: Consumer | undefined;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #rebuilds = createBackoff(rebuildPolicy);
  /** Retrying a batch while Postgres is unreachable. */
  readonly #writePolicy: RetryPolicy;
  #written = 0;
  #deadLettered = 0;

  constructor(opts: BatchConsumerOptions<E>) {
    this.#o = opts;
    this.#writePolicy = opts.maxBackoffMs === undefined ? defaultRetry : Object.freeze({ ...defaultRetry, maxMs: opts.maxBackoffMs });
  }

  /** Events written so far (re-deliveries excluded). */
  get written(): number {
    return this.#written;
  }

  get deadLettered(): number {
    return this.#deadLettered;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#startConsumer();
  }

  async #startConsumer(): Promise<void> {
    const { kafka, topic, groupId } = this.#o;
    const consumer = kafka.consumer({
      groupId,
      // A writer that dies is noticed within 10 s and its partitions go to the others.
      sessionTimeout: 10_000,
      heartbeatInterval: 2000,
      maxWaitTimeInMs: 50,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload as { error: Error; restart: boolean };
      if (restart || this.#stopped) return;
      this.#o.log.error({ err: error.message, topic }, 'consumer crashed; rebuilding it');
      this.#scheduleRebuild();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#o.concurrency ?? 1,
      eachBatch: (payload) => this.#handle(consumer, payload),
    });
    this.#rebuilds.reset();
  }

  #scheduleRebuild(): void {
    this.#restartTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#startConsumer().catch((err: unknown) => {
        this.#o.log.error({ err: describeError(err) }, 'consumer rebuild failed; retrying');
        this.#scheduleRebuild();
      });
    }, this.#rebuilds.next());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    await this.#consumer?.disconnect();
  }

  async #handle(consumer: Consumer, { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    const good: { event: E; raw: string; message: KafkaMessage }[] = [];
    const poison: { message: KafkaMessage; error: string }[] = [];
    for (const message of batch.messages) {
      const raw = message.value?.toString() ?? '';
      const p = this.#o.parse(raw);
      if (p.ok) good.push({ event: p.event, raw, message });
      else poison.push({ message, error: p.error });
    }
    await this.#deadLetter(batch.topic, batch.partition, poison);

    const backoff = createBackoff(this.#writePolicy);
    let result: (BatchResult & { freshEvents: readonly E[] }) | undefined = good.length ? undefined : { rooms: new Set(), fresh: 0, freshEvents: [] };
    while (!result) {
      if (!isRunning() || isStale()) return; // offsets not committed: the batch will be re-delivered
      try {
        result = await this.#o.db.transaction().execute((trx) => this.#o.write(trx, good));
        break;
      } catch (err) {
        if (isDataError(err)) {
          result = await this.#oneByOne(batch.topic, batch.partition, good, heartbeat);
          if (result) break;
          return;
        }
        const wait = backoff.next();
        this.#o.log.warn({ err: describeError(err), attempt: backoff.attempts, retryInMs: Math.round(wait), topic: batch.topic, partition: batch.partition }, 'ledger write failed; partition paused, retrying the batch');
        await sleep(wait);
        try {
          await heartbeat();
        } catch {
          return; // the group is rebalancing: give the partition back uncommitted
        }
      }
    }
    const committedAt = Date.now();
    // Only now may the fetch position move past the batch, and the group's offset with it.
    resolveOffset(batch.lastOffset());
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
    this.#written += result.fresh;
    if (result.rooms.size || result.freshEvents.length) {
      try {
        this.#o.onCommit?.(result.rooms, { topic: batch.topic, partition: batch.partition, events: result.freshEvents, committedAt });
      } catch (err) {
        this.#o.log.warn({ err: describeError(err) }, 'commit listener failed');
      }
    }
  }

  /**
   * Postgres refused the batch as data: write event by event so the bad ones go to the dead-letter
   * topic and the rest are written. Returns undefined if the consumer must give the batch back.
   */
  async #oneByOne(
    topic: string,
    partition: number,
    good: readonly { event: E; raw: string; message: KafkaMessage }[],
    heartbeat: () => Promise<void>,
  ): Promise<(BatchResult & { freshEvents: readonly E[] }) | undefined> {
    const rooms = new Set<string>();
    const freshEvents: E[] = [];
    let fresh = 0;
    const poison: { message: KafkaMessage; error: string }[] = [];
    for (const g of good) {
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await this.#o.db.transaction().execute((trx) => this.#o.write(trx, [g]));
          for (const room of r.rooms) rooms.add(room);
          freshEvents.push(...r.freshEvents);
          fresh += r.fresh;
          break;
        } catch (err) {
          if (isDataError(err)) {
            poison.push({ message: g.message, error: `refused by the ledger: ${describeError(err)}` });
            break;
          }
          if (attempt > 50) return undefined;
          await sleep(backoffMs(attempt, this.#writePolicy));
          try {
            await heartbeat();
          } catch {
            return undefined;
          }
        }
      }
    }
    await this.#deadLetter(topic, partition, poison);
    return { rooms, fresh, freshEvents };
  }

  async #deadLetter(topic: string, partition: number, poison: readonly { message: KafkaMessage; error: string }[]): Promise<void> {
    if (poison.length === 0) return;
    await this.#o.deadLetter.send({
      topic: this.#o.deadLetterTopic,
      acks: -1,
      messages: poison.map(({ message, error }) => ({
        key: message.key,
        value: message.value,
        headers: { error: error.slice(0, 2000), 'source-topic': topic, 'source-partition': String(partition), 'source-offset': message.offset },
      })),
    });
    this.#deadLettered += poison.length;
    this.#o.log.error({ count: poison.length, topic, partition, firstError: poison[0]!.error }, 'sent poison messages to the dead-letter topic');
  }
}
