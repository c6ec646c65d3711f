import type { Kafka, Producer } from 'kafkajs';
import type { Kysely } from 'kysely';
import type { Logger } from '../common/platform/logger.ts';
import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import type { ActivityEvent } from '../common/contracts/activity-events.ts';
import { parseActivityEvent, writeActivityBatch } from './activity-write.ts';
import { BatchConsumer, type CommitInfo } from './batch-consumer.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { parseInventoryEvent, writeInventoryBatch } from './ledger-write.ts';
import { postCommissions } from './referrals.ts';

export interface WriterOptions {
  kafka: Kafka;
  db: Kysely<Database>;
  /** The orders topic (inventory events). */
  topic: string;
  deadLetterTopic: string;
  /** Consumer group of the orders topic; the activity consumer uses `<groupId>.activity`. */
  groupId: string;
  log: Logger;
  /** The room-activity topic; without it only orders are written. */
  activityTopic?: string;
  /** Partitions handled at once per topic (each batch is its own transaction); default 6. */
  concurrency?: number;
  /** Called after each committed batch with the rooms whose figures it changed (live stats push). */
  onCommit?: (rooms: ReadonlySet<string>, info: CommitInfo<InventoryEvent | ActivityEvent>) => void;
}

/**
 * The Postgres writer: the orders topic into the order ledger (events, orders folded from their
 * facts, refunds, per-minute figures, buyers, referral commissions) and, with `activityTopic`, room activity into its
 * tables; each through its own consumer group, so a burst of viewer events never delays the
 * ledger. See BatchConsumer for the delivery guarantees.
 */
export class Writer {
  readonly #o: WriterOptions;
  #dlq: Producer | undefined;
  #orders: BatchConsumer<InventoryEvent> | undefined;
  #activity: BatchConsumer<ActivityEvent> | undefined;

  constructor(opts: WriterOptions) {
    this.#o = opts;
  }

  /** Inventory events written so far (re-deliveries excluded). */
  get written(): number {
    return this.#orders?.written ?? 0;
  }

  /** Room-activity events written so far (re-deliveries excluded). */
  get activityWritten(): number {
    return this.#activity?.written ?? 0;
  }

  /** Messages sent to the dead-letter topic so far. */
  get deadLettered(): number {
    return (this.#orders?.deadLettered ?? 0) + (this.#activity?.deadLettered ?? 0);
  }

  async start(): Promise<void> {
    const { kafka, db, log, deadLetterTopic } = this.#o;
    // Dead letters are at-least-once anyway (a batch given back is dead-lettered again), so a plain
    // producer: an idempotent one can fall out of step with a restarted broker and refuse every send.
    this.#dlq = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 } });
    await this.#dlq.connect();
    const onCommit = this.#o.onCommit;
    this.#orders = new BatchConsumer<InventoryEvent>({
      kafka,
      db,
      topic: this.#o.topic,
      groupId: this.#o.groupId,
      deadLetter: this.#dlq,
      deadLetterTopic,
      log: log.child({ component: 'writer', topic: this.#o.topic }),
      parse: parseInventoryEvent,
      // Referral commissions follow the batch's payments and refunds in the same transaction.
      write: async (trx, batch) => {
        const result = await writeInventoryBatch(trx, batch);
        await postCommissions(trx, result.freshEvents);
        return result;
      },
      onCommit,
      concurrency: this.#o.concurrency ?? 6,
    });
    await this.#orders.start();
    if (this.#o.activityTopic) {
      this.#activity = new BatchConsumer<ActivityEvent>({
        kafka,
        db,
        topic: this.#o.activityTopic,
        groupId: `${this.#o.groupId}.activity`,
        deadLetter: this.#dlq,
        deadLetterTopic,
        log: log.child({ component: 'activity-writer', topic: this.#o.activityTopic }),
        parse: parseActivityEvent,
        write: writeActivityBatch,
        onCommit,
        concurrency: this.#o.concurrency ?? 6,
      });
      await this.#activity.start();
    }
  }

  async stop(): Promise<void> {
    await this.#orders?.stop();
    await this.#activity?.stop();
    await this.#dlq?.disconnect();
  }
}
