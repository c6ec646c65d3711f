import { ApiError, type HttpClient } from '../web/client.ts';

export interface DemoShow {
  roomId: string;
  /** The show of the room: its run sheet, figures and review report (`npm run report -- <showId>`). */
  showId: string;
  itemIds: string[];
  onAir: string;
}

/** The demo show's flash-sale items (prices in fen), presented in this order, five minutes each. */
export const demoItems = [
  { title: 'Chilean cherries 2 kg (JJ grade)', price: 9900, stock: 500, perUserLimit: 2 },
  { title: 'Yunnan coffee beans 500 g', price: 5900, stock: 300, perUserLimit: 3 },
  { title: 'Handmade ceramic teapot', price: 19900, stock: 80, perUserLimit: 1 },
  { title: 'Down jacket, ultralight', price: 49900, stock: 200, perUserLimit: 1 },
];

/** Run-sheet lines without a listed item: a backup product and lottery prizes. */
export const demoExtras = [
  { role: 'backup' as const, title: 'Backup: Hainan mangoes 5 kg' },
  { role: 'lottery' as const, title: 'Lottery: ceramic cup set' },
  { role: 'lottery' as const, title: 'Lottery: 100-yuan coupon' },
];

const slotMs = 5 * 60_000;

/**
 * Creates a room with the demo items (sale open now for two hours), its show (planned now for
 * two hours) with a run sheet (each item in a five-minute slot, then the backup and the lottery
 * prizes), and puts the first item on air.
 */
export async function seedDemoShow(host: HttpClient, now = Date.now()): Promise<DemoShow> {
  const room = await host.createRoom('Autumn harvest live (demo)');
  const itemIds: string[] = [];
  for (const it of demoItems) {
    const item = await host.addItem(room.id, { ...it, startsAt: now, endsAt: now + 2 * 3600_000, holdSeconds: 900 });
    itemIds.push(item.id);
  }
  const runSheet = [
    ...demoItems.map((it, i) => ({ role: 'main' as const, title: it.title, itemId: itemIds[i]!, plannedStart: now + i * slotMs, plannedEnd: now + (i + 1) * slotMs })),
    ...demoExtras,
  ];
  const r = await host.request('POST', '/shows', { roomId: room.id, title: 'Autumn harvest live (demo)', plannedStart: now, plannedEnd: now + 2 * 3600_000, runSheet });
  if (r.status !== 201) {
    const e = (r.body as { error?: { code?: string; message?: string } })?.error;
    throw new ApiError(r.status, e?.code ?? 'UNKNOWN', e?.message ?? 'creating the demo show failed');
  }
  await host.putOnAir(room.id, itemIds[0]!);
  return { roomId: room.id, showId: String((r.body as { show: { id: string } }).show.id), itemIds, onAir: itemIds[0]! };
}
