import { ApiError, type HttpClient } from '../web/client.ts';
import { demoExtras, demoItems } from './demo-data.ts';
import { seedLottery } from './seed-lottery.ts';
import { seedShowInRoom } from './seed-show.ts';
import { paced } from './paced.ts';

export { demoExtras, demoItems } from './demo-data.ts';

export interface DemoShow {
  roomId: string;
  /** The room's live show: its run sheet, figures and review report (`npm run report -- <showId>`). */
  showId: string;
  /** The room's earlier show (ended): its figures are its own. */
  earlierShowId: string;
  /** The live show's items, in run-sheet order. */
  itemIds: string[];
  onAir: string;
  /** The live show's lottery (entries open for thirty minutes). */
  lotteryId: string;
}

const slotMs = 5 * 60_000;

async function ok(r: Promise<{ status: number; body: unknown }>, what: string): Promise<unknown> {
  const x = await r;
  if (x.status >= 300) {
    const e = (x.body as { error?: { code?: string; message?: string } })?.error;
    throw new ApiError(x.status, e?.code ?? 'UNKNOWN', e?.message ?? `${what} failed`);
  }
  return x.body;
}

/**
 * The demo: a room with two shows, as a channel has them day after day. The earlier show ran
 * (started, its items delisted, ended); the second is live, driven by its run sheet: the demo
 * items (sale open now for two hours) in five-minute slots, then a backup and two lottery prizes.
 * The first slot goes on air through the run of show (`next`), and a lottery (a coupon, open to
 * anyone for thirty minutes) takes entries.
 */
export async function seedDemoShow(host: HttpClient, now = Date.now()): Promise<DemoShow> {
  const room = await host.createRoom('Autumn harvest live (demo)');
  const earlier = await seedShowInRoom(host, room.id, { title: 'Autumn harvest warm-up (demo)', now });
  await paced(() => host.putOnAir(room.id, null));
  for (const id of earlier.itemIds) await paced(() => host.command(room.id, { command: 'delist', itemId: id }));
  await ok(host.request('POST', `/shows/${earlier.showId}/end`), 'ending the earlier show');

  // No show is planned or live now, so the items wait on the room's shelf until the run sheet carries them into the show.
  const itemIds: string[] = [];
  for (const it of demoItems) {
    const item = await paced(() => host.addItem(room.id, { ...it, startsAt: now, endsAt: now + 2 * 3600_000, holdSeconds: 900 }));
    itemIds.push(item.id);
  }
  const runSheet = [
    ...demoItems.map((it, i) => ({ role: 'main' as const, title: it.title, itemId: itemIds[i]!, plannedStart: now + i * slotMs, plannedEnd: now + (i + 1) * slotMs })),
    ...demoExtras,
  ];
  const created = (await ok(host.request('POST', '/shows', { roomId: room.id, title: 'Autumn harvest live (demo)', plannedStart: now, plannedEnd: now + 2 * 3600_000, runSheet }), 'creating the demo show')) as {
    show: { id: string };
  };
  const showId = String(created.show.id);
  await ok(host.request('POST', `/shows/${showId}/start`), 'starting the demo show');
  await paced(() => host.command(room.id, { command: 'next' }));
  const lottery = await seedLottery(host, room.id, { title: 'Lucky bag: 100-yuan coupon', winners: 3, showId }, now);
  return { roomId: room.id, showId, earlierShowId: earlier.showId, itemIds, onAir: itemIds[0]!, lotteryId: lottery.id };
}
