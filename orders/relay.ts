import { Cluster, type Redis } from 'ioredis';
import { redisReplyCode } from '../common/platform/driver-errors.ts';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from '../common/platform/logger.ts';
import { relayGroup, type Keys } from '../common/contracts/keys.ts';

export interface RelayOptions {
  redis: Redis | Cluster;
  keys: Keys;
  kafka: Kafka;
  topic: string;
  log: Logger;
  /** This instance's consumer name in every outbox stream's group (unique per instance). */
  consumer: string;
  /** Entries read per stream per round. */
  batchSize?: number;
  /** Idle wait between rounds that found nothing, where the relay cannot block (Redis Cluster, no items, very many items). */
  idleMs?: number;
  /**
   * How long one blocking read waits for new entries; also how often the registry of live items
   * is read again, so a new item's stream is picked up within about this long.
   */
  blockMs?: number;
  /** Streams read in one blocking call; beyond that the relay polls every `idleMs`. */
  maxStreamsPerCall?: number;
  /** Entries pending this long on another consumer (a crashed relay) are re-claimed. */
  claimIdleMs?: number;
}

type StreamEntry = [id: string, fields: string[] | null];

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/**
 * Moves outbox entries to Kafka: read with XREADGROUP (every relay instance is a consumer in
 * the same group on every outbox stream, so instances share the work), send with an idempotent
 * producer (acks=all, keyed by item so each item's events stay in one partition, in order), and
 * only then XACK and XDEL: an entry leaves Redis only after Kafka has it. A crash between the
 * send and the ack only causes a re-send (the writer ignores event ids it already has).
 *
 * It reads only the streams of live items (the outbox registry; retired items leave it), and
 * waits for new entries with one XREADGROUP ... BLOCK over all of them on a connection of its
 * own, so an idle relay makes one call per `blockMs`, not one per stream every few ms. On Redis
 * Cluster (streams in many slots) it polls each stream every `idleMs` instead.
 *
 * Entries that stay pending: this instance's own (a failed round, or a restart under the same
 * name) are read again first; another instance's (it crashed) are re-claimed with XAUTOCLAIM
 * once idle for `claimIdleMs`.
 */
export class Relay {
  readonly #o: Required<RelayOptions>;
  #producer: Producer | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #streams: string[] = [];
  #streamsAt = 0;
  /** Streams without the group that could not get it (the key is gone): left out until the next registry read. */
  readonly #broken = new Set<string>();
  #blocking: Redis | undefined;
  #claimAt = 0;
  #ownPending = true;
  /** The last round waited in a blocking read (no idle pause needed after it). */
  #blocked = false;
  #moreOwn = false;
  #producerStale = false;
  #relayed = 0;
  #claimed = 0;

  constructor(opts: RelayOptions) {
    this.#o = { batchSize: 500, idleMs: 10, blockMs: 1000, maxStreamsPerCall: 1000, claimIdleMs: 15_000, ...opts };
  }

  /** Entries sent to Kafka and acknowledged in Redis so far. */
  get relayed(): number {
    return this.#relayed;
  }

  /** Entries taken over from other (crashed) relay instances so far. */
  get claimed(): number {
    return this.#claimed;
  }

  async start(): Promise<void> {
    await this.#connectProducer();
    this.#running = true;
    this.#loop = this.#run();
  }

