import { LivesaleError } from '../../common/platform/errors.ts';
import { buildReport, parseCsvPart, reportCsv, reportText } from '../../orders/report.ts';
import { createShow, createShowBody, requireShow, showOfRoom, type Show } from '../../orders/shows.ts';
import { explainFigures, minuteMetrics, minuteSeries, productFigures, productMetrics, showFigures, showMetrics } from '../../orders/stats.ts';
import { requireRole, type Principal } from '../auth.ts';
import type { GatewayContext } from '../context.ts';

/** Figures are for ops and for the show's host. */
function requireFigures(p: Principal, show: Show): void {
  if (p.role === 'ops') return;
  if (p.role === 'host' && p.sub === show.hostId) return;
  throw new LivesaleError('FORBIDDEN', 'show figures are for ops and the show host');
}

/** Shows (a room's broadcast and its run sheet), their figures and the review report. */
export function registerShowRoutes(ctx: GatewayContext): void {
  const { db } = ctx;

  ctx.route('post', '/shows', 'shows.create', async (r) => {
    const p = await ctx.principalOf(r);
    requireRole(p, 'host');
    const b = ctx.parseBody(createShowBody, r.body);
    const room = await ctx.catalog.room(b.roomId);
    if (!room) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${b.roomId}`);
    if (room.hostId !== p.sub) throw new LivesaleError('FORBIDDEN', 'this host token is not for this room');
    return { status: 201, body: { show: await createShow(db, p.sub, b) } };
  });

  ctx.route('get', '/shows/:showId', 'shows.get', async (r) => {
    const p = await ctx.principalOf(r);
    const show = await requireShow(db, r.params[0]!);
    requireFigures(p, show);
    return { status: 200, body: { show } };
  });

  ctx.route('get', '/rooms/:roomId/show', 'rooms.show', async (r) => {
    const p = await ctx.principalOf(r);
    const show = await showOfRoom(db, r.params[0]!);
    if (!show) throw new LivesaleError('SHOW_NOT_FOUND', `room ${JSON.stringify(r.params[0]!.slice(0, 40))} has no show`);
    requireFigures(p, show);
    return { status: 200, body: { show } };
  });

  // Every dictionary metric per show, per product and per minute.
  ctx.route('get', '/shows/:showId/stats', 'shows.stats', async (r) => {
    const p = await ctx.principalOf(r);
    const show = await requireShow(db, r.params[0]!);
    requireFigures(p, show);
    const asOf = new Date().toISOString();
    const [f, products, explain, minutes] = await Promise.all([showFigures(db, show.roomId), productFigures(db, show.roomId), explainFigures(db, show.roomId), minuteSeries(db, show.roomId)]);
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
        metrics: showMetrics(f, total),
        products: [...products.values()].map((x) => ({ itemId: x.itemId, metrics: productMetrics(x, f.uv, explain.get(x.itemId)) })),
        minutes: minutes.map((m) => ({ minute: new Date(m.minute).toISOString(), metrics: minuteMetrics(m) })),
      },
    };
  });

  // The review report: ?format=json (default), csv (&part=summary|products|minutes|schedule|top) or text.
  ctx.route('get', '/shows/:showId/report', 'shows.report', async (r) => {
    const p = await ctx.principalOf(r);
    const show = await requireShow(db, r.params[0]!);
    requireFigures(p, show);
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
