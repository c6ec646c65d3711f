import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database, ShowState } from '../common/contracts/ledger-schema.ts';
import { epochMsSchema, text } from '../common/contracts/protocol.ts';

/**
 * Shows: a room is a channel with many shows over time. A show has its planned times, its run
 * sheet (the products the host presents, in order, with planned slots; backups; lottery prizes)
 * and a state, planned → live → ended (at most one live show per room). Every item belongs to
 * one show (campaign_items.show_id) or to the room shelf (NULL); a show's figures are those of
 * its items and of the room's activity while it was live (orders/stats.ts).
 */

const ms = epochMsSchema();
const dbId = z.string().regex(/^\d{1,18}$/, 'a numeric id');

export const runSheetEntry = z
  .strictObject({
    role: z.enum(['main', 'backup', 'lottery']),
    title: text({ trim: true, min: 1, max: 200 }),
    itemId: dbId.nullable().optional(),
    plannedStart: ms.optional(),
    plannedEnd: ms.optional(),
  })
  .refine((e) => e.plannedStart === undefined || e.plannedEnd === undefined || e.plannedEnd > e.plannedStart, {
    message: 'plannedEnd must be after plannedStart',
    path: ['plannedEnd'],
  });

export const createShowBody = z
  .strictObject({
    roomId: dbId,
    title: text({ trim: true, min: 1, max: 200 }),
    plannedStart: ms,
    plannedEnd: ms,
    runSheet: z.array(runSheetEntry).max(500).default([]),
  })
  .refine((b) => b.plannedEnd > b.plannedStart, { message: 'plannedEnd must be after plannedStart', path: ['plannedEnd'] });

export type CreateShowInput = z.infer<typeof createShowBody>;

export interface RunSheetRow {
  position: number;
  role: 'main' | 'backup' | 'lottery';
  title: string;
  itemId: string | null;
  plannedStart: number | null;
  plannedEnd: number | null;
}

export interface Show {
  id: string;
  roomId: string;
  title: string;
  hostId: string;
  state: ShowState;
  plannedStart: number;
  plannedEnd: number;
  /** When it went live, and when it ended (epoch ms; null until then). */
  startedAt: number | null;
  endedAt: number | null;
  createdAt: number;
  runSheet: RunSheetRow[];
}

const isDbId = (id: string) => /^\d{1,18}$/.test(id);

/**
 * Creates a planned show for a room. Run-sheet items must be items of the room; those on the
 * room shelf (in no show) are carried into the new show (`carried`), items of another show stay
 * in theirs.
 * SHOW_EXISTS when a planned or live show of the room overlaps its planned window;
 * ITEM_NOT_FOUND for an item of another room.
 */
export async function createShow(db: Kysely<Database>, hostId: string, input: CreateShowInput): Promise<{ show: Show; carried: string[] }> {
  const itemIds = [...new Set(input.runSheet.map((e) => e.itemId).filter((x): x is string => !!x))];
  const { showId, carried } = await db.transaction().execute(async (trx) => {
    // One show created per room at a time: the overlap check and the insert cannot interleave.
    await sql`SELECT 1 FROM rooms WHERE id = ${input.roomId} FOR UPDATE`.execute(trx);
    if (itemIds.length) {
      const found = await trx.selectFrom('campaign_items').select('id').where('room_id', '=', input.roomId).where('id', 'in', itemIds).execute();
      const ok = new Set(found.map((r) => r.id));
      const missing = itemIds.filter((i) => !ok.has(i));
      if (missing.length) throw new LivesaleError('ITEM_NOT_FOUND', `room ${input.roomId} has no item ${missing.join(', ')}`);
    }
    const overlapping = await trx
      .selectFrom('shows')
      .select(['id', 'state'])
      .where('room_id', '=', input.roomId)
      .where('state', 'in', ['planned', 'live'])
      .where('planned_start', '<', new Date(input.plannedEnd))
      .where('planned_end', '>', new Date(input.plannedStart))
      .orderBy('id')
      .executeTakeFirst();
    if (overlapping) {
      throw new LivesaleError('SHOW_EXISTS', `room ${input.roomId} has show ${overlapping.id} (${overlapping.state}) planned at an overlapping time`, { showId: overlapping.id });
    }
    const row = await trx
      .insertInto('shows')
      .values({ room_id: input.roomId, title: input.title, host_id: hostId, planned_start: new Date(input.plannedStart), planned_end: new Date(input.plannedEnd) })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (input.runSheet.length) {
      await trx
        .insertInto('run_sheet')
        .values(
          input.runSheet.map((e, i) => ({
            show_id: row.id,
            position: i + 1,
            role: e.role,
            title: e.title,
            item_id: e.itemId ?? null,
            planned_start: e.plannedStart === undefined ? null : new Date(e.plannedStart),
            planned_end: e.plannedEnd === undefined ? null : new Date(e.plannedEnd),
          })),
        )
        .execute();
    }
    const moved = itemIds.length
      ? await trx.updateTable('campaign_items').set({ show_id: row.id }).where('room_id', '=', input.roomId).where('id', 'in', itemIds).where('show_id', 'is', null).returning('id').execute()
      : [];
    return { showId: row.id, carried: moved.map((m) => m.id) };
  });
  return { show: (await load(db, showId))!, carried };
}

