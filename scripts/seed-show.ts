import { ApiError, type HttpClient } from '../web/client.ts';
import { demoExtras, demoItems } from './demo-data.ts';
import { paced } from './paced.ts';

export interface SeededShow {
  roomId: string;
  /** The new show, live: its figures start from zero (`npm run report -- <showId>`). */
  showId: string;
  /** The show's items (the demo items, each added into the show), in run-sheet order. */
  itemIds: string[];
  onAir: string;
}

const slotMs = 5 * 60_000;

async function ok<T>(r: Promise<{ status: number; body: unknown }>, what: string): Promise<T> {
  const x = await r;
  if (x.status >= 300) {
    const e = (x.body as { error?: { code?: string; message?: string } })?.error;
    throw new ApiError(x.status, e?.code ?? 'UNKNOWN', e?.message ?? `${what} failed`);
  }
  return x.body as T;
}

/**
 * Creates a show in an existing room with a run sheet (the demo items, five minutes each, then
 * the backup and the lottery prizes), starts it, adds the demo items into it and puts the first
 * on air. The show is planned from now for two hours, or from the end of the room's planned or
 * live shows when one is still ahead (shows of a room must not overlap). `host` must be the
 * room's host; SHOW_LIVE when another show of the room is live.
 */
export async function seedShowInRoom(host: HttpClient, roomId: string, opts: { title?: string; now?: number } = {}): Promise<SeededShow> {
  const now = opts.now ?? Date.now();
  const title = opts.title ?? 'Evening harvest live (demo)';
  const { shows } = await ok<{ shows: { id: string; state: string; plannedEnd: number }[] }>(host.request('GET', `/rooms/${roomId}/shows`), 'listing the shows');
  const live = shows.find((s) => s.state === 'live');
  // Refused before anything is created.
  if (live) throw new ApiError(409, 'SHOW_LIVE', `room ${roomId} has live show ${live.id}; end it first`);
  const plannedStart = Math.max(now, ...shows.filter((s) => s.state !== 'ended').map((s) => s.plannedEnd));
  const runSheet = [
    ...demoItems.map((it, i) => ({ role: 'main' as const, title: it.title, plannedStart: plannedStart + i * slotMs, plannedEnd: plannedStart + (i + 1) * slotMs })),
    ...demoExtras,
  ];
  const created = await ok<{ show: { id: string } }>(host.request('POST', '/shows', { roomId, title, plannedStart, plannedEnd: plannedStart + 2 * 3600_000, runSheet }), 'creating the show');
  const showId = String(created.show.id);
  await ok(host.request('POST', `/shows/${showId}/start`), 'starting the show');
  const itemIds: string[] = [];
  for (const it of demoItems) {
    const item = await paced(() => host.addItem(roomId, { ...it, startsAt: now, endsAt: now + 2 * 3600_000, holdSeconds: 900, showId }));
    itemIds.push(item.id);
  }
  await paced(() => host.putOnAir(roomId, itemIds[0]!));
  return { roomId, showId, itemIds, onAir: itemIds[0]! };
}
