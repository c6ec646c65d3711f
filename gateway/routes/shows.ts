import type { Kysely } from 'kysely';
import { itemCouponMetrics, promotionFigures, promotionMetrics } from '../../orders/coupon-stats.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Logger } from '../../common/platform/logger.ts';
import { buildReport, parseCsvPart, reportCsv, reportText } from '../../orders/report.ts';
import { runOfShow } from '../../orders/run-of-show.ts';
import { createShow, createShowBody, endShow, listRoomShows, requireShow, showOfRoom, startShow, type Show } from '../../orders/shows.ts';
import { explainFigures, minuteMetrics, minuteSeries, productFigures, productMetrics, roomStats, showFigures, showMetrics, showScope } from '../../orders/stats.ts';
import { showTransitionBody, type Delta } from '../../common/contracts/protocol.ts';
import { nextDoc } from '../../common/contracts/room-view.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import type { Catalog } from '../../orders/catalog.ts';
import type { AuditLog } from '../audit.ts';
import { parseBody } from '../http.ts';
import type { RoomStore } from '../room-store.ts';
import type { Router } from '../router.ts';

export interface ShowRouteDeps {
  db: Kysely<Database>;
  catalog: Catalog;
  store: RoomStore;
  audit: AuditLog;
  log: Logger;
}