/** Loads a show row with its run sheet. */
type ShowRow = Selectable<Database['shows']>;
const t = (d: Date | string) => new Date(d).getTime();
const tn = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());

async function load(db: Kysely<Database>, id: string): Promise<Show | undefined> {
  const s = await db.selectFrom('shows').selectAll().where('id', '=', id).executeTakeFirst();
  return s && withRunSheet(db, s);
}

async function withRunSheet(db: Kysely<Database>, s: ShowRow): Promise<Show> {
  const rows = await db.selectFrom('run_sheet').selectAll().where('show_id', '=', s.id).orderBy('position').execute();
  return {
    ...listing(s),
    hostId: s.host_id,
    createdAt: t(s.created_at),
    runSheet: rows.map((r) => ({
      position: r.position,
      role: r.role,
      title: r.title,
      itemId: r.item_id,
      plannedStart: tn(r.planned_start),
      plannedEnd: tn(r.planned_end),
    })),
  };
}

function listing(s: ShowRow): ShowListing {
  return {
    id: s.id,
    roomId: s.room_id,
    title: s.title,
    state: s.state,
    plannedStart: t(s.planned_start),
    plannedEnd: t(s.planned_end),
    startedAt: tn(s.started_at),
    endedAt: tn(s.ended_at),
  };
}

export async function getShow(db: Kysely<Database>, showId: string): Promise<Show | undefined> {
  if (!isDbId(showId)) return undefined;
  return load(db, showId);
}

/**
 * The room's current show: the live one, else the next planned one (earliest planned start),
 * else the latest (latest planned start). Undefined when the room has no show.
 */
export async function showOfRoom(db: Kysely<Database>, roomId: string): Promise<Show | undefined> {
  const s = await currentShowRow(db, roomId);
  return s && withRunSheet(db, s);
}

/** The room's current show (as `showOfRoom` picks it) without its run sheet. */
export async function currentShow(db: Kysely<Database>, roomId: string): Promise<ShowListing | undefined> {
  const s = await currentShowRow(db, roomId);
  return s && listing(s);
}

