import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient, RoomSocket } from '../../web/client.ts';
import type { ShowReport } from '../../orders/report.ts';
import { auditRoomStats } from '../../orders/stats-audit.ts';
import { seedDemoShow } from '../../scripts/seed.ts';
import { seedShowInRoom } from '../../scripts/seed-show.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem({}, { liveStats: true });
});
afterAll(async () => {
  await sys?.stop();
});

type MetricList = { metric: string; value: number | null; numerator?: number; denominator?: number }[];
const v = (list: MetricList, name: string) => list.find((m) => m.metric === name)?.value;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The figures a show must end with, from what the gateway answered while it ran. */
interface Expected {
  itemIds: string[];
  placedOrders: number;
  orderedGmv: number;
  paidOrders: number;
  paidGmv: number;
  refunds: number;
  refunded: number;
  buyers: number;
  uv: number;
  pv: number;
  peakOnline: number;
  productVisitors: number;
  newFollowers: number;
  announcement: string;
}

/** The additive figures of a show as its metrics name them. */
function additive(m: MetricList) {
  return {
    placed_orders: v(m, 'placed_orders'),
    ordered_gmv: v(m, 'ordered_gmv'),
    orders: v(m, 'orders'),
    paid_gmv: v(m, 'paid_gmv'),
    refunded: v(m, 'refunded'),
    net_paid_gmv: v(m, 'net_paid_gmv'),
    pv: v(m, 'pv'),
    new_followers: v(m, 'new_followers'),
  };
}

