/**
 * Every Redis key name comes from here; scripts receive all their keys in KEYS and never build one.
 *
 * All keys of one campaign item share the hash tag `{i:<id>}`, and all keys of one room share
 * `{r:<id>}`, so each script runs in one slot and the same code runs on Redis Cluster.
 */

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function assertId(kind: string, id: string): void {
  if (!idPattern.test(id)) throw new Error(`invalid ${kind} id ${JSON.stringify(id)}`);
}

/**
 * The fields of an item's holds hash that hold its member-day rule and coupon ledger (they hold
 * a space, which no order id does; inventory/lua/includes/coupon.lua documents their values).
 */
export const couponFields = {
  memberDay: '~ md',
  campaign: (id: string) => `~ c ${id}`,
  left: (id: string) => `~ b ${id}`,
  issued: (id: string) => `~ n ${id}`,
  spent: (id: string) => `~ s ${id}`,
  userCount: (id: string, userId: string) => `~ u ${id} ${userId}`,
  order: (orderId: string) => `${orderId} c`,
} as const;

/**
 * The keys of one campaign item:
 *   item       hash   counters and settings (fields listed in init-flash-item-2.lua)
 *   users      hash   `<user>` -> quantity held or bought; `<user> <idempotency key>` -> first
 *                     answer; ` op <id>` -> first answer of a host command (user ids hold no spaces)
 *   refused(user, key)
 *              string a refused buy or join as `qty;answer`, expiring: a refusal changed nothing,
 *                     so it is not kept forever (its name holds the user and key, the
 *                     wrappers pass it in KEYS per call; same hash tag, same slot)
 *   holds      hash   order id -> hold record `state,version,qty,unitPrice,deadline,paidVer,paidAt,user`;
 *                     and the item's member-day rule and coupon ledger under fields with a space
 *                     (`couponFields` below; inventory/lua/includes/coupon.lua)
 *   deadlines  zset   order id of every unpaid hold, scored by its payment deadline (ms)
 *   subs       set    users waiting for the pre-heat reminder
 *   outbox     stream events for the relay
 *   lock       string the rebuild lock (one rebuilder per item)
 *   teams      hash   a team buy's settings and teams (inventory/lua/team-join-8.lua)
 *   teamEnds   zset   open team ids scored by the end of their window (ms)
 *   bargains   hash   a bargain offer's settings and bargains (inventory/lua/includes/bargain.lua)
 */
export class ItemKeys {
  readonly tag: string;
  readonly item: string;
  readonly users: string;
  readonly holds: string;
  readonly deadlines: string;
  readonly subs: string;
  readonly outbox: string;
  readonly lock: string;
  readonly teams: string;
  readonly teamEnds: string;
  readonly bargains: string;

  constructor(prefix: string, readonly id: string) {
    assertId('item', id);
    this.tag = `${prefix}{i:${id}}`;
    this.item = `${this.tag}:item`;
    this.users = `${this.tag}:users`;
    this.holds = `${this.tag}:holds`;
    this.deadlines = `${this.tag}:deadlines`;
    this.subs = `${this.tag}:subs`;
    this.outbox = `${this.tag}:outbox`;
    this.lock = `${this.tag}:lock`;
    this.teams = `${this.tag}:teams`;
    this.teamEnds = `${this.tag}:teamends`;
    this.bargains = `${this.tag}:bargains`;
  }

  /** The expiring record of one refused buy or join (inventory/lua/includes/buy.lua). */
  refused(userId: string, idempotencyKey: string): string {
    return `${this.tag}:refused:${userId} ${idempotencyKey}`;
  }

  /** Every key of the item (the rebuild and tests read or clear them together). */
  get all(): readonly string[] {
    return [this.item, this.users, this.holds, this.deadlines, this.subs, this.outbox, this.lock, this.teams, this.teamEnds, this.bargains];
  }
}

export class RoomKeys {
  readonly tag: string;
  readonly room: string;
  readonly log: string;
  readonly channel: string;
  readonly online: string;
  /** Highest online count seen (viewers of every node). */
  readonly peak: string;
  /** Host command answers by idempotency key (hash). */
  readonly commands: string;
  /** Serialises host commands of the room across gateway nodes. */
  readonly commandLock: string;
  /**
   * Audit outbox (stream): one entry per applied or repeated host command, appended by the
   * script that applies or answers it; drained into Postgres `host_commands`.
   */
  readonly audit: string;
  /** Refused host commands (hash): `[actor, role, command, error code]` (JSON) -> count, expiring. */
  readonly refusals: string;

