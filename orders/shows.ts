import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { epochMsSchema, text } from '../common/contracts/protocol.ts';

/**
 * Shows: one room's broadcast with its planned times and its run sheet (the products the host
 * presents, in order, with planned slots; backups; lottery prizes). Show figures are the room's
 * figures; the run sheet gives the report its planned on-air times.
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
  plannedStart: number;
  plannedEnd: number;
  createdAt: number;
  runSheet: RunSheetRow[];
}

const isDbId = (id: string) => /^\d{1,18}$/.test(id);

/**
 * Creates a show for a room (one show per room). Run-sheet items must be items of the room.
 * SHOW_EXISTS if the room has one; ITEM_NOT_FOUND for an item of another room.
 */
export async function createShow(db: Kysely<Database>, hostId: string, input: CreateShowInput): Promise<Show> {
  const itemIds = [...new Set(input.runSheet.map((e) => e.itemId).filter((x): x is string => !!x))];
  return db.transaction().execute(async (trx) => {
    if (itemIds.length) {
      const found = await trx.selectFrom('campaign_items').select('id').where('room_id', '=', input.roomId).where('id', 'in', itemIds).execute();
      const ok = new Set(found.map((r) => r.id));
      const missing = itemIds.filter((i) => !ok.has(i));
      if (missing.length) throw new LivesaleError('ITEM_NOT_FOUND', `room ${input.roomId} has no item ${missing.join(', ')}`);
    }
    const existing = await trx.selectFrom('shows').select('id').where('room_id', '=', input.roomId).executeTakeFirst();
    if (existing) throw new LivesaleError('SHOW_EXISTS', `room ${input.roomId} already has show ${existing.id}`, { showId: existing.id });
    let row: Pick<Selectable<Database['shows']>, 'id' | 'created_at'>;
    try {
      row = await trx
        .insertInto('shows')
        .values({ room_id: input.roomId, title: input.title, host_id: hostId, planned_start: new Date(input.plannedStart), planned_end: new Date(input.plannedEnd) })
        .returning(['id', 'created_at'])
        .executeTakeFirstOrThrow();
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new LivesaleError('SHOW_EXISTS', `room ${input.roomId} already has a show`);
      throw err;
    }
    const runSheet: RunSheetRow[] = input.runSheet.map((e, i) => ({
      position: i + 1,
      role: e.role,
      title: e.title,
      itemId: e.itemId ?? null,
      plannedStart: e.plannedStart ?? null,
      plannedEnd: e.plannedEnd ?? null,
    }));
    if (runSheet.length) {
      await trx
        .insertInto('run_sheet')
        .values(
          runSheet.map((e) => ({
            show_id: row.id,
            position: e.position,
            role: e.role,
            title: e.title,
            item_id: e.itemId,
            planned_start: e.plannedStart === null ? null : new Date(e.plannedStart),
            planned_end: e.plannedEnd === null ? null : new Date(e.plannedEnd),
          })),
        )
        .execute();
    }
    return {
      id: row.id,
      roomId: input.roomId,
      title: input.title,
      hostId,
      plannedStart: input.plannedStart,
      plannedEnd: input.plannedEnd,
      createdAt: new Date(row.created_at).getTime(),
      runSheet,
    };
  });
}

async function load(db: Kysely<Database>, where: { id?: string; roomId?: string }): Promise<Show | undefined> {
  let q = db.selectFrom('shows').selectAll();
  if (where.id !== undefined) q = q.where('id', '=', where.id);
  if (where.roomId !== undefined) q = q.where('room_id', '=', where.roomId);
  const s = await q.executeTakeFirst();
  if (!s) return undefined;
  const rows = await db.selectFrom('run_sheet').selectAll().where('show_id', '=', s.id).orderBy('position').execute();
  return {
    id: s.id,
    roomId: s.room_id,
    title: s.title,
    hostId: s.host_id,
    plannedStart: new Date(s.planned_start).getTime(),
    plannedEnd: new Date(s.planned_end).getTime(),
    createdAt: new Date(s.created_at).getTime(),
    runSheet: rows.map((r) => ({
      position: r.position,
      role: r.role,
      title: r.title,
      itemId: r.item_id,
      plannedStart: r.planned_start === null ? null : new Date(r.planned_start).getTime(),
      plannedEnd: r.planned_end === null ? null : new Date(r.planned_end).getTime(),
    })),
  };
}

export async function getShow(db: Kysely<Database>, showId: string): Promise<Show | undefined> {
  if (!isDbId(showId)) return undefined;
  return load(db, { id: showId });
}

export async function showOfRoom(db: Kysely<Database>, roomId: string): Promise<Show | undefined> {
  if (!isDbId(roomId)) return undefined;
  return load(db, { roomId });
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
  plannedStart: number;
  plannedEnd: number;
}

/** The most recent shows, newest first. */
export async function listShows(db: Kysely<Database>, limit = 20): Promise<ShowListing[]> {
  const rows = await db.selectFrom('shows').select(['id', 'room_id', 'title', 'planned_start', 'planned_end']).orderBy(sql`id`, 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, roomId: r.room_id, title: r.title, plannedStart: new Date(r.planned_start).getTime(), plannedEnd: new Date(r.planned_end).getTime() }));
}