async function currentShowRow(db: Kysely<Database>, roomId: string): Promise<ShowRow | undefined> {
  if (!isDbId(roomId)) return undefined;
  return db
    .selectFrom('shows')
    .selectAll()
    .where('room_id', '=', roomId)
    .orderBy(sql`CASE state WHEN 'live' THEN 0 WHEN 'planned' THEN 1 ELSE 2 END`)
    .orderBy(sql`CASE WHEN state = 'planned' THEN planned_start END`, 'asc')
    .orderBy('planned_start', 'desc')
    .orderBy(sql`id`, 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The show, or SHOW_NOT_FOUND. */
export async function requireShow(db: Kysely<Database>, showId: string): Promise<Show> {
  const s = await getShow(db, showId);
  if (!s) throw new LivesaleError('SHOW_NOT_FOUND', `no show ${JSON.stringify(showId.slice(0, 40))}`);
  return s;
}

export interface ShowListing {
  id: string;
  roomId: string;
  title: string;
  state: ShowState;
  plannedStart: number;
  plannedEnd: number;
  startedAt: number | null;
  endedAt: number | null;
}

/** The most recent shows of every room, newest first. */
export async function listShows(db: Kysely<Database>, limit = 20): Promise<ShowListing[]> {
  const rows = await db.selectFrom('shows').selectAll().orderBy(sql`id`, 'desc').limit(limit).execute();
  return rows.map(listing);
}

/** A room's shows, latest planned start first. */
export async function listRoomShows(db: Kysely<Database>, roomId: string, limit = 100): Promise<ShowListing[]> {
  if (!isDbId(roomId)) return [];
  const rows = await db.selectFrom('shows').selectAll().where('room_id', '=', roomId).orderBy('planned_start', 'desc').orderBy(sql`id`, 'desc').limit(limit).execute();
  return rows.map(listing);
}

/**
 * planned → live at `at` (epoch ms: the clock of the gateway, which also times the room's
 * activity events and host commands the show's window selects). SHOW_STATE when the show is not planned; SHOW_LIVE when another show of the
 * room is live (the unique partial index decides a race between two starts).
 */
export async function startShow(db: Kysely<Database>, showId: string, at = Date.now()): Promise<Show> {
  const show = await requireShow(db, showId);
  if (show.state !== 'planned') throw new LivesaleError('SHOW_STATE', `show ${show.id} is ${show.state}; only a planned show can start`, { state: show.state });
  const live = await db.selectFrom('shows').select('id').where('room_id', '=', show.roomId).where('state', '=', 'live').executeTakeFirst();
  if (live) throw new LivesaleError('SHOW_LIVE', `room ${show.roomId} has live show ${live.id}; end it before starting show ${show.id}`, { showId: live.id });
  try {
    const r = await db.updateTable('shows').set({ state: 'live', started_at: new Date(at) }).where('id', '=', show.id).where('state', '=', 'planned').returning('id').executeTakeFirst();
    if (!r) return startShow(db, showId, at); // changed meanwhile: answer from its new state
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new LivesaleError('SHOW_LIVE', `room ${show.roomId} has a live show; end it before starting show ${show.id}`);
    throw err;
  }
  return (await load(db, show.id))!;
}

/** live → ended at `at` (epoch ms, the gateway's clock). SHOW_STATE when the show is not live. */
export async function endShow(db: Kysely<Database>, showId: string, at = Date.now()): Promise<Show> {
  const show = await requireShow(db, showId);
  if (show.state !== 'live') throw new LivesaleError('SHOW_STATE', `show ${show.id} is ${show.state}; only a live show can end`, { state: show.state });
  // Never before its start, so the live window is never empty by a clock step.
  const r = await db
    .updateTable('shows')
    .set({ state: 'ended', ended_at: sql`greatest(started_at, ${new Date(at)}::timestamptz)` })
    .where('id', '=', show.id)
    .where('state', '=', 'live')
    .returning('id')
    .executeTakeFirst();
  if (!r) return endShow(db, showId, at);
  return (await load(db, show.id))!;
}

/**
 * The show a new item of the room belongs to: `showId` when given (a planned or live show of
 * the room, SHOW_NOT_FOUND otherwise), else the room's live show, else its next planned one,
 * else null (the room shelf).
 */
export async function showForNewItem(db: Kysely<Database>, roomId: string, showId?: string): Promise<string | null> {
  if (showId !== undefined) {
    const s = isDbId(showId)
      ? await db.selectFrom('shows').select('id').where('id', '=', showId).where('room_id', '=', roomId).where('state', 'in', ['planned', 'live']).executeTakeFirst()
      : undefined;
    if (!s) throw new LivesaleError('SHOW_NOT_FOUND', `room ${roomId} has no planned or live show ${JSON.stringify(showId.slice(0, 40))}`);
    return s.id;
  }
  const s = await db
    .selectFrom('shows')
    .select('id')
    .where('room_id', '=', roomId)
    .where('state', 'in', ['planned', 'live'])
    .orderBy(sql`CASE state WHEN 'live' THEN 0 ELSE 1 END`)
    .orderBy('planned_start')
    .orderBy(sql`id`)
    .limit(1)
    .executeTakeFirst();
  return s?.id ?? null;
}
