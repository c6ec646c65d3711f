import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOfShow, RunOfShowFrame, ServerFrame } from '../../common/contracts/protocol.ts';
import type { ShowReport } from '../../orders/report.ts';
import { ApiError, type CommandInput, type HttpClient, type RoomSocket } from '../../web/client.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { commandOpId } from '../../gateway/host-commands.ts';
import { applyStep, decideNext, sheetRows } from '../../orders/run-of-show.ts';
import { conformance, hostWithRoom, record } from './support.ts';

let sys: System;
beforeAll(async () => {
  // Many commands in a row: the per-host rate limit is not under test here.
  sys = await startSystem({ hostCommandRate: 10_000, runOfShowPushMs: 300 });
});
afterAll(async () => {
  await sys?.stop();
});

const MAIN = 24;
const BACKUP = 4;
const LOTTERY = 6;
const slotMs = 5 * 60_000;

interface SheetRowDb {
  position: number;
  status: string;
  actual_start: Date | null;
  actual_end: Date | null;
  replaced_by: number | null;
  replaces: number | null;
}

describe('the run of show: next, swap, skip, the live view and drift', () => {
  let host: HttpClient;
  let roomId: string;
  let showId: string;
  let hostSock: RoomSocket;
  let opsSock: RoomSocket;
  let shopper: RoomSocket;
  let hostFrames: ServerFrame[];
  let opsFrames: ServerFrame[];
  let shopperFrames: ServerFrame[];
  const now = Date.now();
  const showStart = now - 10 * 60_000;
  /** Run-sheet position of the i-th main row (0-based), of each backup and each lottery row. */
  const mainPos: number[] = [];
  const backupPos: number[] = [];
  const lotteryPos: number[] = [];
  const mainItem: string[] = [];
  const backupItem: string[] = [];
  /** Main rows whose sale is pre-heated (opens when the slot goes on air). */
  const preheated = new Set<number>([0, 3, 7, 12, 20]);

  const rows = async (): Promise<SheetRowDb[]> =>
    (await sys.db.selectFrom('run_sheet').select(['position', 'status', 'actual_start', 'actual_end', 'replaced_by', 'replaces']).where('show_id', '=', showId).orderBy('position').execute()) as SheetRowDb[];
  const rowAt = async (p: number) => (await rows()).find((r) => r.position === p)!;
  const t = (d: Date | null) => (d === null ? null : d.getTime());
  const plannedStart = (i: number) => showStart + i * slotMs;
  const plannedEnd = (i: number) => showStart + (i + 1) * slotMs;
  const refusal = async (cmd: CommandInput, key: string) => {
    const version = await host.version(roomId);
    const err = await host.command(roomId, cmd, { idempotencyKey: key, baseVersion: version }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, JSON.stringify(cmd)).toBeInstanceOf(ApiError);
    return err as ApiError;
  };
  const snapshotOfEverything = async () => ({ rows: await rows(), version: await host.version(roomId), ops: await sys.db.selectFrom('run_sheet_ops').select('op_id').where('show_id', '=', showId).execute() });

  it('sets up a room with 24 main, 4 backup and 6 lottery rows; every step is refused without a live show', async () => {
    const h = await hostWithRoom(sys, 'run-host', 'Run of show');
    host = h.http;
    roomId = h.roomId;
    for (let i = 0; i < MAIN; i++) {
      const pre = preheated.has(i);
      const item = await host.addItem(roomId, { title: `Main ${i + 1}`, price: 1000 + i, stock: 50, perUserLimit: 2, startsAt: pre ? now + 3600_000 : now - 1000, endsAt: now + 7200_000 });
      mainItem.push(item.id);
    }
    for (let i = 0; i < BACKUP; i++) {
      // Backup 2 (swapped in while its slot is on air) is pre-heated too: its sale opens with it.
      const item = await host.addItem(roomId, { title: `Backup ${i + 1}`, price: 900 + i, stock: 20, perUserLimit: 2, startsAt: i === 1 ? now + 3600_000 : now - 1000, endsAt: now + 7200_000 });
      backupItem.push(item.id);
    }
    // Sheet order: four main rows, then a lottery row, six times over; the backups last.
    const runSheet: unknown[] = [];
    for (let i = 0; i < MAIN; i++) {
      runSheet.push({ role: 'main', title: `Main ${i + 1}`, itemId: mainItem[i], plannedStart: plannedStart(i), plannedEnd: plannedEnd(i) });
      mainPos.push(runSheet.length);
      if (i % 4 === 3) {
        runSheet.push({ role: 'lottery', title: `Lottery ${lotteryPos.length + 1}` });
        lotteryPos.push(runSheet.length);
      }
    }
    for (let i = 0; i < BACKUP; i++) {
      runSheet.push({ role: 'backup', title: `Backup ${i + 1}`, itemId: backupItem[i] });
      backupPos.push(runSheet.length);
    }
    expect(lotteryPos).toHaveLength(LOTTERY);
    const created = await host.request('POST', '/shows', { roomId, title: 'Run of show', plannedStart: showStart, plannedEnd: plannedEnd(MAIN - 1), runSheet });
    expect(created.status).toBe(201);
    showId = created.body.show.id;
    expect(created.body.show.runSheet).toHaveLength(MAIN + BACKUP + LOTTERY);

    const before = await snapshotOfEverything();
    for (const [cmd, key] of [
      [{ command: 'next' }, 'no-show-next'],
      [{ command: 'skip', position: mainPos[1]! }, 'no-show-skip'],
      [{ command: 'swap', mainPosition: mainPos[1]!, backupPosition: backupPos[0]! }, 'no-show-swap'],
    ] as const) {
      const e = await refusal(cmd, key);
      expect(e.status).toBe(409);
      expect(e.code).toBe('NO_SHOW');
    }
    expect(await snapshotOfEverything()).toEqual(before);
    // The show goes live (the show lifecycle's job; set directly here).
    await sys.db.updateTable('shows').set({ state: 'live', started_at: new Date() }).where('id', '=', showId).execute();

    hostSock = await sys.connect(roomId, h.token);
    opsSock = await sys.connect(roomId, await sys.token('ops', 'run-ops'));
    shopper = await sys.connect(roomId, await sys.token('shopper', 'run-shopper'));
    const rh = record(hostSock);
    const ro = record(opsSock);
    const rs = record(shopper);
    hostFrames = rh.frames;
    opsFrames = ro.frames;
    shopperFrames = rs.frames;
  });

  it('refuses bad steps with typed codes and changes nothing', async () => {
    const before = await snapshotOfEverything();
    const cases: [CommandInput, number, string][] = [
      [{ command: 'skip', position: 400 }, 404, 'SLOT_NOT_FOUND'],
      [{ command: 'swap', mainPosition: lotteryPos[0]!, backupPosition: backupPos[0]! }, 409, 'WRONG_SLOT_ROLE'],
      [{ command: 'swap', mainPosition: mainPos[0]!, backupPosition: mainPos[1]! }, 409, 'WRONG_SLOT_ROLE'],
      [{ command: 'swap', mainPosition: mainPos[0]!, backupPosition: 400 }, 404, 'SLOT_NOT_FOUND'],
      [{ command: 'swap', mainPosition: mainPos[0]!, backupPosition: mainPos[0]! }, 400, 'VALIDATION_FAILED'],
      [{ command: 'skip', position: 0 } as CommandInput, 400, 'VALIDATION_FAILED'],
    ];
    for (const [i, [cmd, status, code]] of cases.entries()) {
      const e = await refusal(cmd, `bad-${i}`);
      expect([e.status, e.code], JSON.stringify(cmd)).toEqual([status, code]);
    }
    expect(await snapshotOfEverything()).toEqual(before);
  });

  it('drives all 24 main slots with next, 2 swaps and a skip: on-air item, listing, sale state and drift each step', async () => {
    const swapPendingAt = 4; // slot 5 is swapped for backup 1 before it goes on air
    const swapOnAirAt = 9; // slot 10 is swapped for backup 2 while it is on air
    const skipAt = 14; // slot 15 is skipped
    /** The item each slot ends up presenting. */
    const slotItem = (i: number) => (i === swapPendingAt ? backupItem[0]! : i === swapOnAirAt ? backupItem[1]! : mainItem[i]!);

    const checkView = async (v: RunOfShow) => {
      const db = await rows();
      expect(v.showId).toBe(showId);
      expect(v.slots).toHaveLength(MAIN);
      expect(v.rows).toHaveLength(MAIN + BACKUP + LOTTERY);
      for (const [i, s] of v.slots.entries()) {
        const main = db.find((r) => r.position === mainPos[i])!;
        const standing = main.replaced_by === null ? main : db.find((r) => r.position === main.replaced_by)!;
        const start = t(main.actual_start) ?? t(standing.actual_start);
        const end = t(standing.actual_end);
        expect(s.position).toBe(mainPos[i]);
        expect(s.actualStart, `slot ${i + 1} start`).toBe(start);
        expect(s.actualEnd, `slot ${i + 1} end`).toBe(end);
        expect(s.startDriftMs).toBe(start === null ? null : start - plannedStart(i));
        expect(s.endDriftMs).toBe(end === null ? null : end - plannedEnd(i));
        expect(s.durationDriftMs).toBe(start === null || end === null ? null : end - start - slotMs);
      }
      return db;
    };

    let expectedOnAir: string | null = null;
    let lastOnAirSlot = -1;
    for (let i = 0; i < MAIN; i++) {
      if (i === swapPendingAt) {
        const r = await host.command(roomId, { command: 'swap', mainPosition: mainPos[i]!, backupPosition: backupPos[0]! }, { idempotencyKey: 'swap-pending' });
        expect(r.data).toMatchObject({ delisted: mainItem[i], listed: backupItem[0], onAir: expectedOnAir });
        const v = await shopper.until((x) => x.version === r.version);
        expect(v.doc.onAir).toBe(expectedOnAir);
        expect(v.doc.listing).not.toContain(mainItem[i]);
        expect(v.doc.listing.indexOf(backupItem[0]!)).toBeGreaterThanOrEqual(0);
        expect(await rowAt(mainPos[i]!)).toMatchObject({ status: 'replaced', replaced_by: backupPos[0], actual_start: null });
        expect(await rowAt(backupPos[0]!)).toMatchObject({ status: 'pending', replaces: mainPos[i] });
        // Each item keeps its own stock.
        expect(v.stock[backupItem[0]!]!.available).toBe(20);
        expect(v.stock[mainItem[i]!]!.available).toBe(50);
        // The same key answers the first answer; nothing changes.
        const before = await snapshotOfEverything();
        const again = await host.command(roomId, { command: 'swap', mainPosition: mainPos[i]!, backupPosition: backupPos[0]! }, { idempotencyKey: 'swap-pending' });
        expect(again).toEqual({ ...r, duplicate: true });
        expect(await snapshotOfEverything()).toEqual(before);
      }
      if (i === skipAt) {
        const r = await host.command(roomId, { command: 'skip', position: mainPos[i]! }, { idempotencyKey: 'skip-15' });
        expect(r.data).toEqual({ skipped: mainPos[i] });
        expect(await rowAt(mainPos[i]!)).toMatchObject({ status: 'skipped', actual_start: null });
        const e = await refusal({ command: 'skip', position: mainPos[i]! }, 'skip-15-again');
        expect([e.status, e.code]).toEqual([409, 'SLOT_NOT_PENDING']);
        const e2 = await refusal({ command: 'swap', mainPosition: mainPos[i]!, backupPosition: backupPos[2]! }, 'swap-skipped');
        expect([e2.status, e2.code]).toEqual([409, 'SLOT_NOT_PENDING']);
        continue;
      }

      // next: the slot on air ends, slot i goes on air.
      const key = `next-${i}`;
      const r = await host.command(roomId, { command: 'next' }, { idempotencyKey: key });
      const item = i === swapPendingAt ? backupItem[0]! : mainItem[i]!;
      expect(r.data?.onAir).toMatchObject({ slot: mainPos[i], itemId: item });
      expect(r.data?.closed ?? null).toEqual(lastOnAirSlot < 0 ? null : expect.objectContaining({ slot: mainPos[lastOnAirSlot] }));
      const v = await shopper.until((x) => x.version === r.version);
      expect(v.doc.onAir).toBe(item);
      expect(v.doc.listing).toContain(item);
      expectedOnAir = item;
      // A pre-heated sale opens with its slot; an open one is left as it was.
      const inv = await sys.gateway.context.flash.view(item);
      expect(inv?.phase).toBe('live');
      if (preheated.has(i)) {
        expect(r.data?.sale).toMatchObject({ item, startsAt: inv!.startsAt, endsAt: inv!.endsAt });
        expect(v.doc.items[item]!.startsAt).toBe(inv!.startsAt);
        expect(inv!.startsAt).toBeLessThanOrEqual(inv!.serverTime);
      } else {
        expect(r.data?.sale).toBeUndefined();
        expect(v.doc.items[item]!.startsAt).toBe(now - 1000);
      }
      const db = await rows();
      const onAirRow = db.find((x) => x.position === (i === swapPendingAt ? backupPos[0] : mainPos[i]))!;
      expect(onAirRow.status).toBe('on_air');
      if (lastOnAirSlot >= 0) {
        const prev = db.find((x) => x.position === (lastOnAirSlot === swapOnAirAt ? backupPos[1] : lastOnAirSlot === swapPendingAt ? backupPos[0] : mainPos[lastOnAirSlot]))!;
        expect(prev.status).toBe('done');
        // The slot that ended ended when this one started.
        expect(t(prev.actual_end)).toBe(t(onAirRow.actual_start));
      }
      lastOnAirSlot = i;

      // The live view, over HTTP: exact drift from the recorded times.
      const view = await host.runOfShow(showId);
      await checkView(view);
      expect(view.current?.position).toBe(mainPos[i]);
      expect(view.current?.itemId).toBe(item);
      expect(view.current?.actualStart).toBe(t(onAirRow.actual_start));
      expect(view.current?.timeLeftMs).toBe(plannedEnd(i) - view.serverTime);
      expect(view.driftMs).toBe(t(onAirRow.actual_start)! - plannedStart(i));
      // Slot 15 is still pending until it is skipped (after slot 14 went on air).
      const nextIndex = i + 1 < MAIN ? i + 1 : undefined;
      expect(view.next?.position ?? null).toBe(nextIndex === undefined ? null : mainPos[nextIndex]);
      // The host's and the ops socket get the view of this step; the shopper's never does.
      for (const frames of [hostFrames, opsFrames]) {
        await waitFor(`run_of_show with slot ${i + 1} on air`, () => frames.some((f) => f.type === 'run_of_show' && f.current?.position === mainPos[i] && f.current?.actualStart === t(onAirRow.actual_start)));
      }

      if (i === 0) {
        // A repeated key answers the first answer and moves nothing.
        const before = await snapshotOfEverything();
        const again = await host.command(roomId, { command: 'next' }, { idempotencyKey: key });
        expect(again).toEqual({ ...r, duplicate: true });
        expect(await snapshotOfEverything()).toEqual(before);
        // The same key for another command is refused.
        const reused = await refusal({ command: 'skip', position: mainPos[3]! }, key);
        expect(reused.status).toBe(409);
      }

      if (i === swapOnAirAt) {
        // The backup takes the slot on air: it goes on air now, its pre-heated sale opens, the main item is delisted.
        const mainIndex = v.doc.listing.indexOf(mainItem[i]!);
        expect(mainIndex).toBeGreaterThanOrEqual(0);
        const s = await host.command(roomId, { command: 'swap', mainPosition: mainPos[i]!, backupPosition: backupPos[1]! }, { idempotencyKey: 'swap-on-air' });
        const sv = await shopper.until((x) => x.version === s.version);
        expect(sv.doc.onAir).toBe(backupItem[1]);
        expect(sv.doc.listing).not.toContain(mainItem[i]);
        expect(sv.doc.listing.indexOf(backupItem[1]!)).toBe(mainIndex);
        const binv = await sys.gateway.context.flash.view(backupItem[1]!);
        expect(binv?.phase).toBe('live');
        expect(s.data?.sale).toMatchObject({ item: backupItem[1], startsAt: binv!.startsAt });
        expect(sv.stock[backupItem[1]!]!.available).toBe(20);
        const m = await rowAt(mainPos[i]!);
        const b = await rowAt(backupPos[1]!);
        expect(m).toMatchObject({ status: 'replaced', replaced_by: backupPos[1] });
        expect(b).toMatchObject({ status: 'on_air', replaces: mainPos[i] });
        expect(t(m.actual_end)).toBe(t(b.actual_start));
        expectedOnAir = backupItem[1]!;
        const sview = await host.runOfShow(showId);
        await checkView(sview);
        // The slot started when the main item went on air; it is the backup's now.
        expect(sview.current).toMatchObject({ position: mainPos[i], itemId: backupItem[1], replacedBy: backupPos[1], mainItemId: mainItem[i], actualStart: t(m.actual_start) });
        expect(sview.driftMs).toBe(t(m.actual_start)! - plannedStart(i));
        // A backup that stands in already cannot be used again; a replaced slot cannot be swapped again.
        const e = await refusal({ command: 'swap', mainPosition: mainPos[i + 1]!, backupPosition: backupPos[1]! }, 'swap-used-backup');
        expect([e.status, e.code]).toEqual([409, 'SLOT_NOT_PENDING']);
        const e2 = await refusal({ command: 'swap', mainPosition: mainPos[i]!, backupPosition: backupPos[3]! }, 'swap-replaced');
        expect([e2.status, e2.code]).toEqual([409, 'SLOT_NOT_PENDING']);
      }
    }

    // The last next ends the last slot; nothing is on air, the show's drift is its end drift.
    const last = await host.command(roomId, { command: 'next' }, { idempotencyKey: 'next-end' });
    expect(last.data).toMatchObject({ closed: { slot: mainPos[MAIN - 1] }, onAir: null });
    const v = await shopper.until((x) => x.version === last.version);
    expect(v.doc.onAir).toBeNull();
    const end = await host.runOfShow(showId);
    const db = await checkView(end);
    expect(end.current).toBeNull();
    expect(end.next).toBeNull();
    const lastRow = db.find((r) => r.position === mainPos[MAIN - 1])!;
    expect(end.driftMs).toBe(t(lastRow.actual_end)! - plannedEnd(MAIN - 1));
    expect(end.slots.map((s) => s.status)).toEqual([...Array(MAIN).keys()].map((i) => (i === skipAt ? 'skipped' : 'done')));
    expect(end.slots.map((s) => s.itemId)).toEqual([...Array(MAIN).keys()].map(slotItem));
    // Lottery rows and the unused backups were never driven.
    for (const p of [...lotteryPos, backupPos[2]!, backupPos[3]!]) expect((await rowAt(p)).status).toBe('pending');
    const e = await refusal({ command: 'next' }, 'next-nothing');
    expect([e.status, e.code]).toEqual([409, 'NOTHING_NEXT']);

    // Every run_of_show frame matches the protocol; the shopper got none.
    for (const f of [...hostFrames, ...opsFrames]) expect(conformance(f)).toBeUndefined();
    expect(shopperFrames.filter((f) => f.type === 'run_of_show')).toEqual([]);
    expect(shopper.runOfShow).toBeUndefined();
  });

  it('pushes the view periodically while the show is live', async () => {
    const count = () => hostFrames.filter((f) => f.type === 'run_of_show').length;
    const n = count();
    await waitFor('two more periodic run_of_show frames', () => count() >= n + 2);
    const latest = hostFrames.filter((f): f is RunOfShowFrame => f.type === 'run_of_show').at(-1)!;
    expect(latest.showId).toBe(showId);
    expect(latest.serverTime).toBeGreaterThan(0);
    expect(shopperFrames.filter((f) => f.type === 'run_of_show')).toEqual([]);
  });

  it('GET /shows/:showId/run is for ops and the show host; a shopper is refused', async () => {
    const shopperHttp = sys.http(await sys.token('shopper', 'run-shopper'));
    const r = await shopperHttp.request('GET', `/shows/${showId}/run`);
    expect([r.status, r.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const ops = sys.http(await sys.token('ops', 'run-ops'));
    const o = await ops.request('GET', `/shows/${showId}/run`);
    expect(o.status).toBe(200);
    expect((o.body as RunOfShow).slots).toHaveLength(MAIN);
  });

  it('the report shows planned against the recorded actuals per slot, the swaps and the skip', async () => {
    const r = await host.request('GET', `/shows/${showId}/report`);
    expect(r.status).toBe(200);
    const report = r.body as ShowReport;
    const db = await rows();
    const iso = (d: Date | null) => (d === null ? null : d.toISOString());
    expect(report.schedule).toHaveLength(MAIN + BACKUP + LOTTERY);
    for (const s of report.schedule) {
      const row = db.find((x) => x.position === s.position)!;
      expect(s.status).toBe(row.status);
      expect(s.actualStart).toBe(iso(row.actual_start));
      expect(s.actualEnd).toBe(iso(row.actual_end));
      expect(s.replacedBy).toBe(row.replaced_by);
      expect(s.replaces).toBe(row.replaces);
    }
    const at = (p: number) => report.schedule.find((s) => s.position === p)!;
    expect(at(mainPos[4]!)).toMatchObject({ status: 'replaced', replacedBy: backupPos[0], actualStart: null });
    expect(at(backupPos[0]!)).toMatchObject({ status: 'done', replaces: mainPos[4], plannedStart: new Date(plannedStart(4)).toISOString() });
    expect(at(mainPos[9]!)).toMatchObject({ status: 'replaced', replacedBy: backupPos[1] });
    expect(at(backupPos[1]!)).toMatchObject({ status: 'done', replaces: mainPos[9] });
    expect(at(mainPos[14]!)).toMatchObject({ status: 'skipped', actualStart: null, onAirSeconds: 0 });
    const first = at(mainPos[0]!);
    expect(first.startDelaySeconds).toBe(Math.round((t(db.find((x) => x.position === mainPos[0])!.actual_start)! - plannedStart(0)) / 1000));
    const text = (await host.request('GET', `/shows/${showId}/report?format=text`)).body as string;
    expect(text).toContain(`replaced by #${backupPos[0]}`);
    expect(text).toContain('skipped');
    const csv = (await host.request('GET', `/shows/${showId}/report?format=csv&part=schedule`)).body as string;
    expect(csv.split('\r\n')[0]).toContain('status,replaced_by,replaces');
  });
});

it('a step that changed the sheet but never reached the room log applies once when retried with its key', async () => {
  const h = await hostWithRoom(sys, 'crash-host', 'Interrupted step');
  const now = Date.now();
  const a = await h.http.addItem(h.roomId, { title: 'First', price: 100, stock: 5, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 3600_000 });
  const b = await h.http.addItem(h.roomId, { title: 'Second', price: 100, stock: 5, perUserLimit: 1, startsAt: now - 1000, endsAt: now + 3600_000 });
  const created = await h.http.request('POST', '/shows', {
    roomId: h.roomId,
    title: 'Interrupted',
    plannedStart: now,
    plannedEnd: now + 600_000,
    runSheet: [
      { role: 'main', title: 'First', itemId: a.id, plannedStart: now, plannedEnd: now + 300_000 },
      { role: 'main', title: 'Second', itemId: b.id, plannedStart: now + 300_000, plannedEnd: now + 600_000 },
    ],
  });
  const showId = created.body.show.id as string;
  await sys.db.updateTable('shows').set({ state: 'live', started_at: new Date() }).where('id', '=', showId).execute();
  // The first attempt of `next` with key k1 wrote its step, then stopped before the room append.
  const opId = commandOpId(h.roomId, 'host:crash-host k1');
  const firstAt = now - 5000;
  await applyStep(sys.db, opId, { ...decideNext(await sheetRows(sys.db, showId), showId, firstAt), openSale: false });
  const version = await h.http.version(h.roomId);
  expect((await h.http.snapshot(h.roomId)).room.onAir).toBeNull();

  const r = await h.http.command(h.roomId, { command: 'next' }, { idempotencyKey: 'k1', baseVersion: version });
  expect(r.duplicate).toBe(false);
  expect(r.data?.onAir).toMatchObject({ itemId: a.id });
  expect((await h.http.snapshot(h.roomId)).room.onAir).toBe(a.id);
  const rows = await sheetRows(sys.db, showId);
  // Applied once: the first slot on air since the first attempt, the second still pending.
  expect(rows.map((x) => [x.status, x.actualStart])).toEqual([
    ['on_air', firstAt],
    ['pending', null],
  ]);
  expect(await sys.db.selectFrom('run_sheet_ops').select('op_id').where('show_id', '=', showId).execute()).toHaveLength(1);
  const n = await h.http.command(h.roomId, { command: 'next' }, { idempotencyKey: 'k2' });
  expect(n.data?.onAir).toMatchObject({ itemId: b.id });
});
