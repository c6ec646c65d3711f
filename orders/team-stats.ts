import { sql, type Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import { metric, type MetricValue } from './metrics.ts';

/**
 * The team-buy (拼团) and bargain (砍价) figures of a room, from the ledger: teams opened, formed and failed from
 * the team events the writer keeps in order_events (team.opened, team.formed, team.failed), and
 * the money refunded to members of failed teams from the refunds table (reason team_failed).
 */

export interface TeamFigures {
  opened: number;
  formed: number;
  failed: number;
  /** Refunds to members of failed teams. */
  refunds: number;
  /** Their sum (fen). */
  refunded: number;
}

/** A room's team figures, or one show's (its items') when `showId` is given. */
/** The items of a show, as a subquery (none: the whole room). */
function showItems(db: Kysely<Database>, showId: string | undefined) {
  return showId === undefined ? undefined : db.selectFrom('campaign_items').select('id').where('show_id', '=', showId);
}

export async function teamFigures(db: Kysely<Database>, roomId: string, showId?: string): Promise<TeamFigures> {
  const ofShow = showItems(db, showId);
  const [events, refunds] = await Promise.all([
    db
      .selectFrom('order_events')
      .where('room_id', '=', roomId)
      .where((eb) => (ofShow ? eb('item_id', 'in', ofShow) : eb.lit(true)))
      .where('type', 'in', ['team.opened', 'team.formed', 'team.failed'])
      .groupBy('type')
      .select(['type', sql<string>`count(*)`.as('n')])
      .execute(),
    db
      .selectFrom('refunds')
      .where('room_id', '=', roomId)
      .where((eb) => (ofShow ? eb('item_id', 'in', ofShow) : eb.lit(true)))
      .where('reason', '=', 'team_failed')
      .select([sql<string>`count(*)`.as('n'), sql<string | null>`sum(amount)`.as('total')])
      .executeTakeFirstOrThrow(),
  ]);
  const count = (type: string) => Number(events.find((e) => e.type === type)?.n ?? 0);
  return { opened: count('team.opened'), formed: count('team.formed'), failed: count('team.failed'), refunds: Number(refunds.n), refunded: Number(refunds.total ?? 0) };
}

export interface BargainFigures {
  started: number;
  helped: number;
  bought: number;
}

/** The bargain (砍价) figures of a room: its bargain events, and the holds that bought a bargain. */
export async function bargainFigures(db: Kysely<Database>, roomId: string, showId?: string): Promise<BargainFigures> {
  const ofShow = showItems(db, showId);
  const rows = await db
    .selectFrom('order_events')
    .where('room_id', '=', roomId)
    .where((eb) => (ofShow ? eb('item_id', 'in', ofShow) : eb.lit(true)))
    .where('type', 'in', ['bargain.started', 'bargain.helped'])
    .groupBy('type')
    .select(['type', sql<string>`count(*)`.as('n')])
    .execute();
  const bought = await sql<{ n: string }>`
    SELECT count(DISTINCT payload->>'bargain') AS n FROM order_events
    WHERE room_id = ${roomId} AND type = 'order.held' AND payload ? 'bargain'
      ${showId === undefined ? sql`` : sql`AND item_id IN (SELECT id FROM campaign_items WHERE show_id = ${showId})`}`.execute(db);
  const count = (type: string) => Number(rows.find((e) => e.type === type)?.n ?? 0);
  return { started: count('bargain.started'), helped: count('bargain.helped'), bought: Number(bought.rows[0]?.n ?? 0) };
}

export function bargainMetrics(f: BargainFigures): MetricValue[] {
  return [metric('bargains_started', f.started), metric('bargains_helped', f.helped), metric('bargains_bought', f.bought)];
}

export function teamMetrics(f: TeamFigures): MetricValue[] {
  return [metric('teams_opened', f.opened), metric('teams_formed', f.formed), metric('teams_failed', f.failed), metric('team_refunded', f.refunded)];
}
