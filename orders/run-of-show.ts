import type { Kysely, Transaction } from 'kysely';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database, ShowState, SlotStatus } from '../common/contracts/ledger-schema.ts';
import type { RunOfShow, RunRow, RunSlot } from '../common/contracts/protocol.ts';
import type { RunSheetRow } from './shows.ts';

/**
 * The run of show: what the host's `next`, `swap` and `skip` commands do to a show's run sheet,
 * and the live view of it (current slot, next slot, planned against actual, drift).
 *
 * A slot is a main row of the sheet, in position order. `swap` puts a backup row in a main
 * row's place: the main row turns `replaced`, the backup row names the position it stands in
 * for, and from then on the slot is the backup's (its item, its title, its actual times) with
 * the main row's planned times. `next` ends the slot on air and puts the next pending slot on
 * air. Lottery rows and unused backups are not slots.
 *
 * Each step is decided from the sheet as stored, then written in one transaction together with
 * its operation id (`run_sheet_ops`): a step retried with the same id answers what it did the
 * first time and changes nothing more.
 */

export interface LiveShow {
  id: string;
  roomId: string;
  state: ShowState;
}

/** A run-sheet row with what the run of show recorded of it. */
export interface SheetRow extends RunSheetRow {
  status: SlotStatus;
  actualStart: number | null;
  actualEnd: number | null;
  replacedBy: number | null;
  replaces: number | null;
}

/** One slot of a step: the run-sheet row and its item. */
export interface StepSlot {
  /** The main row of the slot. */
  slot: number;
  /** The row that is (or was) on air: the main row, or the backup standing in for it. */
  row: number;
  itemId: string | null;
  title: string;
}

export type RunStep =
  | { command: 'next'; showId: string; at: number; closed: StepSlot | null; onAir: StepSlot | null; openSale: boolean }
  | { command: 'swap'; showId: string; at: number; mainPosition: number; backupPosition: number; mainItemId: string | null; backupItemId: string; wasOnAir: boolean; openSale: boolean }
  | { command: 'skip'; showId: string; at: number; position: number };

const ms = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());

/**
 * The room's live show, if one is live. (The show lifecycle owns the state; this reads it.)
 */
export async function liveShowOfRoom(db: Kysely<Database>, roomId: string): Promise<LiveShow | undefined> {
  if (!/^\d{1,18}$/.test(roomId)) return undefined;
  const s = await db.selectFrom('shows').select(['id', 'room_id', 'state']).where('room_id', '=', roomId).where('state', '=', 'live').executeTakeFirst();
  return s && { id: s.id, roomId: s.room_id, state: s.state };
}

/** The room's live show, or NO_SHOW. */
export async function requireLiveShow(db: Kysely<Database>, roomId: string): Promise<LiveShow> {
  const s = await liveShowOfRoom(db, roomId);
  if (!s) throw new LivesaleError('NO_SHOW', `room ${roomId} has no live show; start one first`);
  return s;
}

/** Every live show (the periodic push). */
export async function liveShows(db: Kysely<Database>): Promise<LiveShow[]> {
  const rows = await db.selectFrom('shows').select(['id', 'room_id', 'state']).where('state', '=', 'live').execute();
  return rows.map((s) => ({ id: s.id, roomId: s.room_id, state: s.state }));
}

export async function sheetRows(db: Kysely<Database> | Transaction<Database>, showId: string): Promise<SheetRow[]> {
  const rows = await db.selectFrom('run_sheet').selectAll().where('show_id', '=', showId).orderBy('position').execute();
  return rows.map((r) => ({
    position: r.position,
    role: r.role,
    title: r.title,
    itemId: r.item_id,
    plannedStart: ms(r.planned_start),
    plannedEnd: ms(r.planned_end),
    status: r.status,
    actualStart: ms(r.actual_start),
    actualEnd: ms(r.actual_end),
    replacedBy: r.replaced_by,
    replaces: r.replaces,
  }));
}

