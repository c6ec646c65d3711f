import type { Admin, Kafka } from 'kafkajs';
import { LivesaleError } from '../common/platform/errors.ts';

/**
 * Waits until the ledger has everything Kafka had at a moment: the high watermarks of the orders
 * topic are taken first, then the ledger writer's consumer group is polled until its committed
 * offsets reach them. The writer commits only after its Postgres transaction, so from then on the
 * ledger holds every event produced before the watermarks were taken.
 */
export class LedgerFence {
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #groupId: string;
  #admin: Admin | undefined;

  constructor(opts: { kafka: Kafka; topic: string; writerGroupId: string }) {
    this.#kafka = opts.kafka;
    this.#topic = opts.topic;
    this.#groupId = opts.writerGroupId;
  }

  async #connected(): Promise<Admin> {
    if (!this.#admin) {
      const a = this.#kafka.admin();
      await a.connect();
      this.#admin = a;
    }
    return this.#admin;
  }

  /** The high watermark of every partition now. */
  async marks(): Promise<Map<number, bigint>> {
    const admin = await this.#connected();
    const offsets = await admin.fetchTopicOffsets(this.#topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  }

  /** True when the writer has committed past every mark. */
  async passed(marks: Map<number, bigint>): Promise<boolean> {
    const admin = await this.#connected();
    const [t] = await admin.fetchOffsets({ groupId: this.#groupId, topics: [this.#topic] });
    const committed = new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    for (const [partition, high] of marks) {
      if (high === 0n) continue;
      if ((committed.get(partition) ?? -1n) < high) return false;
    }
    return true;
  }

  /** Takes the marks now and waits for the writer to pass them; ITEM_UNAVAILABLE when it does not in time. */
  async wait(timeoutMs: number, pollMs = 50): Promise<void> {
    const marks = await this.marks();
    const deadline = Date.now() + timeoutMs;
    while (!(await this.passed(marks))) {
      if (Date.now() > deadline) {
        throw new LivesaleError('ITEM_UNAVAILABLE', `the ledger writer (${this.#groupId}) has not caught up with ${this.#topic} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    await this.#admin?.disconnect();
    this.#admin = undefined;
  }
}