  constructor(prefix: string, readonly id: string) {
    assertId('room', id);
    this.tag = `${prefix}{r:${id}}`;
    this.room = `${this.tag}:room`;
    this.log = `${this.tag}:log`;
    this.channel = `${this.tag}:ch`;
    this.online = `${this.tag}:online`;
    this.peak = `${this.tag}:peak`;
    this.commands = `${this.tag}:cmds`;
    this.commandLock = `${this.tag}:cmdlock`;
    this.audit = `${this.tag}:audit`;
    this.refusals = `${this.tag}:refused`;
  }
}

export class Keys {
  readonly #items = new Map<string, ItemKeys>();
  readonly #rooms = new Map<string, RoomKeys>();

  constructor(readonly prefix: string) {}

  item(id: string): ItemKeys {
    let k = this.#items.get(id);
    if (!k) {
      k = new ItemKeys(this.prefix, id);
      if (this.#items.size > 10_000) this.#items.clear();
      this.#items.set(id, k);
    }
    return k;
  }

  room(id: string): RoomKeys {
    let k = this.#rooms.get(id);
    if (!k) {
      k = new RoomKeys(this.prefix, id);
      if (this.#rooms.size > 10_000) this.#rooms.clear();
      this.#rooms.set(id, k);
    }
    return k;
  }

  /** Host command rate window of one host (all rooms, all nodes). */
  hostRate(hostId: string): string {
    return `${this.prefix}hostrate:${hostId}`;
  }

  /** Sorted set of the live processes of one role (relay, writer): node id by last heartbeat. */
  heartbeats(role: 'relay' | 'writer'): string {
    return `${this.prefix}heartbeats:${role}`;
  }

  /** Sorted set of room ids whose audit outbox streams the audit drainer reads, scored by when a node last registered the room (ms). */
  get auditRegistry(): string {
    return `${this.prefix}auditrooms`;
  }

  /** Stream of audit records Postgres refused, with the error (capped). */
  get auditDeadLetter(): string {
    return `${this.prefix}audit:dead`;
  }

  /**
   * Hash of shoppers' member tiers (user -> regular | silver | gold; absent: regular), the serving copy of
   * the ledger's member_tiers (orders/members.ts). Read before a buy and passed to the reserve
   * script as an argument (a tier change racing a buy prices it at either tier). Its field
   * "~ restored" marks it complete; without it a buy restores the copy from the ledger first.
   */
  get memberTiers(): string {
    return `${this.prefix}members:tiers`;
  }

  /**
   * Hash of shoppers' lifecycle stages (user -> new | active | dormant | churned; absent: no paid
   * order, no stage), the serving copy of the segments the ledger gives (orders/segments.ts),
   * replaced by each refresh. Read before a buy with the tier and passed to the reserve script,
   * where a coupon's audience checks it; a reminder's audience reads it too.
   */
  get memberStages(): string {
    return `${this.prefix}members:stages`;
  }

  /** String: when the stage copy was last refreshed (ms), and how many shoppers it had ("<ms>,<n>"). */
  get memberStagesRefreshed(): string {
    return `${this.prefix}members:stages:at`;
  }

  /**
   * Set of the shoppers a reminder (the remind host command) was sent to, by the reminder's id
   * (its command's operation id): a node sends a shopper the frame only if it adds them here
   * first, so a reminder reaches each shopper once however many nodes and retries see it.
   * Expires a day after the reminder.
   */
  reminderSent(reminderId: string): string {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(reminderId)) throw new Error(`invalid reminder id ${JSON.stringify(reminderId)}`);
    return `${this.prefix}reminders:${reminderId}`;
  }

  /** Set of the gateway nodes that have sent a reminder to their sockets (the command waits for every node that heard it). */
  reminderNodes(reminderId: string): string {
    return `${this.reminderSent(reminderId)}:nodes`;
  }

  /** Set of item ids whose outbox streams the relay drains. */
  get outboxRegistry(): string {
    return `${this.prefix}outboxes`;
  }
}

/** The consumer group every audit drainer joins on every room's audit stream. */
export const auditGroup = 'audit';

/** The consumer group every relay instance joins on every outbox stream. */
export const relayGroup = 'relay';
