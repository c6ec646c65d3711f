import type { Cluster, Redis } from 'ioredis';
import type { Keys } from '../common/contracts/keys.ts';
import { inAudience, memberTiers, type CouponAudience, type LifecycleStage, type MemberTier } from '../common/contracts/pricing.ts';
import type { ReminderFrame } from '../common/contracts/protocol.ts';
import type { Logger } from '../common/platform/logger.ts';
import { memberStages, stageCopy } from '../orders/segments.ts';
import type { Fanout } from './fanout.ts';
import type { RoomStore } from './room-store.ts';

/**
 * Reminders to an audience (the remind host command): a `reminder` frame about an item to every
 * shopper of the audience (member tiers, lifecycle stages: common/contracts/pricing.ts
 * `inAudience`) connected to the room, on whichever gateway node their socket is.
 *
 * The node that runs the command publishes the reminder on the room's backplane channel (an
 * ephemeral `remind` message), which every node serving the room hears, itself included: each
 * sends to its matching sockets, then marks itself done in the reminder's node set. The command
 * waits (at most `waitMs`) until every node that heard it is done, so the counts in its reply
 * cover every node; a node that dies before it is done is left out of them.
 *
 * A shopper is sent the frame only by the node that first adds them to the reminder's set in
 * Redis (Keys.reminderSent), so a shopper gets a reminder once: with sockets on two nodes, and
 * when the command runs again after a crash (the same operation id, the same reminder).
 *
 * Who matches is read from the serving copies, never the ledger: the tier from Keys.memberTiers
 * (absent: regular), the stage from Keys.memberStages (absent: none, matching no `stages`).
 */

export interface Reminder {
  /** The command's operation id: the same command, retried, is the same reminder. */
  readonly id: string;
  readonly roomId: string;
  readonly itemId: string;
  readonly text: string;
  readonly audience: CouponAudience;
  readonly at: number;
}

export interface RemindCounts {
  /**
   * Shoppers of the audience: those the serving copies know (a member tier other than regular,
   * or a stage) who match it, and any other matching shopper the reminder reached.
   */
  readonly targeted: number;
  /** Shoppers of the audience connected to the room who were sent the frame (on every node). */
  readonly reached: number;
}

export interface RemindersDeps {
  readonly redis: Redis | Cluster;
  readonly keys: Keys;
  readonly store: RoomStore;
  readonly fanout: Fanout;
  readonly nodeId: string;
  readonly log: Logger;
  /** How long a command waits for the nodes that heard its reminder (ms). */
  readonly waitMs?: number;
}

/** How long a reminder's sets are kept (a retry or a late node within it sends nothing again). */
const keepSeconds = 86_400;
const page = 1000;
const pollMs = 10;

export class Reminders {
  readonly #d: RemindersDeps;

  constructor(d: RemindersDeps) {
    this.#d = d;
  }

  /** Sends the reminder on every node serving the room; returns the counts once they are done. */
  async send(r: Reminder): Promise<RemindCounts> {
    const { redis, keys, store } = this.#d;
    const targets = await this.#audienceOfCopies(r.audience);
    // Sharded pub/sub answers how many subscriptions (one per node serving the room) got it.
    const heard = Number(await redis.spublish(store.channel(r.roomId), JSON.stringify({ x: 'remind', reminder: r })));
    const deadline = Date.now() + (this.#d.waitMs ?? 2000);
    while ((await redis.scard(keys.reminderNodes(r.id))) < heard && Date.now() < deadline) await new Promise((done) => setTimeout(done, pollMs));
    const sent = await redis.smembers(keys.reminderSent(r.id));
    for (const u of sent) targets.add(u);
    return { targeted: targets.size, reached: sent.length };
  }

  /** A published reminder (this node's or another's): this node's matching sockets. */
  onPublished(roomId: string, raw: string): void {
    let r: Reminder | undefined;
    try {
      r = (JSON.parse(raw) as { reminder?: Reminder }).reminder;
    } catch {
      r = undefined;
    }
    if (!r || r.roomId !== roomId || typeof r.id !== 'string' || typeof r.audience !== 'object' || r.audience === null) return;
    const reminder = r;
    this.#deliverHere(reminder)
      .then(async () => {
        const nodes = this.#d.keys.reminderNodes(reminder.id);
        await this.#d.redis.multi().sadd(nodes, this.#d.nodeId).expire(nodes, keepSeconds).exec();
      })
      .catch((err: unknown) => this.#d.log.warn({ err: (err as Error).message, roomId, reminder: reminder.id }, 'sending a reminder on this node failed'));
  }

  /** The matching shoppers connected here, each claimed in the reminder's set before it is sent. */
  async #deliverHere(r: Reminder): Promise<void> {
    const { redis, keys, fanout } = this.#d;
    const here = fanout.shoppersIn(r.roomId);
    if (here.length === 0) return;
    const [tiers, stages] = await Promise.all([this.#tiersOf(here), memberStages({ redis, keys }, here)]);
    const matching = here.filter((_u, i) => inAudience(r.audience, tiers[i]!, stages[i]));
    if (matching.length === 0) return;
    const key = keys.reminderSent(r.id);
    const claims = redis.pipeline();
    for (const u of matching) claims.sadd(key, u);
    claims.expire(key, keepSeconds);
    const answers = (await claims.exec()) ?? [];
    const mine = new Set(matching.filter((_u, i) => !answers[i]?.[0] && Number(answers[i]?.[1]) === 1));
    if (mine.size === 0) return;
    const frame: ReminderFrame = { type: 'reminder', id: r.id, roomId: r.roomId, itemId: r.itemId, text: r.text, at: r.at };
    fanout.sendToShoppers(r.roomId, mine, JSON.stringify(frame));
  }

  async #tiersOf(users: readonly string[]): Promise<MemberTier[]> {
    const out: MemberTier[] = [];
    for (let i = 0; i < users.length; i += page) {
      const raw = await this.#d.redis.hmget(this.#d.keys.memberTiers, ...users.slice(i, i + page));
      for (const t of raw) out.push(t !== null && (memberTiers as readonly string[]).includes(t) ? (t as MemberTier) : 'regular');
    }
    return out;
  }

  /** The audience's shoppers the serving copies know: those with a non-regular tier or a stage. */
  async #audienceOfCopies(a: CouponAudience): Promise<Set<string>> {
    const { redis, keys } = this.#d;
    const stages: Map<string, LifecycleStage> = await stageCopy({ redis, keys });
    const tiers = new Map<string, MemberTier>();
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(keys.memberTiers, cursor, 'COUNT', page);
      for (let i = 0; i + 1 < flat.length; i += 2) if ((memberTiers as readonly string[]).includes(flat[i + 1]!)) tiers.set(flat[i]!, flat[i + 1] as MemberTier);
      cursor = next;
    } while (cursor !== '0');
    const out = new Set<string>();
    for (const u of new Set([...stages.keys(), ...tiers.keys()])) if (inAudience(a, tiers.get(u) ?? 'regular', stages.get(u))) out.add(u);
    return out;
  }
}
