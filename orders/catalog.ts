import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import { LivesaleError } from '../common/platform/errors.ts';
import type { CampaignItemsTable, Database } from '../common/contracts/ledger-schema.ts';
import { showForNewItem } from './shows.ts';

export interface RoomRow {
  id: string;
  title: string;
  hostId: string;
}

export interface ItemRow {
  id: string;
  roomId: string;
  kind: 'flash' | 'group';
  title: string;
  price: number;
  totalStock: number;
  perUserLimit: number;
  startsAt: number;
  endsAt: number;
  holdSeconds: number;
  /** Tiered group buys: the tiers, what the thresholds count, and below the first threshold. */
  group?: GroupSettings;
  /** The show the item belongs to; null or absent: the room shelf. */
  showId?: string | null;
}

export interface GroupSettings {
  tiers: { threshold: number; price: number }[];
  countBy: 'people' | 'units';
  belowFirstTier: 'fail' | 'base';
}

/**
 * What the idempotency key of a create stands for: the caller, the room an item goes into ('' for
 * a room), the key, the operation and a hash of its parameters. The key belongs to one request:
 * sent again with another operation or other parameters it is refused (IDEMPOTENCY_KEY_REUSED).
 */
export interface CreateKey {
  readonly principal: string;
  readonly roomId: string;
  readonly key: string;
  readonly op: 'createRoom' | 'addItem' | 'openGroup';
  readonly fingerprint: string;
}

/** A keyed create: the row, and whether an earlier try of the same key made it (nothing made now). */
export interface Created<T> {
  readonly row: T;
  readonly existed: boolean;
}

/** Another try of the same key committed its row first: this one rolls back and reads that row. */
class KeyTaken extends Error {}

function itemValues(i: Omit<ItemRow, 'id'>): Insertable<CampaignItemsTable> {
  return {
    room_id: i.roomId,
    kind: i.kind,
    title: i.title,
    price_fen: i.price,
    total_stock: i.totalStock,
    per_user_limit: i.perUserLimit,
    starts_at: new Date(i.startsAt),
    ends_at: new Date(i.endsAt),
    hold_seconds: i.holdSeconds,
    show_id: i.showId ?? null,
    ...(i.group ? { group_tiers: JSON.stringify(i.group.tiers), group_count_by: i.group.countBy, group_below_first_tier: i.group.belowFirstTier } : {}),
  };
}

function itemOf(r: Selectable<CampaignItemsTable>): ItemRow {
  return {
    id: r.id,
    roomId: r.room_id,
    kind: r.kind,
    title: r.title,
    price: Number(r.price_fen),
    totalStock: r.total_stock,
    perUserLimit: r.per_user_limit,
    startsAt: r.starts_at.getTime(),
    endsAt: r.ends_at.getTime(),
    holdSeconds: r.hold_seconds,
    showId: r.show_id,
    ...(r.group_tiers ? { group: { tiers: r.group_tiers, countBy: r.group_count_by ?? 'people', belowFirstTier: r.group_below_first_tier ?? 'fail' } } : {}),
  };
}

/** The catalog (rooms and their campaign items) in Postgres: the durable source of item settings. */
export class Catalog {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The show a new item of the room goes into (orders/shows.ts `showForNewItem`). */
  showForNewItem(roomId: string, showId?: string): Promise<string | null> {
    return showForNewItem(this.#db, roomId, showId);
  }

  async createRoom(title: string, hostId: string): Promise<RoomRow> {
    const r = await this.#db.insertInto('rooms').values({ title, host_id: hostId }).returning(['id', 'title', 'host_id']).executeTakeFirstOrThrow();
    return { id: r.id, title: r.title, hostId: r.host_id };
  }

  async room(id: string): Promise<RoomRow | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const r = await this.#db.selectFrom('rooms').select(['id', 'title', 'host_id']).where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, title: r.title, hostId: r.host_id };
  }

  async createItem(i: Omit<ItemRow, 'id'>): Promise<ItemRow> {
    const r = await this.#db.insertInto('campaign_items').values(itemValues(i)).returning('id').executeTakeFirstOrThrow();
    return { ...i, id: r.id };
  }