/** Shows (a room's broadcasts, their run sheets and lifecycle), their figures and the review report. */
export function registerShowRoutes(router: Router, deps: ShowRouteDeps): void {
  const { db, catalog, store, audit, log } = deps;

  const roomOf = async (roomId: string) => {
    const room = await catalog.room(roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${JSON.stringify(roomId.slice(0, 40))}`);
    return room;
  };

  /** Viewers see the show's new state: a `show` delta, with the room document (retried until appended). */
  const tellViewers = async (show: Show) => {
    const d: Delta = { t: 'show', show: { id: show.id, title: show.title, state: show.state } };
    try {
      await store.publish(show.roomId, async () => {
        const stored = await store.get(show.roomId);
        return stored && { delta: d, change: { doc: nextDoc(stored.doc, d), baseVersion: stored.version } };
      });
    } catch (err) {
      // The show's state is in the ledger either way; only the room's viewers miss the change.
      log.warn({ err: (err as Error).message, roomId: show.roomId, showId: show.id, state: show.state }, 'show state not published to the room');
    }
    // Ops and host dashboards switch to the room's current show at once, not at the next commit.
    try {
      const stats = await roomStats(db, show.roomId);
      await store.publishEphemeral(show.roomId, 'stats', { roomId: show.roomId, showId: stats.showId, asOf: stats.asOf, committedAt: show.endedAt ?? show.startedAt ?? Date.now(), metrics: stats.metrics });
    } catch (err) {
      log.warn({ err: (err as Error).message, roomId: show.roomId, showId: show.id }, 'live figures of the current show not pushed');
    }
  };

  /** Items carried from the room shelf into a show: viewers see each item's new showId. */
  const tellCarried = async (show: Show, itemIds: string[]) => {
    for (const id of itemIds) {
      try {
        await store.publish(show.roomId, async () => {
          const stored = await store.get(show.roomId);
          const item = stored?.doc.items[id];
          if (!stored || !item) return undefined;
          const d: Delta = { t: 'item', item: { ...item, showId: show.id }, listing: [...stored.doc.listing] };
          return { delta: d, change: { doc: nextDoc(stored.doc, d), baseVersion: stored.version } };
        });
      } catch (err) {
        log.warn({ err: (err as Error).message, roomId: show.roomId, showId: show.id, itemId: id }, 'carried item not published to the room');
      }
    }
  };

  router.route('post', '/shows', 'shows.create', 'show.create', async (r, call) => {
    call.authorize();
    const b = parseBody(createShowBody, r.body);
    const room = await catalog.room(b.roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${b.roomId}`);
    call.authorize({ id: room.id, hostId: room.hostId });
    const { show, carried } = await createShow(db, call.principal.sub, b);
    if (carried.length) await tellCarried(show, carried);
    return { status: 201, body: { show } };
  });

  router.route('get', '/shows/:showId', 'shows.get', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    return { status: 200, body: { show } };
  });

  // planned → live (at most one live show per room), and live → ended.
  for (const [path, name, run] of [
    ['/shows/:showId/start', 'shows.start', startShow],
    ['/shows/:showId/end', 'shows.end', endShow],
  ] as const) {
    router.route('post', path, name, 'show.run', async (r, call) => {
      call.authorize();
      if (r.body.length) parseBody(showTransitionBody, r.body);
      const current = await requireShow(db, r.params[0]!);
      const room = await roomOf(current.roomId);
      call.authorize({ id: room.id, hostId: room.hostId });
      const show = await run(db, current.id);
      await tellViewers(show);
      return { status: 200, body: { show } };
    });
  }

  router.route('get', '/rooms/:roomId/shows', 'rooms.shows', 'show.read', async (r, call) => {
    call.authorize();
    const room = await roomOf(r.params[0]!);
    call.authorize({ hostId: room.hostId });
    return { status: 200, body: { roomId: room.id, shows: await listRoomShows(db, room.id) } };
  });

  // The room's current show: the live one, else the next planned, else the latest.
  router.route('get', '/rooms/:roomId/show', 'rooms.show', 'show.read', async (r, call) => {
    const show = await showOfRoom(db, r.params[0]!);
    if (!show) throw new LivesaleError('SHOW_NOT_FOUND', `room ${JSON.stringify(r.params[0]!.slice(0, 40))} has no show`);
    call.authorize(show);
    return { status: 200, body: { show } };
  });

  // Every dictionary metric per show, per product and per minute: the show's own figures.
  router.route('get', '/shows/:showId/stats', 'shows.stats', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    const asOf = new Date().toISOString();
    const scope = showScope(show);
    const [f, products, explain, minutes, promo] = await Promise.all([showFigures(db, scope), productFigures(db, scope), explainFigures(db, scope), minuteSeries(db, scope), promotionFigures(db, show.roomId, show.id)]);
    const total = { onAir: 0, after: 0, before: 0 };
    for (const e of explain.values()) {
      total.onAir += e.onAir;
      total.after += e.after;
      total.before += e.before;
    }
    return {
      status: 200,
      body: {
        showId: show.id,
        roomId: show.roomId,
        state: show.state,
        asOf,
        metrics: [...showMetrics(f, total), ...promotionMetrics(promo)],
        products: [...products.values()].map((x) => ({ itemId: x.itemId, metrics: [...productMetrics(x, f.uv, explain.get(x.itemId)), ...itemCouponMetrics(promo, x.itemId)] })),
        minutes: minutes.map((m) => ({ minute: new Date(m.minute).toISOString(), metrics: minuteMetrics(m) })),
      },
    };
  });

  // The host commands recorded while the show was live (none before it starts).
  router.route('get', '/shows/:showId/audit', 'shows.audit', 'room.audit.read', async (r, call) => {
    call.authorize();
    const show = await requireShow(db, r.params[0]!);
    const room = await roomOf(show.roomId);
    call.authorize({ id: room.id, hostId: room.hostId });
    const limit = Math.min(1000, Math.max(1, Number(r.query.get('limit') ?? 100) || 100));
    const entries = show.startedAt === null ? [] : await audit.entries(room.id, limit, { from: show.startedAt, to: show.endedAt });
    return { status: 200, body: { roomId: room.id, showId: show.id, entries } };
  });

  // The run of show: current and next slot, planned against actual, drift (server clock).
  router.route('get', '/shows/:showId/run', 'shows.run', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    return { status: 200, body: await runOfShow(db, { id: show.id, roomId: show.roomId, state: show.state }) };
  });

  // The review report: ?format=json (default), csv (&part=summary|products|minutes|schedule|top|lotteries) or text.
  router.route('get', '/shows/:showId/report', 'shows.report', 'show.report', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    const format = r.query.get('format') ?? 'json';
    if (!['json', 'csv', 'text'].includes(format)) throw new LivesaleError('INVALID_ARGUMENT', 'format must be json, csv or text');
    const part = format === 'csv' ? parseCsvPart(r.query.get('part')) : undefined;
    const report = await buildReport(db, show);
    if (format === 'json') return { status: 200, body: report };
    if (format === 'text') return { status: 200, body: reportText(report), contentType: 'text/plain; charset=utf-8' };
    return {
      status: 200,
      body: reportCsv(report, part!),
      contentType: 'text/csv; charset=utf-8',
      headers: { 'content-disposition': `attachment; filename="show-${show.id}-${part}.csv"` },
    };
  });
}