describe('shows per room: two shows, one after the other, with disjoint figures', () => {
  let host: HttpClient;
  let ops: HttpClient;
  let opsSock: RoomSocket;
  let roomId: string;
  let show1: string;
  let show2: string;
  const pushes: { showId: string | null; metrics: MetricList }[] = [];
  const expected = new Map<string, Expected>();
  /** An item of show one that never sells: in its report, not in its figures. */
  let earlyId: string;
  /** A follow is gained once: following again in a later show gains nothing. */
  const followedBefore = new Set<string>();

  async function countOnlineSample(value: number) {
    return waitFor(`an online sample of ${value}`, async () => {
      const r = await sql<{ value: string }>`
        SELECT value FROM room_activity WHERE room_id = ${roomId} AND type = 'room.online' ORDER BY at DESC, event_id DESC LIMIT 1`.execute(sys.db);
      return r.rows.length === 1 && Number(r.rows[0]!.value) === value;
    });
  }

  /** Viewers connect one at a time (each count its own online sample, so the peak is exact). */
  async function enter(users: string[]): Promise<RoomSocket[]> {
    const socks: RoomSocket[] = [];
    for (const [i, u] of users.entries()) {
      socks.push(await sys.connect(roomId, await sys.token('shopper', u)));
      await countOnlineSample(i + 1);
      await sleep(1100); // online samples are at most one per second
    }
    return socks;
  }

  /**
   * One show's sale: a flash item (added without a show: it joins the live one), a tiered group
   * (named by showId) settled with a refund, a hold left unpaid, clicks, follows, announcements.
   */
  async function runShow(showId: string, p: { tag: string; users: [string, string, ...string[]]; flash: { price: number; id?: string }; base: number; tier: number; follows: string[] }): Promise<void> {
    const now = Date.now();
    let flashId = p.flash.id;
    if (!flashId) {
      const it = await host.addItem(roomId, { title: `Tea ${p.tag}`, price: p.flash.price, stock: 100, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 3600_000 });
      expect(it.showId).toBe(showId);
      flashId = it.id;
    }
    const g = await host.command(roomId, {
      command: 'openGroup',
      title: `Teapot group ${p.tag}`,
      basePrice: p.base,
      stock: 50,
      perUserLimit: 2,
      tiers: [{ threshold: 2, price: p.tier }],
      endsAt: now + 3600_000,
      showId,
    });
    const groupId = (g.data as { item: { id: string; showId?: string } }).item.id;
    expect((g.data as { item: { showId?: string } }).item.showId).toBe(showId);
    await host.putOnAir(roomId, flashId);
    await host.command(roomId, { command: 'announce', text: `welcome to ${p.tag}` });

    const socks = await enter(p.users);
    const [a, b] = socks as [RoomSocket, RoomSocket];
    const [ua, ub] = p.users;
    await a.click(flashId);
    await b.click(flashId);
    await b.click(groupId);
    for (const u of p.follows) await socks[p.users.indexOf(u)]!.follow();

    let placed = 0;
    let ordered = 0;
    let paidOrders = 0;
    let paid = 0;
    const payers = new Set<string>();
    const buy1 = await a.buy(flashId, 2, `${p.tag}-f1`);
    expect(buy1.outcome).toBe('held');
    if (buy1.outcome !== 'held') return;
    placed++;
    ordered += buy1.amount;
    paid += (await a.pay(flashId, buy1.orderId)).amount;
    paidOrders++;
    payers.add(ua);
    const buy2 = await b.buy(flashId, 1, `${p.tag}-f2`); // left unpaid
    expect(buy2.outcome).toBe('held');
    if (buy2.outcome !== 'held') return;
    placed++;
    ordered += buy2.amount;

    await host.putOnAir(roomId, groupId);
    for (const [sock, u] of [
      [a, ua],
      [b, ub],
    ] as const) {
      const j = await sock.join(groupId, 1, `${p.tag}-g-${u}`);
      expect(j.outcome).toBe('held');
      if (j.outcome !== 'held') return;
      placed++;
      ordered += j.amount;
      paid += (await sock.pay(groupId, j.orderId, j.version)).amount;
      paidOrders++;
      payers.add(u);
    }
    // The live push (ops socket) carries this show's figures: its orders so far, none of another show's.
    // Pushes are ephemeral (a socket that is behind misses one); the commits still to come push again.
    await waitFor(`a push of ${p.tag} with its orders`, () => pushes.find((x) => x.showId === showId && v(x.metrics, 'placed_orders') === placed && v(x.metrics, 'ordered_gmv') === ordered), 30_000);
    const closed = await host.command(roomId, { command: 'closeGroup', itemId: groupId });
    const settled = closed.data as { outcome: string; refunds: number; refundTotal: number; finalPrice: number };
    expect(settled.outcome).toBe('succeeded');
    expect(settled.finalPrice).toBe(p.tier);
    expect(settled.refunds).toBe(1); // the first joiner paid the base price
    expect(settled.refundTotal).toBe(p.base - p.tier);

    for (const s of socks) s.close();
    const ex: Expected = {
      itemIds: [flashId, groupId].sort(),
      placedOrders: placed,
      orderedGmv: ordered,
      paidOrders,
      paidGmv: paid,
      refunds: settled.refunds,
      refunded: settled.refundTotal,
      buyers: payers.size,
      uv: new Set(p.users).size,
      pv: p.users.length,
      peakOnline: p.users.length,
      productVisitors: 2,
      newFollowers: p.follows.filter((u) => !followedBefore.has(u)).length,
      announcement: `welcome to ${p.tag}`,
    };
    expected.set(showId, ex);
    for (const u of p.follows) followedBefore.add(u);

    // Everything reached the ledger: orders, refunds, visits with their watch time, clicks, follows; everyone left.
    await waitFor(`the ledger of ${p.tag}`, async () => {
      const r = await sql<{ orders: string; paid: string; refunds: string; left: string; clicks: string }>`
        SELECT (SELECT count(*) FROM orders WHERE item_id IN (${sql.join(ex.itemIds)})) AS orders,
               (SELECT count(*) FROM orders WHERE item_id IN (${sql.join(ex.itemIds)}) AND paid_at IS NOT NULL) AS paid,
               (SELECT count(*) FROM refunds WHERE item_id IN (${sql.join(ex.itemIds)})) AS refunds,
               (SELECT count(*) FROM room_activity WHERE room_id = ${roomId} AND type = 'viewer.left' AND user_id IN (${sql.join(p.users)})
                  AND at >= (SELECT started_at FROM shows WHERE id = ${showId})) AS left,
               (SELECT count(*) FROM room_activity WHERE room_id = ${roomId} AND type = 'product.clicked' AND item_id IN (${sql.join(ex.itemIds)})) AS clicks`.execute(sys.db);
      const x = r.rows[0]!;
      return Number(x.orders) === placed && Number(x.paid) === paidOrders && Number(x.refunds) === ex.refunds && Number(x.left) === p.users.length && Number(x.clicks) === 3;
    });
    await waitFor('the follows', async () => {
      const r = await sql<{ n: string }>`SELECT count(*) AS n FROM room_activity WHERE room_id = ${roomId} AND type = 'room.followed'`.execute(sys.db);
      return Number(r.rows[0]!.n) >= p.follows.length;
    });
    await countOnlineSample(0);
  }

  async function showStats(showId: string) {
    const r = await ops.request('GET', `/shows/${showId}/stats`);
    expect(r.status).toBe(200);
    return r.body as { showId: string; state: string; metrics: MetricList; products: { itemId: string; metrics: MetricList }[]; minutes: { minute: string; metrics: MetricList }[] };
  }

  it('a room has many shows: create, start (one live at a time), end; items join the live or the named show', async () => {
    host = sys.http(await sys.token('host', 'channel-host'));
    ops = sys.http(await sys.token('ops', 'ops-shows'));
    roomId = (await host.createRoom('Daily tea channel')).id;
    opsSock = await sys.connect(roomId, await sys.token('ops', 'ops-shows'));
    opsSock.onFrame((f) => {
      const x = f as unknown as { type: string; roomId: string; showId: string | null; metrics: MetricList };
      if (x.type === 'stats' && x.roomId === roomId) pushes.push({ showId: x.showId, metrics: x.metrics });
    });
    const now = Date.now();
    const c1 = await host.request('POST', '/shows', { roomId, title: 'Monday tea', plannedStart: now - 60_000, plannedEnd: now + 20 * 60_000 });
    expect(c1.status).toBe(201);
    show1 = c1.body.show.id;
    expect(c1.body.show).toMatchObject({ state: 'planned', startedAt: null, endedAt: null });
    // The next day's show, planned while the first one is still planned: not overlapping, so allowed.
    const c2 = await host.request('POST', '/shows', { roomId, title: 'Tuesday tea', plannedStart: now + 24 * 3600_000, plannedEnd: now + 25 * 3600_000 });
    expect(c2.status).toBe(201);
    show2 = c2.body.show.id;
    const overlap = await host.request('POST', '/shows', { roomId, title: 'Overlap', plannedStart: now + 10 * 60_000, plannedEnd: now + 30 * 60_000 });
    expect({ status: overlap.status, code: overlap.body.error.code }).toEqual({ status: 409, code: 'SHOW_EXISTS' });

    // Wrong transitions and callers are refused and change nothing.
    const shopper = sys.http(await sys.token('shopper', 'nosy'));
    const otherHost = sys.http(await sys.token('host', 'someone-else'));
    for (const [client, path, status, code] of [
      [host, `/shows/${show1}/end`, 409, 'SHOW_STATE'],
      [shopper, `/shows/${show1}/start`, 403, 'FORBIDDEN'],
      [otherHost, `/shows/${show1}/start`, 403, 'FORBIDDEN'],
      [host, '/shows/987654321/start', 404, 'SHOW_NOT_FOUND'],
      [host, '/shows/abc/start', 404, 'SHOW_NOT_FOUND'],
    ] as const) {
      const r = await client.request('POST', path);
      expect({ path, status: r.status, code: r.body?.error?.code }).toEqual({ path, status, code });
    }
    expect((await host.request('POST', `/shows/${show1}/start`, { extra: 1 })).body.error.code).toBe('VALIDATION_FAILED');
    expect((await ops.request('GET', `/shows/${show1}`)).body.show.state).toBe('planned');

    // Before any show is live, a new item goes into the next planned show.
    const early = await host.addItem(roomId, { title: 'Early bird', price: 100, stock: 1, perUserLimit: 1, startsAt: now, endsAt: now + 3600_000 });
    expect(early.showId).toBe(show1);
    earlyId = early.id;

    const started = await host.request('POST', `/shows/${show1}/start`);
    expect(started.status).toBe(200);
    expect(started.body.show).toMatchObject({ id: show1, state: 'live', endedAt: null });
    expect(started.body.show.startedAt).toBeGreaterThan(0);
    await opsSock.until((view) => view.doc.show?.id === show1 && view.doc.show.state === 'live');
    expect((await ops.snapshot(roomId)).room.show).toEqual({ id: show1, title: 'Monday tea', state: 'live' });

    // One live show per room; a live show does not start again.
    const second = await ops.request('POST', `/shows/${show2}/start`);
    expect({ status: second.status, code: second.body.error.code }).toEqual({ status: 409, code: 'SHOW_LIVE' });
    expect((await host.request('POST', `/shows/${show1}/start`)).body.error.code).toBe('SHOW_STATE');

    // An item for the planned show, named explicitly while another show is live.
    const pre = await host.addItem(roomId, { title: 'Tuesday tea, 500 g', price: 3300, stock: 100, perUserLimit: 5, startsAt: now - 1000, endsAt: now + 3600_000, showId: show2 });
    expect(pre.showId).toBe(show2);
    expected.set('pre', { itemIds: [pre.id] } as Expected);
    const bad = await host.request('POST', `/rooms/${roomId}/items`, { title: 'x', price: 1, stock: 1, perUserLimit: 1, startsAt: now, endsAt: now + 60_000, showId: '987654321', idempotencyKey: 'bad-show', baseVersion: await host.version(roomId) });
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 404, code: 'SHOW_NOT_FOUND' });

    expect((await ops.request('GET', `/rooms/${roomId}/show`)).body.show.id).toBe(show1);
    const list = await host.request('GET', `/rooms/${roomId}/shows`);
    expect(list.body.shows.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([
      [show2, 'planned'],
      [show1, 'live'],
    ]);
    expect((await shopper.request('GET', `/rooms/${roomId}/shows`)).status).toBe(403);
    expect((await otherHost.request('GET', `/shows/${show1}/audit`)).status).toBe(403);
  }, 120_000);

  it('show one: orders, payments, a tiered settlement refund, viewers and commands; then it ends', async () => {
    await runShow(show1, { tag: 'show-one', users: ['regular', 'a1', 'a2'], flash: { price: 1000 }, base: 5000, tier: 4000, follows: ['regular'] });
    const ended = await host.request('POST', `/shows/${show1}/end`);
    expect(ended.body.show).toMatchObject({ id: show1, state: 'ended' });
    expect(ended.body.show.endedAt).toBeGreaterThanOrEqual(ended.body.show.startedAt);
    await opsSock.until((view) => view.doc.show?.id === show1 && view.doc.show.state === 'ended');
    expect((await host.request('POST', `/shows/${show1}/end`)).body.error.code).toBe('SHOW_STATE');
    expect((await host.request('POST', `/shows/${show1}/start`)).body.error.code).toBe('SHOW_STATE');
    // An ended show takes no new items.
    const late = await host.command(roomId, { command: 'openGroup', title: 'late', basePrice: 100, stock: 1, perUserLimit: 1, tiers: [{ threshold: 2, price: 50 }], endsAt: Date.now() + 60_000, showId: show1 }).catch((e: { code: string }) => e);
    expect((late as { code: string }).code).toBe('SHOW_NOT_FOUND');
    // After it, the room's current show is the next planned one.
    expect((await ops.request('GET', `/rooms/${roomId}/show`)).body.show.id).toBe(show2);
  }, 180_000);

  it("a room's second show starts from zero in every figure", async () => {
    const started = await host.request('POST', `/shows/${show2}/start`);
    expect(started.body.show.state).toBe('live');
    // The dashboards switch to the second show at once, from zero.
    const pushed = await waitFor('a push of the second show', () => pushes.find((p) => p.showId === show2), 20_000);
    expect(pushed.metrics.filter((m) => m.value !== 0 && m.value !== null)).toEqual([]);
    const st = await showStats(show2);
    const nonZero = st.metrics.filter((m) => m.value !== 0 && m.value !== null);
    expect(nonZero).toEqual([]);
    expect(st.minutes).toEqual([]);
    expect(st.products).toEqual([]);
    const room = await ops.stats(roomId);
    expect(room.showId).toBe(show2);
    expect(room.metrics.filter((m) => m.value !== 0 && m.value !== null)).toEqual([]);
    expect((await host.request('GET', `/shows/${show2}/audit`)).body.entries).toEqual([]);
  });

  it('show two: its own sale, the regular viewer again; the live push is the second show', async () => {
    const pre = expected.get('pre')!.itemIds[0]!;
    await runShow(show2, { tag: 'show-two', users: ['regular', 'b1'], flash: { price: 3300, id: pre }, base: 8000, tier: 6500, follows: ['regular', 'b1'] });
    const ex = expected.get(show2)!;
    // No push of the second show ever carried the first show's figures.
    for (const p of pushes.filter((x) => x.showId === show2)) expect(v(p.metrics, 'ordered_gmv')).toBeLessThanOrEqual(ex.orderedGmv);
    expect((await host.request('POST', `/shows/${show2}/end`)).body.show.state).toBe('ended');
  }, 180_000);

  it("every figure, the per-minute series, the report and the audit log of each show are the show's own, to the fen", async () => {
    expect(await auditRoomStats(sys.db, roomId)).toEqual([]);
    const shows = [show1, show2] as const;
    const stats = new Map<string, Awaited<ReturnType<typeof showStats>>>();
    for (const id of shows) {
      const ex = expected.get(id)!;
      const st = await showStats(id);
      stats.set(id, st);
      const m = st.metrics;
      expect({
        show: id,
        placed_orders: v(m, 'placed_orders'),
        ordered_gmv: v(m, 'ordered_gmv'),
        orders: v(m, 'orders'),
        paid_gmv: v(m, 'paid_gmv'),
        refunded: v(m, 'refunded'),
        net_paid_gmv: v(m, 'net_paid_gmv'),
        buyers: v(m, 'buyers'),
        uv: v(m, 'uv'),
        pv: v(m, 'pv'),
        online: v(m, 'online'),
        peak_online: v(m, 'peak_online'),
        product_visitors: v(m, 'product_visitors'),
        new_followers: v(m, 'new_followers'),
        explain_gmv_on_air: v(m, 'explain_gmv_on_air'),
        explain_rest: (v(m, 'explain_gmv_after') ?? 0) + (v(m, 'explain_gmv_before') ?? 0),
      }).toEqual({
        show: id,
        placed_orders: ex.placedOrders,
        ordered_gmv: ex.orderedGmv,
        orders: ex.paidOrders,
        paid_gmv: ex.paidGmv,
        refunded: ex.refunded,
        net_paid_gmv: ex.paidGmv - ex.refunded,
        buyers: ex.buyers,
        uv: ex.uv,
        pv: ex.pv,
        online: 0,
        peak_online: ex.peakOnline,
        product_visitors: ex.productVisitors,
        new_followers: ex.newFollowers,
        explain_gmv_on_air: ex.orderedGmv, // every order was placed while its item was on air
        explain_rest: 0,
      });
      expect(v(m, 'avg_watch_seconds')).toBeGreaterThan(0);
      expect(st.products.map((p) => p.itemId).sort()).toEqual(ex.itemIds);
      // The per-minute series adds up to the show's figures, and has no minute outside the show.
      const sum = (name: string) => st.minutes.reduce((s, x) => s + ((v(x.metrics, name) ?? 0) as number), 0);
      expect({ placed: sum('placed_orders'), ordered: sum('ordered_gmv'), paid: sum('paid_gmv'), refunded: sum('refunded'), pv: sum('pv'), followers: sum('new_followers') }).toEqual({
        placed: ex.placedOrders,
        ordered: ex.orderedGmv,
        paid: ex.paidGmv,
        refunded: ex.refunded,
        pv: ex.pv,
        followers: ex.newFollowers,
      });
      expect(Math.max(...st.minutes.map((x) => (v(x.metrics, 'peak_online') ?? 0) as number))).toBe(ex.peakOnline);
      const show = (await ops.request('GET', `/shows/${id}`)).body.show as { startedAt: number; endedAt: number };
      for (const x of st.minutes) {
        const t = Date.parse(x.minute);
        expect(t + 60_000 > show.startedAt && t <= show.endedAt).toBe(true);
      }

      // The report: the same figures, only the show's products, its minutes.
      const report = (await ops.request('GET', `/shows/${id}/report`)).body as ShowReport;
      expect(report.show.state).toBe('ended');
      expect(additive(report.metrics as MetricList)).toEqual(additive(m));
      expect(report.metrics).toEqual(m);
      expect(report.products.map((p) => p.itemId).sort()).toEqual((id === show1 ? [...ex.itemIds, earlyId] : ex.itemIds).sort());
      expect(report.minutes.reduce((s, x) => s + ((v(x.metrics as MetricList, 'ordered_gmv') ?? 0) as number), 0)).toBe(ex.orderedGmv);
      const text = (await ops.request('GET', `/shows/${id}/report?format=text`)).body as string;
      expect(text).toContain(`¥${(ex.orderedGmv / 100).toFixed(2)}`);

      // The audit log: the commands recorded while the show was live, and only those.
      const audit = (await host.request('GET', `/shows/${id}/audit`)).body as { entries: { command: string; payload: { text?: string; itemId?: string }; at: number }[] };
      const announced = audit.entries.filter((e) => e.command === 'announce').map((e) => e.payload.text);
      expect(announced).toEqual([ex.announcement]);
      expect(audit.entries.filter((e) => e.command === 'closeGroup')).toHaveLength(1);
      for (const e of audit.entries) expect(e.at >= show.startedAt && e.at < show.endedAt).toBe(true);
    }

    // Disjoint and exhaustive: the two shows' order figures add up to the room's ledger.
    const [a, b] = shows.map((id) => additive(stats.get(id)!.metrics));
    const total = await sql<{ placed: string; ordered: string; refunded: string }>`
      SELECT (SELECT count(*) FROM orders WHERE room_id = ${roomId} AND item_id IN (SELECT id FROM campaign_items WHERE show_id IN (${show1}, ${show2}))) AS placed,
             (SELECT sum(amount) FROM orders WHERE room_id = ${roomId}) AS ordered,
             (SELECT sum(amount) FROM refunds WHERE room_id = ${roomId}) AS refunded`.execute(sys.db);
    expect(a!.placed_orders! + b!.placed_orders!).toBe(Number(total.rows[0]!.placed));
    expect(a!.ordered_gmv! + b!.ordered_gmv!).toBe(Number(total.rows[0]!.ordered));
    expect(a!.refunded! + b!.refunded!).toBe(Number(total.rows[0]!.refunded));
    const watch = await sql<{ w: string; users: string }>`SELECT sum(watch_ms) AS w, count(*) AS users FROM room_viewers WHERE room_id = ${roomId}`.execute(sys.db);
    const watched = shows.map((id) => stats.get(id)!.metrics.find((m) => m.metric === 'avg_watch_seconds')!);
    expect(watched.reduce((s, m) => s + m.numerator!, 0)).toBe(Number(watch.rows[0]!.w));
    expect(Number(watch.rows[0]!.users)).toBe(4); // the regular viewer counts once in the room, once in each show
    // The two shows' audit logs share no entry.
    const ids = await Promise.all(shows.map(async (id) => ((await host.request('GET', `/shows/${id}/audit`)).body.entries as { id: string }[]).map((e) => e.id)));
    expect(ids[0]!.filter((x) => ids[1]!.includes(x))).toEqual([]);

    // The room's figures are its current show's: the latest one once both have ended.
    expect((await ops.request('GET', `/rooms/${roomId}/show`)).body.show.id).toBe(show2);
    const room = await ops.stats(roomId);
    expect(room.showId).toBe(show2);
    expect(additive(room.metrics as MetricList)).toEqual(b);
  }, 120_000);
});

