import { spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type CommandInput, type HttpClient } from '../../web/client.ts';
import type { Envelope, LotteryInfo, LotteryPublic, ServerFrame } from '../../common/contracts/protocol.ts';
import { inventoryScripts } from '../../inventory/scripts.ts';
import { Sweeper } from '../../inventory/sweeper.ts';
import { verifyLottery } from '../../scripts/lottery-verify.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow } from './support.ts';

let sys: System;
let host: HttpClient;
let roomId: string;
let showId: string;
let prizeId: string;

beforeAll(async () => {
  sys = await startSystem({ hostCommandRate: 1000, wsMessageRate: 1000, userMessageRate: 1000 });
  const h = await hostWithRoom(sys, 'lottery-host', 'lottery room');
  host = h.http;
  roomId = h.roomId;
  prizeId = (await host.addItem(roomId, { title: 'Ceramic cup set', price: 8800, stock: 20, perUserLimit: 1, ...openWindow() })).id;
  const now = Date.now();
  const r = await host.request('POST', '/shows', { roomId, title: 'Lottery show', plannedStart: now, plannedEnd: now + 3600_000 });
  expect(r.status).toBe(201);
  showId = String(r.body.show.id);
  // The show goes live (its lifecycle is the shows module's; here set directly), ten minutes ago.
  await sql`update shows set state = 'live', started_at = now() - interval '10 minutes' where id = ${showId}`.execute(sys.db);
  // The prize item belongs to the show.
  await sys.db.updateTable('campaign_items').set({ show_id: showId }).where('id', '=', prizeId).execute();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

async function command(cmd: CommandInput) {
  return host.command(roomId, cmd);
}

async function createLottery(fields: Partial<Extract<CommandInput, { command: 'createLottery' }>> = {}): Promise<LotteryInfo> {
  const r = await command({
    command: 'createLottery',
    title: 'Lucky bag',
    prize: { kind: 'coupon', title: '100-yuan coupon' },
    winners: 1,
    eligibility: { kind: 'anyone' },
    closesAt: Date.now() + 600_000,
    ...fields,
  } as CommandInput);
  return (r.data as { lottery: LotteryInfo }).lottery;
}

async function draw(lotteryId: string): Promise<LotteryInfo> {
  return ((await command({ command: 'drawLottery', lotteryId })).data as { lottery: LotteryInfo }).lottery;
}

async function shopper(sub: string): Promise<HttpClient> {
  return sys.http(await sys.token('shopper', sub));
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err.code;
    throw err;
  }
  return 'accepted';
}

function deltasOf(frames: ServerFrame[]): Envelope['d'][] {
  const out: Envelope['d'][] = [];
  for (const f of frames) {
    if (f.type === 'delta') out.push(f.d);
    else if (f.type === 'deltas') for (const e of f.items) out.push(e.d);
    else if (f.type === 'catchup') for (const e of f.items) out.push(e.d);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A second, independent implementation of the documented draw (docs/lottery.md): WebCrypto for
// the hashes and the HMAC stream, BigInt arithmetic for the rejection bound, and a sparse map for
// the shuffle (positions never touched hold their own entrant).

const subtle = webcrypto.subtle;
const toHex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
const fromHex = (h: string) => new Uint8Array(h.match(/../g)!.map((x) => Number.parseInt(x, 16)));

async function independentWinners(seedHex: string, lotteryId: string, entrants: string[], k: number): Promise<{ commitment: string; hash: string; winners: string[] }> {
  const enc = new TextEncoder();
  const commitment = toHex(await subtle.digest('SHA-256', fromHex(seedHex)));
  const sorted = [...entrants].sort((a, b) => {
    const x = enc.encode(a);
    const y = enc.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
  const hash = toHex(await subtle.digest('SHA-256', enc.encode(sorted.join('\n'))));
  const key = await subtle.importKey('raw', fromHex(seedHex), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const words: number[] = [];
  let block = 0;
  const word = async (): Promise<bigint> => {
    if (words.length === 0) {
      const mac = new DataView(await subtle.sign('HMAC', key, enc.encode(`livesale-lottery-v1:${lotteryId}:${hash}:${block++}`)));
      for (let i = 0; i < 32; i += 4) words.push(mac.getUint32(i, false));
    }
    return BigInt(words.shift()!);
  };
  const two32 = 1n << 32n;
  const swapped = new Map<number, string>();
  const at = (i: number) => swapped.get(i) ?? sorted[i]!;
  const winners: string[] = [];
  for (let j = 0; j < Math.min(k, sorted.length); j++) {
    const m = BigInt(sorted.length - j);
    const bound = two32 - (two32 % m);
    let x = await word();
    while (x >= bound) x = await word();
    const r = j + Number(x % m);
    const a = at(j);
    const b = at(r);
    swapped.set(j, b);
    swapped.set(r, a);
    winners.push(b);
  }
  return { commitment, hash, winners };
}

function runVerify(lotteryId: string): Promise<{ code: number | null; out: string }> {
  const script = fileURLToPath(new URL('../../scripts/lottery-verify.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, lotteryId], { env: { ...process.env, GATEWAY_URL: sys.baseUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('lotteries', () => {
  it('5,000 entrants: the published draw is recomputed by an independent implementation and by the verify script', async () => {
    const viewer = await sys.connect(roomId, await sys.token('shopper', 'viewer-0'));
    viewer.keepFrames = true;
    const before = await sys.gateway.context.flash.view(prizeId);
    const lottery = await createLottery({ title: 'Big bag', prize: { kind: 'item', itemId: prizeId }, winners: 10, claimSeconds: 600 });
    expect(lottery.state).toBe('open');
    expect(lottery.commitment).toMatch(/^[0-9a-f]{64}$/);
    expect((lottery as { drawn?: unknown }).drawn).toBeUndefined();
    // Viewers see the lottery in the room document.
    await viewer.until((v) => !!v.doc.lotteries?.some((l) => l.id === lottery.id));
    // Before the draw, the public read gives the commitment and nothing of the seed.
    const pre = await sys.http().lottery(lottery.id);
    expect(pre.commitment).toBe(lottery.commitment);
    expect(JSON.stringify(pre)).not.toMatch(/seed/);

    const n = 5000;
    const users = Array.from({ length: n }, (_, i) => `fan-${String(i).padStart(4, '0')}`);
    let next = 0;
    const results: string[] = [];
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < users.length) {
          const u = users[next++]!;
          const r = await (await shopper(u)).enterLottery(lottery.id);
          results.push(r.outcome);
        }
      }),
    );
    expect(results.filter((o) => o === 'entered').length).toBe(n);
    expect((await sys.http().lottery(lottery.id)).entrants).toBe(n);
    // The entrant count reached the room, coalesced (far fewer deltas than entries), up to n.
    await waitFor('the entrant count in the room', () => deltasOf(viewer.frames).some((d) => d.t === 'lotteryEntries' && d.lottery === lottery.id && d.entrants === n));
    const counts = deltasOf(viewer.frames).filter((d) => d.t === 'lotteryEntries');
    expect(counts.length).toBeLessThan(n);

    const drawn = await draw(lottery.id);
    expect(drawn.state).toBe('drawn');
    expect(drawn.drawn!.winners).toHaveLength(10);
    expect(drawn.drawn!.shortfall).toBe(0);
    await viewer.until((v) => v.doc.lotteries?.find((l) => l.id === lottery.id)?.state === 'drawn');

    const pub: LotteryPublic = await sys.http().lottery(lottery.id);
    expect(pub.entrantIds).toHaveLength(n);
    const mine = await independentWinners(pub.drawn!.seed, pub.id, pub.entrantIds!, pub.winners);
    expect(mine.commitment).toBe(lottery.commitment);
    expect(mine.hash).toBe(pub.drawn!.entrantsHash);
    expect(pub.drawn!.winners).toEqual(mine.winners);
    expect(pub.winnerList!.map((w) => w.userId)).toEqual(mine.winners);

    // Each winner holds one unit at price 0; the invariant holds.
    const after = (await sys.gateway.context.flash.view(prizeId))!;
    expect(after.available).toBe(before!.available - 10);
    expect(after.available + after.held + after.sold).toBe(after.total);
    for (const w of pub.winnerList!) {
      const hold = await sys.gateway.context.flash.hold(prizeId, w.orderId!);
      expect(hold).toMatchObject({ userId: w.userId, state: 'held', qty: 1, unitPrice: 0, deadline: w.claimDeadline });
    }
    // Drawing again answers the same draw and holds nothing more.
    expect((await draw(lottery.id)).drawn!.winners).toEqual(pub.drawn!.winners);
    expect((await sys.gateway.context.flash.view(prizeId))!.available).toBe(after.available);

    // The verify script, run as its own process against the gateway, agrees.
    const v = await runVerify(lottery.id);
    expect(v.out).toMatch(/^OK lottery /m);
    expect(v.code).toBe(0);
    // And it would catch a tampered draw.
    const tampered = { ...pub, drawn: { ...pub.drawn!, winners: [pub.entrantIds!.find((u) => !pub.drawn!.winners.includes(u))!, ...pub.drawn!.winners.slice(1)] } };
    expect(verifyLottery(tampered).ok).toBe(false);
    expect(verifyLottery({ ...pub, commitment: '0'.repeat(64) }).ok).toBe(false);

    // The report lists it with its entrants, winners and seed.
    const report = await sys.http(await sys.token('ops', 'ops-1')).request('GET', `/shows/${showId}/report`);
    expect(report.status).toBe(200);
    const row = report.body.lotteries.find((l: { id: string }) => l.id === lottery.id);
    expect(row).toMatchObject({ entrants: n, seed: pub.drawn!.seed, commitment: lottery.commitment });
    expect(row.winners.map((w: { userId: string }) => w.userId)).toEqual(mine.winners);
    const listed = await sys.http().showLotteries(showId);
    expect(listed.find((l) => l.id === lottery.id)?.drawn?.seed).toBe(pub.drawn!.seed);
  }, 600_000);

  it('refuses entries outside the window, a second entry answers the first, and drawn lotteries take no entries', async () => {
    const later = await createLottery({ opensAt: Date.now() + 120_000, closesAt: Date.now() + 600_000 });
    const a = await shopper('win-a');
    expect(await refusal(a.enterLottery(later.id))).toBe('LOTTERY_NOT_OPEN');
    expect((await sys.http().lottery(later.id)).entrants).toBe(0);
    // Nothing to draw before entries open.
    expect(await refusal(draw(later.id))).toBe('LOTTERY_NOT_OPEN');
    expect((await sys.http().lottery(later.id)).state).toBe('open');

    const short = await createLottery({ closesAt: Date.now() + 2500 });
    await new Promise((r) => setTimeout(r, 3000));
    expect(await refusal(a.enterLottery(short.id))).toBe('LOTTERY_CLOSED');
    expect((await sys.http().lottery(short.id)).entrants).toBe(0);
    // Drawn without entrants: no winners, the whole number asked is the shortfall, and it verifies.
    const empty = await draw(short.id);
    expect(empty.drawn).toMatchObject({ entrants: 0, winners: [], shortfall: 1 });
    expect(verifyLottery(await sys.http().lottery(short.id)).ok).toBe(true);

    const open = await createLottery();
    const first = await a.enterLottery(open.id);
    expect(first.outcome).toBe('entered');
    const again = await a.enterLottery(open.id);
    expect(again).toMatchObject({ outcome: 'duplicate', enteredAt: first.enteredAt, entrants: 1 });
    // The same user over WebSocket: the first entry still stands, counted once.
    const s = await sys.connect(roomId, await sys.token('shopper', 'win-a'));
    expect((await s.enterLottery(open.id)).outcome).toBe('duplicate');
    // Concurrent entries of one user count once.
    const b = await shopper('win-b');
    const both = await Promise.all([b.enterLottery(open.id), b.enterLottery(open.id), b.enterLottery(open.id)]);
    expect(both.filter((r) => r.outcome === 'entered')).toHaveLength(1);
    expect((await sys.http().lottery(open.id)).entrants).toBe(2);

    await draw(open.id);
    expect(await refusal((await shopper('win-c')).enterLottery(open.id))).toBe('LOTTERY_CLOSED');
    expect(await refusal(a.enterLottery('999999'))).toBe('LOTTERY_NOT_FOUND');
    s.close();
  }, 120_000);

  it('refuses the ineligible of each kind and admits the eligible, from what the system holds', async () => {
    const present = await createLottery({ eligibility: { kind: 'present' } });
    const followers = await createLottery({ eligibility: { kind: 'followers' } });
    const watched = await createLottery({ eligibility: { kind: 'watched', minMinutes: 1 } });
    const buyers = await createLottery({ eligibility: { kind: 'buyers' } });
    const stranger = await shopper('stranger');
    for (const l of [present, followers, watched, buyers]) expect(await refusal(stranger.enterLottery(l.id))).toBe('NOT_ELIGIBLE');

    // Present: a socket in the room makes HTTP and WebSocket entries eligible.
    const sockA = await sys.connect(roomId, await sys.token('shopper', 'elig-a'));
    expect((await (await shopper('elig-a')).enterLottery(present.id)).outcome).toBe('entered');
    const sockB = await sys.connect(roomId, await sys.token('shopper', 'elig-b'));
    expect((await sockB.enterLottery(present.id)).outcome).toBe('entered');
    // Gone again: not present any more.
    sockA.close();
    await waitFor('the socket to be gone', () => sys.gateway.context.presence.since(roomId, 'elig-a') === undefined);
    await waitFor('the visit to be closed in the ledger', async () => {
      const r = await sys.db.selectFrom('room_activity').select('event_id').where('room_id', '=', roomId).where('user_id', '=', 'elig-a').where('type', '=', 'viewer.left').executeTakeFirst();
      return !!r;
    });
    const late = await createLottery({ eligibility: { kind: 'present' } });
    expect(await refusal((await shopper('elig-a')).enterLottery(late.id))).toBe('NOT_ELIGIBLE');

    // Followers: a follow over the socket, once the ledger has it.
    expect(await refusal(sockB.enterLottery(followers.id))).toBe('NOT_ELIGIBLE');
    await sockB.follow();
    await waitFor('the follow in the ledger', () => sys.db.selectFrom('room_followers').select('user_id').where('room_id', '=', roomId).where('user_id', '=', 'elig-b').executeTakeFirst());
    expect((await sockB.enterLottery(followers.id)).outcome).toBe('entered');

    // Watched: a viewer present only a moment is refused; one whose visit of 90 s this show the
    // ledger holds (its room-activity event, as a gateway publishes it) is admitted.
    expect(await refusal(sockB.enterLottery(watched.id))).toBe('NOT_ELIGIBLE');
    const producer = sys.kafka.producer();
    await producer.connect();
    const at = Date.now();
    await producer.send({
      topic: sys.config.topics.activity,
      messages: [
        { key: roomId, value: JSON.stringify({ type: 'viewer.joined', id: `join:t:watcher`, room: roomId, at: at - 90_000, user: 'watcher', node: 'n1' }) },
        { key: roomId, value: JSON.stringify({ type: 'viewer.left', id: `leave:t:watcher`, room: roomId, at, user: 'watcher', node: 'n1', watchedMs: 90_000 }) },
      ],
    });
    await producer.disconnect();
    await waitFor('the visit in the ledger', () => sys.db.selectFrom('room_activity').select('event_id').where('event_id', '=', 'leave:t:watcher').executeTakeFirst());
    expect((await (await shopper('watcher')).enterLottery(watched.id)).outcome).toBe('entered');

    // Buyers: a paid order of an item of this show.
    const buyer = await shopper('elig-buyer');
    expect(await refusal(buyer.enterLottery(buyers.id))).toBe('NOT_ELIGIBLE');
    const held = await buyer.buy(roomId, prizeId, 1, 'buy-1');
    expect(held.outcome).toBe('held');
    if (held.outcome !== 'held') return;
    await buyer.pay(roomId, prizeId, held.orderId);
    await waitFor('the paid order in the ledger', () => sys.db.selectFrom('orders').select('state').where('order_id', '=', held.orderId).where('state', '=', 'paid').executeTakeFirst());
    expect((await buyer.enterLottery(buyers.id)).outcome).toBe('entered');
    sockB.close();
  }, 180_000);

  it("a winner's claim pays the prize at 0 in the ledger; an unclaimed prize expires and its stock returns", async () => {
    const item = (await host.addItem(roomId, { title: 'Tea set', price: 12_800, stock: 5, perUserLimit: 1, ...openWindow() })).id;
    const lottery = await createLottery({ prize: { kind: 'item', itemId: item }, winners: 2, claimSeconds: 10 });
    const a = await shopper('claim-a');
    const b = await shopper('claim-b');
    await a.enterLottery(lottery.id);
    await b.enterLottery(lottery.id);
    const drawn = await draw(lottery.id);
    expect([...drawn.drawn!.winners].sort()).toEqual(['claim-a', 'claim-b']);
    const pub = await sys.http().lottery(lottery.id);
    const wa = pub.winnerList!.find((w) => w.userId === 'claim-a')!;
    const wb = pub.winnerList!.find((w) => w.userId === 'claim-b')!;
    const flash = sys.gateway.context.flash;
    expect((await flash.view(item))!.available).toBe(3);

    const paid = await a.pay(roomId, item, wa.orderId!);
    expect(paid).toMatchObject({ outcome: 'paid', amount: 0 });
    await waitFor('the claim in the ledger', () =>
      sys.db.selectFrom('orders').select(['state', 'amount', 'paid_amount']).where('order_id', '=', wa.orderId!).where('state', '=', 'paid').executeTakeFirst(),
    ).then((o) => expect(o).toMatchObject({ amount: '0', paid_amount: '0' }));

    // Past the claim deadline the sweeper expires b's prize: its unit is available again.
    await new Promise((r) => setTimeout(r, Math.max(0, wb.claimDeadline! - Date.now()) + 500));
    const sweeper = new Sweeper({ redis: sys.redis, keys: sys.keys, scripts: inventoryScripts(sys.redis) });
    const swept = await sweeper.sweepItem(item);
    expect(swept.expired).toBe(1);
    const v = (await flash.view(item))!;
    expect(v).toMatchObject({ available: 4, held: 0, sold: 1, total: 5 });
    expect(await refusal(b.pay(roomId, item, wb.orderId!))).toBe('HOLD_EXPIRED');
    await waitFor('the expiry in the ledger', () => sys.db.selectFrom('orders').select('state').where('order_id', '=', wb.orderId!).where('state', '=', 'expired').executeTakeFirst());
    const claims = (await sys.http().lottery(lottery.id)).winnerList!;
    expect(claims.find((w) => w.userId === 'claim-a')!.claim).toBe('claimed');
    expect(claims.find((w) => w.userId === 'claim-b')!.claim).toBe('expired');
  }, 120_000);

  it('refuses a prize stock short of the winners, and a second lottery with the same key answers the first', async () => {
    const item = (await host.addItem(roomId, { title: 'Rare vase', price: 50_000, stock: 1, perUserLimit: 1, ...openWindow() })).id;
    expect(await refusal(createLottery({ prize: { kind: 'item', itemId: item }, winners: 2 }))).toBe('INSUFFICIENT_STOCK');
    const cmd = { command: 'createLottery', title: 'Once', prize: { kind: 'coupon', title: 'c' }, winners: 1, eligibility: { kind: 'anyone' }, closesAt: Date.now() + 600_000 } as CommandInput;
    const one = await host.command(roomId, cmd, { idempotencyKey: 'lottery-once' });
    const two = await host.command(roomId, cmd, { idempotencyKey: 'lottery-once' });
    expect(two.duplicate).toBe(true);
    expect((two.data as { lottery: LotteryInfo }).lottery.id).toBe((one.data as { lottery: LotteryInfo }).lottery.id);
  }, 60_000);
});
