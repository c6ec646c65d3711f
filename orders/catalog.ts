import type { Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
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

/** The catalog (rooms and their campaign items) in Postgres: the durable source of item settings. */
export class Catalog {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
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
    const r = await this.#db
      .insertInto('campaign_items')
      .values({
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
        ...(i.group
          ? { group_tiers: JSON.stringify(i.group.tiers), group_count_by: i.group.countBy, group_below_first_tier: i.group.belowFirstTier }
          : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...i, id: r.id };
  }

  /** The show a new item of the room goes into (orders/shows.ts `showForNewItem`). */
  showForNewItem(roomId: string, showId?: string): Promise<string | null> {
    return showForNewItem(this.#db, roomId, showId);
  }

  async items(roomId: string): Promise<ItemRow[]> {
    const rows = await this.#db.selectFrom('campaign_items').selectAll().where('room_id', '=', roomId).orderBy('id').execute();
    return rows.map((r) => ({
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
    }));
  }
}