it('the demo seed adds a live show to an existing room; its sale is its own', async () => {
  const host = sys.http(await sys.token('host', 'seed-host'));
  const ops = sys.http(await sys.token('ops', 'seed-ops'));
  const first = await seedDemoShow(host);
  // The demo show's run sheet carried its items from the room shelf into it; viewers see that.
  const carried = await ops.snapshot(first.roomId);
  expect(first.itemIds.map((id) => carried.room.items[id]!.showId)).toEqual(first.itemIds.map(() => first.showId));
  // The demo leaves its second show live, after an earlier show that ended.
  expect((await ops.request('GET', `/shows/${first.earlierShowId}`)).body.show.state).toBe('ended');
  expect((await ops.request('GET', `/shows/${first.showId}`)).body.show.state).toBe('live');
  expect(carried.room.onAir).toBe(first.onAir);
  expect((await ops.request('GET', `/shows/${first.showId}/lotteries`)).body.lotteries.map((l: { id: string }) => l.id)).toEqual([first.lotteryId]);
  await expect(seedShowInRoom(host, first.roomId)).rejects.toMatchObject({ code: 'SHOW_LIVE' });
  expect((await host.request('POST', `/shows/${first.showId}/end`)).status).toBe(200);
  const seeded = await seedShowInRoom(host, first.roomId);
  expect(seeded.showId).not.toBe(first.showId);
  const show = (await ops.request('GET', `/shows/${seeded.showId}`)).body.show as { state: string; runSheet: unknown[]; plannedStart: number };
  expect(show.state).toBe('live');
  expect(show.runSheet.length).toBeGreaterThan(seeded.itemIds.length);
  const snap = await ops.snapshot(first.roomId);
  expect(seeded.itemIds.map((id) => snap.room.items[id]!.showId)).toEqual(seeded.itemIds.map(() => seeded.showId));
  expect(snap.room.onAir).toBe(seeded.onAir);
  expect(snap.room.show).toMatchObject({ id: seeded.showId, state: 'live' });

  const shopper = sys.http(await sys.token('shopper', 'seed-buyer'));
  const held = await shopper.buy(first.roomId, seeded.onAir, 1, 'seed-1');
  expect(held.outcome).toBe('held');
  await waitFor('the hold in the seeded show', async () => {
    const st = (await ops.request('GET', `/shows/${seeded.showId}/stats`)).body as { metrics: MetricList };
    return v(st.metrics, 'placed_orders') === 1;
  });
  const before = (await ops.request('GET', `/shows/${first.showId}/stats`)).body as { metrics: MetricList };
  expect(v(before.metrics, 'placed_orders')).toBe(0);
  // Another live show in the room: the seed refuses to start a second one.
  const count = async () => ((await ops.request('GET', `/rooms/${first.roomId}/shows`)).body.shows as unknown[]).length;
  const shows = await count();
  await expect(seedShowInRoom(host, first.roomId)).rejects.toMatchObject({ code: 'SHOW_LIVE' });
  expect(await count()).toBe(shows);
}, 120_000);