  /**
   * A fresh idempotent producer (a new producer id, sequence numbers from zero). After a failed
   * send the old one may be out of step with the broker (OUT_OF_ORDER_SEQUENCE_NUMBER on every
   * later send, e.g. after a broker restart), so a failed round always starts over with a new one.
   * Its internal retries ride out short outages: an outage stalls the relay, never skips entries.
   */
  async #connectProducer(): Promise<void> {
    const old = this.#producer;
    this.#producer = undefined;
    await old?.disconnect().catch(() => {});
    const producer = this.#o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 } });
    await producer.connect();
    this.#producer = producer;
  }

  async stop(): Promise<void> {
    this.#running = false;
    // Ends a blocking read at once (it rejects; the loop sees it is stopping).
    this.#blocking?.disconnect();
    await this.#loop;
    this.#blocking?.disconnect();
    this.#blocking = undefined;
    await this.#producer?.disconnect().catch(() => {});
  }

  async #run(): Promise<void> {
    let backoff = 0;
    while (this.#running) {
      try {
        if (!this.#producer) await this.#connectProducer();
        const moved = await this.relayOnce();
        backoff = 0;
        if (moved === 0 && !this.#blocked) await sleep(this.#o.idleMs);
      } catch (err) {
        if (!this.#running) break;
        this.#ownPending = true;
        this.#producerStale = true;
        backoff = Math.min(5000, backoff ? backoff * 2 : 100);
        const wait = backoff / 2 + Math.random() * (backoff / 2);
        this.#o.log.warn({ err: (err as Error).message, retryInMs: Math.round(wait) }, 'relay round failed; retrying');
        await sleep(wait);
        if (this.#producerStale) {
          this.#producerStale = false;
          await this.#connectProducer().catch((e: unknown) => this.#o.log.warn({ err: (e as Error).message }, 'relay cannot reach Kafka yet'));
        }
      }
    }
  }

  async #read(stream: string, claim: boolean, own: boolean, fresh: boolean): Promise<StreamEntry[]> {
    const { redis, batchSize, consumer } = this.#o;
    const entries: StreamEntry[] = [];
    try {
      if (own) {
        const r = (await redis.xreadgroup('GROUP', relayGroup, consumer, 'COUNT', batchSize, 'STREAMS', stream, '0')) as [string, StreamEntry[]][] | null;
        if (r?.[0]) entries.push(...r[0][1]);
        if ((r?.[0]?.[1].length ?? 0) >= batchSize) this.#moreOwn = true;
      }
      if (claim) {
        const r = (await redis.xautoclaim(stream, relayGroup, consumer, this.#o.claimIdleMs, '0-0', 'COUNT', batchSize)) as [string, StreamEntry[]];
        const taken = r[1].filter((e) => e[1] !== null);
        this.#claimed += taken.length;
        if (taken.length) this.#o.log.info({ stream, count: taken.length }, 're-claimed entries pending too long (a relay died or a round failed)');
        entries.push(...taken);
      }
      if (fresh) {
        const r = (await redis.xreadgroup('GROUP', relayGroup, consumer, 'COUNT', batchSize, 'STREAMS', stream, '>')) as [string, StreamEntry[]][] | null;
        if (r?.[0]) entries.push(...r[0][1]);
      }
    } catch (err) {
      if (redisReplyCode(err) === 'NOGROUP') {
        // The stream lost its group (Redis lost data and the item was rebuilt): recreate it, never the stream.
        await redis.xgroup('CREATE', stream, relayGroup, '0').catch(() => {});
        return [];
      }
      throw err;
    }
    return tidy(entries);
  }

  /**
   * New entries of every stream in one call, waiting up to `blockMs` when `wait` and none are
   * there yet. Undefined where one call cannot serve (Cluster, too many streams): read each.
   */
  async #readFresh(streams: string[], wait: boolean): Promise<Map<string, StreamEntry[]> | undefined> {
    const { redis, batchSize, consumer, blockMs } = this.#o;
    if (redis instanceof Cluster || streams.length > this.#o.maxStreamsPerCall) return undefined;
    // A blocking read holds its connection: never the one the acknowledgements go through.
    const conn = wait ? (this.#blocking ??= redis.duplicate({ connectionName: `${redis.options.connectionName ?? 'relay'}-block`, maxRetriesPerRequest: null })) : redis;
    const args: (string | number)[] = ['GROUP', relayGroup, consumer, 'COUNT', batchSize];
    if (wait) args.push('BLOCK', blockMs);
    args.push('STREAMS', ...streams, ...streams.map(() => '>'));
    const out = new Map<string, StreamEntry[]>();
    let r: [string, StreamEntry[]][] | null;
    try {
      r = (await conn.call('XREADGROUP', ...args)) as [string, StreamEntry[]][] | null;
    } catch (err) {
      // A stream was deleted while the read waited on it (an item's keys expired after it retired,
      // or a namespace was dropped): nothing was read; the registry is read again next round.
      if (redisReplyCode(err) === 'UNBLOCKED') {
        this.#streamsAt = 0;
        return out;
      }
      if (redisReplyCode(err) !== 'NOGROUP') throw err;
      // A stream lost its group (Redis lost data and the item was rebuilt): recreate it, never the
      // stream; a stream whose key is gone is left out until the registry is read again.
      for (const stream of streams) {
        await redis.xgroup('CREATE', stream, relayGroup, '0').catch((e: Error) => {
          if (redisReplyCode(e) !== 'BUSYGROUP') this.#broken.add(stream);
        });
      }
      return out;
    }
    for (const [stream, entries] of r ?? []) out.set(stream, tidy(entries));
    return out;
  }

  /** One round over every outbox stream; returns how many entries reached Kafka. */
  async relayOnce(): Promise<number> {
    const { redis, keys } = this.#o;
    const now = Date.now();
    this.#blocked = false;
    if (now - this.#streamsAt >= this.#o.blockMs) {
      const ids = await redis.smembers(keys.outboxRegistry);
      this.#streams = ids.map((id) => keys.item(id).outbox);
      this.#streamsAt = now;
      this.#broken.clear();
    }
    const streams = this.#broken.size ? this.#streams.filter((s) => !this.#broken.has(s)) : this.#streams;
    if (streams.length === 0) {
      // Nothing live: wait for the next registry read rather than spin.
      await sleep(Math.max(this.#o.idleMs, this.#streamsAt + this.#o.blockMs - Date.now()));
      this.#blocked = true;
      return 0;
    }
    const claim = now - this.#claimAt > this.#o.claimIdleMs / 3;
    if (claim) this.#claimAt = now;
    const own = this.#ownPending;
    this.#moreOwn = false;

    // Pending entries (own after a failure or restart, a dead relay's once in a while) stream by
    // stream; new entries of all streams in one call that blocks only when nothing else was found.
    const reads = claim || own ? await Promise.all(streams.map(async (stream) => ({ stream, entries: await this.#read(stream, claim, own, false) }))) : streams.map((stream) => ({ stream, entries: [] as StreamEntry[] }));
    const found = reads.some((r) => r.entries.length > 0);
    const fresh = await this.#readFresh(streams, !found && this.#running);
    if (fresh) {
      this.#blocked = !found;
      for (const r of reads) {
        const more = fresh.get(r.stream);
        if (more?.length) r.entries = tidy([...r.entries, ...more]);
      }
    } else {
      await Promise.all(reads.map(async (r) => (r.entries = tidy([...r.entries, ...(await this.#read(r.stream, false, false, true))]))));
    }
    const messages = [];
    for (const { stream, entries } of reads) {
      const itemId = stream.slice(stream.indexOf('{i:') + 3, stream.indexOf('}'));
      for (const [, fields] of entries) {
        const value = fieldValue(fields!, 'e');
        if (value !== undefined) messages.push({ key: itemId, value });
      }
    }
    if (messages.length) {
      if (!this.#producer) throw new Error('no Kafka producer (reconnecting)');
      await this.#producer.send({ topic: this.#o.topic, acks: -1, messages });
    }
    await Promise.all(
      reads
        .filter((r) => r.entries.length)
        .map(async ({ stream, entries }) => {
          const ids = entries.map((e) => e[0]);
          // One transaction: a relay killed between a separate XACK and XDEL would leave entries
          // acknowledged (never read again) yet still in the stream, so the outbox would never drain.
          const r = await redis.multi().xack(stream, relayGroup, ...ids).xdel(stream, ...ids).exec();
          const failed = r?.find(([err]) => err);
          if (!r || failed) throw failed?.[0] ?? new Error('outbox acknowledgement was not applied');
        }),
    );
    this.#ownPending = this.#moreOwn;
    this.#relayed += messages.length;
    return messages.length;
  }
}

/** Entries without deleted ones and duplicates, in stream order. */
function tidy(entries: StreamEntry[]): StreamEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => e[1] !== null && !seen.has(e[0]) && seen.add(e[0])).sort((a, b) => compareIds(a[0], b[0]));
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