  /**
   * Creates a room once per key: the room and its key in one transaction, so a retry after a
   * crash at any later step finds the room the first try made.
   */
  async createRoomOnce(k: CreateKey, title: string, hostId: string): Promise<Created<RoomRow>> {
    return this.#once(
      k,
      async (trx) => (await trx.insertInto('rooms').values({ title, host_id: hostId }).returning('id').executeTakeFirstOrThrow()).id,
      (id) => this.room(id),
    );
  }

  /**
   * Creates an item once per key, like createRoomOnce; a retry gets the row as first stored.
   * `beforeCreate` checks what only a new item must pass (a retry resumes the first one's row).
   */
  async createItemOnce(k: CreateKey, i: Omit<ItemRow, 'id'>, beforeCreate?: () => void): Promise<Created<ItemRow>> {
    return this.#once(
      k,
      async (trx) => (await trx.insertInto('campaign_items').values(itemValues(i)).returning('id').executeTakeFirstOrThrow()).id,
      (id) => this.item(id),
      beforeCreate,
    );
  }

  async item(id: string): Promise<ItemRow | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const r = await this.#db.selectFrom('campaign_items').selectAll().where('id', '=', id).executeTakeFirst();
    return r && itemOf(r);
  }

  /**
   * Replaces the item's marketing offers (ItemOffers of common/contracts/protocol.ts) in its row:
   * the durable copy of what the room shows, written by the host command before the room append.
   */
  async setOffers(itemId: string, offers: Readonly<Record<string, unknown>>): Promise<void> {
    const r = await this.#db.updateTable('campaign_items').set({ offers: JSON.stringify(offers) }).where('id', '=', itemId).executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new LivesaleError('ITEM_NOT_FOUND', `no item ${JSON.stringify(itemId.slice(0, 40))} in the catalog`);
  }

  /** The item's marketing offers as last stored (undefined: none set, or no such item). */
  async offers(itemId: string): Promise<Record<string, unknown> | undefined> {
    if (!/^\d{1,18}$/.test(itemId)) return undefined;
    const r = await this.#db.selectFrom('campaign_items').select('offers').where('id', '=', itemId).executeTakeFirst();
    return r?.offers ?? undefined;
  }

  async items(roomId: string): Promise<ItemRow[]> {
    const rows = await this.#db.selectFrom('campaign_items').selectAll().where('room_id', '=', roomId).orderBy('id').execute();
    return rows.map(itemOf);
  }

  async #once<T>(
    k: CreateKey,
    insert: (trx: Transaction<Database>) => Promise<string>,
    read: (id: string) => Promise<T | undefined>,
    beforeCreate?: () => void,
  ): Promise<Created<T>> {
    const existing = async (): Promise<Created<T> | undefined> => {
      const found = await this.#db
        .selectFrom('create_keys')
        .select(['op', 'fingerprint', 'created_id'])
        .where('principal', '=', k.principal)
        .where('room_id', '=', k.roomId)
        .where('idem_key', '=', k.key)
        .executeTakeFirst();
      if (!found) return undefined;
      if (found.op !== k.op || found.fingerprint !== k.fingerprint) throw new LivesaleError('IDEMPOTENCY_KEY_REUSED');
      const row = await read(found.created_id);
      if (row === undefined) throw new LivesaleError('INTERNAL', `the ${k.op} of key ${k.key} names ${found.created_id}, which is gone`);
      return { row, existed: true };
    };
    const before = await existing();
    if (before) return before;
    beforeCreate?.();
    try {
      const id = await this.#db.transaction().execute(async (trx) => {
        const id = await insert(trx);
        const keyed = await trx
          .insertInto('create_keys')
          .values({ principal: k.principal, room_id: k.roomId, idem_key: k.key, op: k.op, fingerprint: k.fingerprint, created_id: id })
          .onConflict((oc) => oc.columns(['principal', 'room_id', 'idem_key']).doNothing())
          .returning('created_id')
          .executeTakeFirst();
        if (!keyed) throw new KeyTaken();
        return id;
      });
      const row = await read(id);
      if (row === undefined) throw new LivesaleError('INTERNAL', `the ${k.op} of key ${k.key} made ${id}, which is gone`);
      return { row, existed: false };
    } catch (err) {
      if (!(err instanceof KeyTaken)) throw err;
      const taken = await existing();
      if (!taken) throw new LivesaleError('INTERNAL', `the key ${k.key} of ${k.op} was taken, then gone`);
      return taken;
    }
  }
}