/** The step an operation id already applied to the show, if any. */
export async function appliedStep(db: Kysely<Database>, showId: string, opId: string): Promise<RunStep | undefined> {
  const r = await db.selectFrom('run_sheet_ops').select('answer').where('show_id', '=', showId).where('op_id', '=', opId).executeTakeFirst();
  return r ? (r.answer as RunStep) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Deciding a step (pure; refusals are typed and nothing has changed yet)

const rowAt = (rows: readonly SheetRow[], position: number): SheetRow => {
  const r = rows.find((x) => x.position === position);
  if (!r) throw new LivesaleError('SLOT_NOT_FOUND', `the run sheet has no row ${position}`);
  return r;
};

const statusWords: Record<SlotStatus, string> = { pending: 'pending', on_air: 'on air', done: 'done', skipped: 'skipped', replaced: 'replaced by a backup' };

/** The row that stands for a main row now: its backup after a swap, else itself. */
function standing(rows: readonly SheetRow[], main: SheetRow): SheetRow {
  if (main.status !== 'replaced' || main.replacedBy === null) return main;
  return rows.find((r) => r.position === main.replacedBy) ?? main;
}

const stepSlot = (main: SheetRow, row: SheetRow): StepSlot => ({ slot: main.position, row: row.position, itemId: row.itemId, title: row.title });

/** The slot on air (its main row and the row on air), if any. */
function onAirSlot(rows: readonly SheetRow[]): StepSlot | null {
  const row = rows.find((r) => r.status === 'on_air');
  if (!row) return null;
  const main = row.replaces === null ? row : (rows.find((r) => r.position === row.replaces) ?? row);
  return stepSlot(main, row);
}

/** The next pending slot in sheet order, if any. */
function nextSlot(rows: readonly SheetRow[]): StepSlot | null {
  for (const main of rows) {
    if (main.role !== 'main') continue;
    const row = standing(rows, main);
    if (row.status === 'pending') return stepSlot(main, row);
  }
  return null;
}

/** `next`: the slot on air ends, the next pending one goes on air. NOTHING_NEXT when neither exists. */
export function decideNext(rows: readonly SheetRow[], showId: string, at: number): Omit<Extract<RunStep, { command: 'next' }>, 'openSale'> {
  const closed = onAirSlot(rows);
  const onAir = nextSlot(rows);
  if (!closed && !onAir) throw new LivesaleError('NOTHING_NEXT', 'no slot is on air and every main slot has run, been skipped or been replaced by a used backup');
  return { command: 'next', showId, at, closed, onAir };
}

/** `swap`: the backup row takes the place of a pending or on-air main slot. */
export function decideSwap(rows: readonly SheetRow[], showId: string, at: number, mainPosition: number, backupPosition: number): Omit<Extract<RunStep, { command: 'swap' }>, 'openSale'> {
  const main = rowAt(rows, mainPosition);
  const backup = rowAt(rows, backupPosition);
  if (main.role !== 'main') throw new LivesaleError('WRONG_SLOT_ROLE', `row ${mainPosition} is a ${main.role} row, not a main slot`);
  if (backup.role !== 'backup') throw new LivesaleError('WRONG_SLOT_ROLE', `row ${backupPosition} is a ${backup.role} row, not a backup`);
  if (main.status !== 'pending' && main.status !== 'on_air') throw new LivesaleError('SLOT_NOT_PENDING', `slot ${mainPosition} is ${statusWords[main.status]}`);
  if (backup.status !== 'pending' || backup.replaces !== null) throw new LivesaleError('SLOT_NOT_PENDING', `backup ${backupPosition} is ${backup.replaces !== null ? `already standing in for slot ${backup.replaces}` : statusWords[backup.status]}`);
  if (backup.itemId === null) throw new LivesaleError('INVALID_ARGUMENT', `backup ${backupPosition} has no item to put in the listing`);
  return { command: 'swap', showId, at, mainPosition, backupPosition, mainItemId: main.itemId, backupItemId: backup.itemId, wasOnAir: main.status === 'on_air' };
}

/** `skip`: a pending row will not run. */
export function decideSkip(rows: readonly SheetRow[], showId: string, at: number, position: number): Extract<RunStep, { command: 'skip' }> {
  const r = rowAt(rows, position);
  if (r.status !== 'pending') throw new LivesaleError('SLOT_NOT_PENDING', `row ${position} is ${statusWords[r.status]}`);
  return { command: 'skip', showId, at, position };
}

// ---------------------------------------------------------------------------------------------
// Writing a step

async function set(trx: Transaction<Database>, showId: string, position: number, patch: Partial<{ status: SlotStatus; actual_start: Date; actual_end: Date; replaced_by: number; replaces: number }>) {
  await trx.updateTable('run_sheet').set(patch).where('show_id', '=', showId).where('position', '=', position).execute();
}

/**
 * Writes a decided step with its operation id, in one transaction. If the id was applied
 * before, nothing changes and the first step is the answer.
 */
export async function applyStep(db: Kysely<Database>, opId: string, step: RunStep): Promise<RunStep> {
  return db.transaction().execute(async (trx) => {
    // One step at a time per show, whichever node runs it.
    await trx.selectFrom('shows').select('id').where('id', '=', step.showId).forUpdate().executeTakeFirstOrThrow();
    const prior = await trx.selectFrom('run_sheet_ops').select('answer').where('show_id', '=', step.showId).where('op_id', '=', opId).executeTakeFirst();
    if (prior) return prior.answer as RunStep;
    const at = new Date(step.at);
    switch (step.command) {
      case 'next':
        if (step.closed) await set(trx, step.showId, step.closed.row, { status: 'done', actual_end: at });
        if (step.onAir) await set(trx, step.showId, step.onAir.row, { status: 'on_air', actual_start: at });
        break;
      case 'swap':
        await set(trx, step.showId, step.mainPosition, step.wasOnAir ? { status: 'replaced', replaced_by: step.backupPosition, actual_end: at } : { status: 'replaced', replaced_by: step.backupPosition });
        await set(trx, step.showId, step.backupPosition, step.wasOnAir ? { status: 'on_air', replaces: step.mainPosition, actual_start: at } : { replaces: step.mainPosition });
        break;
      case 'skip':
        await set(trx, step.showId, step.position, { status: 'skipped' });
        break;
    }
    await trx.insertInto('run_sheet_ops').values({ show_id: step.showId, op_id: opId, command: step.command, answer: JSON.stringify(step), at }).execute();
    return step;
  });
}

// ---------------------------------------------------------------------------------------------
// The live view

const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

/** The main slots in sheet order, each as it stands now (a swapped slot is its backup's). */
export function slotsOf(rows: readonly SheetRow[]): RunSlot[] {
  return rows
    .filter((r) => r.role === 'main')
    .map((main) => {
      const row = standing(rows, main);
      const swapped = row !== main;
      const status: RunSlot['status'] = row.status === 'replaced' ? 'pending' : row.status;
      const actualStart = main.actualStart ?? (swapped ? row.actualStart : null);
      const actualEnd = swapped ? (row.actualEnd ?? (row.status === 'skipped' ? main.actualEnd : null)) : main.actualEnd;
      const planned = diff(main.plannedEnd, main.plannedStart);
      const actual = diff(actualEnd, actualStart);
      return {
        position: main.position,
        title: row.title,
        itemId: row.itemId,
        status,
        replacedBy: swapped ? row.position : null,
        mainItemId: main.itemId,
        plannedStart: main.plannedStart,
        plannedEnd: main.plannedEnd,
        actualStart,
        actualEnd,
        startDriftMs: diff(actualStart, main.plannedStart),
        endDriftMs: diff(actualEnd, main.plannedEnd),
        durationDriftMs: diff(actual, planned),
      };
    });
}

/** The run of show of a show's sheet at server time `now`. */
export function runView(show: LiveShow, rows: readonly SheetRow[], now: number): RunOfShow {
  const slots = slotsOf(rows);
  const cur = slots.find((s) => s.status === 'on_air') ?? null;
  const next = slots.find((s) => s.status === 'pending') ?? null;
  let driftMs: number | null = null;
  if (cur) driftMs = cur.startDriftMs;
  else {
    const ended = slots.filter((s) => s.actualEnd !== null).sort((a, b) => b.actualEnd! - a.actualEnd!)[0];
    driftMs = ended?.endDriftMs ?? null;
  }
  const out: RunRow[] = rows.map((r) => ({
    position: r.position,
    role: r.role,
    title: r.title,
    itemId: r.itemId,
    status: r.status,
    actualStart: r.actualStart,
    actualEnd: r.actualEnd,
    replacedBy: r.replacedBy,
    replaces: r.replaces,
  }));
  return {
    showId: show.id,
    roomId: show.roomId,
    state: show.state,
    serverTime: now,
    current: cur && { ...cur, timeLeftMs: cur.plannedEnd === null ? null : cur.plannedEnd - now },
    next,
    slots,
    rows: out,
    driftMs,
  };
}

/** The run of show of a show, read now. */
export async function runOfShow(db: Kysely<Database>, show: LiveShow, now = Date.now()): Promise<RunOfShow> {
  return runView(show, await sheetRows(db, show.id), now);
}
