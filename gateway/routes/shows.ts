import { itemCouponMetrics, promotionFigures, promotionMetrics } from '../../orders/coupon-stats.ts';
import { LivesaleError } from '../../common/platform/errors.ts';
import { buildReport, parseCsvPart, reportCsv, reportText } from '../../orders/report.ts';
import { runOfShow } from '../../orders/run-of-show.ts';
import { createShow, createShowBody, requireShow, showOfRoom } from '../../orders/shows.ts';
import { explainFigures, minuteMetrics, minuteSeries, productFigures, productMetrics, showFigures, showMetrics } from '../../orders/stats.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import type { Catalog } from '../../orders/catalog.ts';
import { parseBody } from '../http.ts';
import type { Router } from '../router.ts';

/** Shows (a room's broadcast and its run sheet), their figures and the review report. */
export function registerShowRoutes(router: Router, deps: { db: Kysely<Database>; catalog: Catalog }): void {
  const { db, catalog } = deps;

  router.route('post', '/shows', 'shows.create', 'show.create', async (r, call) => {
    call.authorize();
    const b = parseBody(createShowBody, r.body);
    const room = await catalog.room(b.roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${b.roomId}`);
    call.authorize({ id: room.id, hostId: room.hostId });
    return { status: 201, body: { show: await createShow(db, call.principal.sub, b) } };
  });

  router.route('get', '/shows/:showId', 'shows.get', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    return { status: 200, body: { show } };
  });

  router.route('get', '/rooms/:roomId/show', 'rooms.show', 'show.read', async (r, call) => {
    const show = await showOfRoom(db, r.params[0]!);
    if (!show) throw new LivesaleError('SHOW_NOT_FOUND', `room ${JSON.stringify(r.params[0]!.slice(0, 40))} has no show`);
    call.authorize(show);
    return { status: 200, body: { show } };
  });

  // Every dictionary metric per show, per product and per minute.
  router.route('get', '/shows/:showId/stats', 'shows.stats', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    const asOf = new Date().toISOString();
    const [f, products, explain, minutes, promo] = await Promise.all([
      showFigures(db, show.roomId),
      productFigures(db, show.roomId),
      explainFigures(db, show.roomId),
      minuteSeries(db, show.roomId),
      promotionFigures(db, show.roomId),
    ]);
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
        asOf,
        metrics: [...showMetrics(f, total), ...promotionMetrics(promo)],
        products: [...products.values()].map((x) => ({ itemId: x.itemId, metrics: [...productMetrics(x, f.uv, explain.get(x.itemId)), ...itemCouponMetrics(promo, x.itemId)] })),
        minutes: minutes.map((m) => ({ minute: new Date(m.minute).toISOString(), metrics: minuteMetrics(m) })),
      },
    };
  });

  // The run of show: current and next slot, planned against actual, drift (server clock).
  router.route('get', '/shows/:showId/run', 'shows.run', 'show.read', async (r, call) => {
    const show = await requireShow(db, r.params[0]!);
    call.authorize(show);
    const row = await db.selectFrom('shows').select('state').where('id', '=', show.id).executeTakeFirstOrThrow();
    return { status: 200, body: await runOfShow(db, { id: show.id, roomId: show.roomId, state: row.state }) };
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
