import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { LivesaleError } from '../common/platform/errors.ts';
import type { Database, LotteriesTable } from '../common/contracts/ledger-schema.ts';
import { commitmentOf, drawOrder, entrantsHashOf, sortEntrants } from '../common/contracts/lottery-draw.ts';
import type { LotteryEligibility, LotteryEntryResult, LotteryInfo, LotteryPrize, LotteryPublic } from '../common/contracts/protocol.ts';

/**
 * Lotteries (福袋) of a show, in the ledger (docs/lottery.md): creation with a secret seed and
 * its published commitment, entries (one per user: the primary key of lottery_entries, with
 * eligibility checked at entry from what the ledger holds), the draw in two steps (close the
 * entries and fix the entrant list; record the winners once their prizes are held), and the
 * public and report views. The prize holds themselves are the inventory's (award-prizes-5.lua);
 * the gateway's host commands call both.
 */

type Row = Selectable<LotteriesTable>;

const dbId = /^\d{1,18}$/;
const ms = (d: Date | string) => new Date(d).getTime();

export interface CreateLotteryInput {
  /** The creating command's operation id: the same id creates once and answers that lottery again. */
  opId: string;
  roomId: string;
  /** A show of the room that has not ended; the room's live show when absent. */
  showId?: string;
  createdBy: string;
  title: string;
  prize: LotteryPrize;
  winners: number;
  eligibility: LotteryEligibility;
  /** Ledger clock; now when absent. */
  opensAt?: number;
  closesAt: number;
  claimSeconds: number;
}

/** What the gateway says about a shopper's socket in the lottery's room, when it has one. */
export interface PresenceHint {
  /** The shopper has a socket open in the room since this time (gateway clock, ms). */
  connectedSince?: number;
}

export interface ClosedDraw {
  readonly row: Row;
  /** The entrants, sorted (the order the draw runs over). */
  readonly entrants: string[];
  readonly entrantsHash: string;
  /** The draw's order: the first `winners` places (fewer with fewer entrants). */
  readonly order: string[];
  /** Drawn before (the winners are recorded): nothing changes. */
  readonly already: boolean;
}

export interface WinnerRecord {
  userId: string;
  orderId: string | null;
  claimDeadline: number | null;
}

/** The order id of the prize hold of a lottery's winner of `rank`. */
export function prizeOrderId(lotteryId: string, rank: number): string {
  return `lot-${lotteryId}-${rank}`;
}

const notFound = (id: string) => new LivesaleError('LOTTERY_NOT_FOUND', `no lottery ${JSON.stringify(id.slice(0, 40))}`);

function prizeOf(r: Row): LotteryPrize {
  return r.prize_kind === 'item' ? { kind: 'item', itemId: r.prize_item_id! } : { kind: 'coupon', title: r.prize_title ?? '' };
}

const eligibilityMessages: Record<LotteryEligibility['kind'], string> = {
  anyone: 'anyone may enter',
  present: 'only viewers in the room may enter this lottery',
  followers: 'only followers of the room may enter this lottery',
  watched: 'only viewers who watched this show long enough may enter this lottery',
  buyers: 'only shoppers who bought in this show may enter this lottery',
};

export class Lotteries {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Creates a lottery in a show of the room: a fresh 32-byte seed, kept secret until the draw,
   * and its commitment. SHOW_NOT_FOUND when the room has no such show (or no live show, without
   * `showId`); INVALID_ARGUMENT when entries would close in the past. The same `opId` answers the
   * lottery it created.
   */
  async create(input: CreateLotteryInput): Promise<{ row: Row; created: boolean }> {
    const existing = await this.byOp(input.opId);
    if (existing) return { row: existing, created: false };
    if (!dbId.test(input.roomId)) throw new LivesaleError('ROOM_NOT_FOUND', `no room ${input.roomId}`);
    let q = this.#db.selectFrom('shows').select(['id', 'state']).where('room_id', '=', input.roomId);
    if (input.showId !== undefined) {
      if (!dbId.test(input.showId)) throw new LivesaleError('SHOW_NOT_FOUND', `room ${input.roomId} has no show ${input.showId}`);
      q = q.where('id', '=', input.showId);
    } else q = q.where('state', '=', 'live');
    const show = await q.executeTakeFirst();
    if (!show) throw new LivesaleError('SHOW_NOT_FOUND', input.showId === undefined ? `room ${input.roomId} has no live show; name the show (showId)` : `room ${input.roomId} has no show ${input.showId}`);
    if (show.state === 'ended') throw new LivesaleError('SHOW_NOT_FOUND', `show ${show.id} has ended`);
    const { now } = await sql<{ now: Date }>`select now() as now`.execute(this.#db).then((r) => r.rows[0]!);
    const opensAt = input.opensAt ?? ms(now);
    if (input.closesAt <= ms(now)) throw new LivesaleError('INVALID_ARGUMENT', 'closesAt must be in the future');
    if (input.closesAt <= opensAt) throw new LivesaleError('INVALID_ARGUMENT', 'closesAt must be after opensAt');
    const seed = randomBytes(32).toString('hex');
    const row = await this.#db
      .insertInto('lotteries')
      .values({
        room_id: input.roomId,
        show_id: show.id,
        op_id: input.opId,
        title: input.title,
        prize_kind: input.prize.kind,
        prize_item_id: input.prize.kind === 'item' ? input.prize.itemId : null,
        prize_title: input.prize.kind === 'coupon' ? input.prize.title : null,
        winners: input.winners,
        eligibility: JSON.stringify(input.eligibility),
        opens_at: new Date(opensAt),
        closes_at: new Date(input.closesAt),
        claim_seconds: input.claimSeconds,
        seed,
        commitment: commitmentOf(seed),
        created_by: input.createdBy,
      })
      .onConflict((oc) => oc.column('op_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) return { row, created: true };
    return { row: await this.#db.selectFrom('lotteries').selectAll().where('op_id', '=', input.opId).executeTakeFirstOrThrow(), created: false };
  }

  /** The lottery an operation id created, if it did. */
  async byOp(opId: string): Promise<Row | undefined> {
    return this.#db.selectFrom('lotteries').selectAll().where('op_id', '=', opId).executeTakeFirst();
  }

  async get(lotteryId: string): Promise<Row | undefined> {
    if (!dbId.test(lotteryId)) return undefined;
    return this.#db.selectFrom('lotteries').selectAll().where('id', '=', lotteryId).executeTakeFirst();
  }

  /** The lottery, or LOTTERY_NOT_FOUND (also when it is not of `roomId`, when given). */
  async require(lotteryId: string, roomId?: string): Promise<Row> {
    const r = await this.get(lotteryId);
    if (!r || (roomId !== undefined && r.room_id !== roomId)) throw notFound(lotteryId);
    return r;
  }

  /**
   * Enters `userId`: once per user (a second entry answers the first, `duplicate`, and never
   * counts twice), inside the entry window (LOTTERY_NOT_OPEN before it, LOTTERY_CLOSED after it
   * or once drawn), and only when eligible (NOT_ELIGIBLE, with the rule in details). The window
   * follows the ledger's clock; the entry and the entrant count change in one transaction that
   * the draw's row lock orders against.
   */
  async enter(lotteryId: string, userId: string, via: 'http' | 'ws', opts: { roomId?: string; presence?: PresenceHint } = {}): Promise<LotteryEntryResult> {
    const row = await this.require(lotteryId, opts.roomId);
    const first = await this.#entry(row.id, userId);
    if (first) return { outcome: 'duplicate', lotteryId: row.id, userId, enteredAt: first, entrants: row.entrants };
    const { now } = await sql<{ now: Date }>`select now() as now`.execute(this.#db).then((r) => r.rows[0]!);
    this.#checkWindow(row, ms(now));
    await this.#checkEligible(row, userId, ms(now), opts.presence ?? {});
    const entered = await this.#db
      .transaction()
      .execute(async (trx) => {
        const counted = await trx
          .updateTable('lotteries')
          .set({ entrants: sql`entrants + 1` })
          .where('id', '=', row.id)
          .where('state', '=', 'open')
          .where(sql<boolean>`now() >= opens_at and now() < closes_at`)
          .returning(['entrants', sql<Date>`now()`.as('now')])
          .executeTakeFirst();
        if (!counted) return { closed: true as const };
        const ins = await trx
          .insertInto('lottery_entries')
          .values({ lottery_id: row.id, user_id: userId, via })
          .onConflict((oc) => oc.columns(['lottery_id', 'user_id']).doNothing())
          .returning('entered_at')
          .executeTakeFirst();
        // Entered meanwhile by another request of the same user: undo the count, answer the first.
        if (!ins) throw new DuplicateEntry();
        return { closed: false as const, enteredAt: ms(ins.entered_at), entrants: counted.entrants };
      })
      .catch(async (err: unknown) => {
        if (!(err instanceof DuplicateEntry)) throw err;
        return { closed: false as const, duplicate: true as const };
      });
    if (entered.closed) {
      const cur = await this.require(row.id);
      this.#checkWindow(cur, Date.now(), true);
      throw new LivesaleError('LOTTERY_CLOSED');
    }
    if ('duplicate' in entered) {
      const cur = await this.require(row.id);
      return { outcome: 'duplicate', lotteryId: row.id, userId, enteredAt: (await this.#entry(row.id, userId)) ?? ms(now), entrants: cur.entrants };
    }
    return { outcome: 'entered', lotteryId: row.id, userId, enteredAt: entered.enteredAt, entrants: entered.entrants };
  }

  async #entry(lotteryId: string, userId: string): Promise<number | undefined> {
    const e = await this.#db.selectFrom('lottery_entries').select('entered_at').where('lottery_id', '=', lotteryId).where('user_id', '=', userId).executeTakeFirst();
    return e ? ms(e.entered_at) : undefined;
  }

  #checkWindow(row: Row, now: number, closedSeen = false): void {
    if (row.state !== 'open') throw new LivesaleError('LOTTERY_CLOSED', 'the lottery has been drawn', { closesAt: ms(row.closes_at) });
    if (now < ms(row.opens_at)) throw new LivesaleError('LOTTERY_NOT_OPEN', undefined, { opensAt: ms(row.opens_at) });
    if (closedSeen || now >= ms(row.closes_at)) throw new LivesaleError('LOTTERY_CLOSED', undefined, { closesAt: ms(row.closes_at) });
  }

  /** NOT_ELIGIBLE unless the user meets the lottery's rule, from what the ledger holds now. */
  async #checkEligible(row: Row, userId: string, now: number, presence: PresenceHint): Promise<void> {
    const rule = row.eligibility as LotteryEligibility;
    const refuse = (details: Record<string, unknown> = {}) => new LivesaleError('NOT_ELIGIBLE', eligibilityMessages[rule.kind], { eligibility: rule.kind, ...details });
    switch (rule.kind) {
      case 'anyone':
        return;
      case 'present': {
        if (presence.connectedSince !== undefined) return;
        const v = await this.#visits(row.room_id, userId, undefined);
        if (!v.open) throw refuse();
        return;
      }
      case 'followers': {
        const f = await this.#db.selectFrom('room_followers').select('user_id').where('room_id', '=', row.room_id).where('user_id', '=', userId).executeTakeFirst();
        if (!f) throw refuse();
        return;
      }
      case 'watched': {
        const show = await this.#db.selectFrom('shows').select(['started_at', 'created_at']).where('id', '=', row.show_id).executeTakeFirstOrThrow();
        const since = ms(show.started_at ?? show.created_at);
        const v = await this.#visits(row.room_id, userId, since);
        const live = presence.connectedSince !== undefined ? Math.max(0, now - Math.max(presence.connectedSince, since)) : 0;
        const openMs = v.open ? Math.max(0, now - Math.max(v.lastJoin ?? since, since)) : 0;
        const watchedMs = v.closedMs + Math.max(openMs, live);
        if (watchedMs < rule.minMinutes * 60_000) throw refuse({ minMinutes: rule.minMinutes, watchedMinutes: Math.floor(watchedMs / 60_000) });
        return;
      }
      case 'buyers': {
        const b = await this.#db
          .selectFrom('orders as o')
          .innerJoin('campaign_items as ci', 'ci.id', 'o.item_id')
          .select('o.order_id')
          .where('ci.show_id', '=', row.show_id)
          .where('o.user_id', '=', userId)
          .where('o.state', '=', 'paid')
          .where('o.amount', '>', '0')
          .limit(1)
          .executeTakeFirst();
        if (!b) throw refuse();
        return;
      }
    }
  }

  /**
   * A user's visits of a room from its activity events: whether a visit is open (more entries
   * than exits), when the last one began, and the watch time of the closed visits after `since`
   * (each counted from `since` at the earliest).
   */
  async #visits(roomId: string, userId: string, since: number | undefined): Promise<{ open: boolean; lastJoin: number | null; closedMs: number }> {
    const r = await sql<{ joins: string; leaves: string; last_join: Date | null; closed_ms: string | null }>`
      select count(*) filter (where type = 'viewer.joined') as joins,
             count(*) filter (where type = 'viewer.left') as leaves,
             max(at) filter (where type = 'viewer.joined') as last_join,
             sum(least(value, greatest(0, extract(epoch from (at - ${new Date(since ?? 0).toISOString()}::timestamptz)) * 1000)))
               filter (where type = 'viewer.left' and at > ${new Date(since ?? 0).toISOString()}::timestamptz) as closed_ms
      from room_activity
      where room_id = ${roomId} and user_id = ${userId} and type in ('viewer.joined', 'viewer.left')`.execute(this.#db);
    const x = r.rows[0]!;
    return { open: Number(x.joins) > Number(x.leaves), lastJoin: x.last_join ? ms(x.last_join) : null, closedMs: Math.floor(Number(x.closed_ms ?? 0)) };
  }

  /**
   * The draw's first step: stops the entries (state closed, closesAt brought forward to now if
   * it had not come) and fixes the entrant list, under the lottery's row lock (an entry in
   * flight commits before, or finds it closed). Returns the sorted entrants and the draw's order.
   * Repeatable: a closed lottery gives the same list and order again; a drawn one `already`.
   * LOTTERY_NOT_OPEN before its entries open.
   */
  async close(lotteryId: string, roomId: string): Promise<ClosedDraw> {
    const { row, entrants } = await this.#db.transaction().execute(async (trx) => {
      const cur = await trx.selectFrom('lotteries').selectAll().where('id', '=', lotteryId).forUpdate().executeTakeFirst();
      if (!cur || cur.room_id !== roomId) throw notFound(lotteryId);
      let row = cur;
      if (cur.state === 'open') {
        const { now } = await sql<{ now: Date }>`select now() as now`.execute(trx).then((r) => r.rows[0]!);
        if (ms(now) < ms(cur.opens_at)) throw new LivesaleError('LOTTERY_NOT_OPEN', 'entries have not opened: nothing to draw yet', { opensAt: ms(cur.opens_at) });
        row = await trx
          .updateTable('lotteries')
          .set({ state: 'closed', closes_at: sql`least(closes_at, now())` })
          .where('id', '=', lotteryId)
          .returningAll()
          .executeTakeFirstOrThrow();
      }
      const list = await trx.selectFrom('lottery_entries').select('user_id').where('lottery_id', '=', lotteryId).execute();
      return { row, entrants: list.map((e) => e.user_id) };
    });
    const sorted = sortEntrants(entrants);
    return { row, entrants: sorted, entrantsHash: entrantsHashOf(sorted), order: drawOrder(row.seed, row.id, sorted, row.winners), already: row.state === 'drawn' };
  }

  /** The draw's second step: the winners by rank (a prefix of the draw's order), then the seed is public. */
  async recordDraw(d: ClosedDraw, winners: readonly WinnerRecord[]): Promise<Row> {
    return this.#db.transaction().execute(async (trx) => {
      const cur = await trx.selectFrom('lotteries').selectAll().where('id', '=', d.row.id).forUpdate().executeTakeFirstOrThrow();
      if (cur.state === 'drawn') return cur;
      if (winners.length) {
        await trx
          .insertInto('lottery_winners')
          .values(winners.map((w, i) => ({ lottery_id: cur.id, rank: i + 1, user_id: w.userId, order_id: w.orderId, claim_deadline: w.claimDeadline === null ? null : new Date(w.claimDeadline) })))
          .onConflict((oc) => oc.columns(['lottery_id', 'rank']).doNothing())
          .execute();
      }
      return trx
        .updateTable('lotteries')
        .set({ state: 'drawn', entrants_hash: d.entrantsHash, entrants: d.entrants.length, shortfall: cur.winners - winners.length, drawn_at: sql`now()` })
        .where('id', '=', cur.id)
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  }

  async #winners(lotteryId: string) {
    return this.#db
      .selectFrom('lottery_winners as w')
      .leftJoin('orders as o', 'o.order_id', 'w.order_id')
      .select(['w.rank', 'w.user_id', 'w.order_id', 'w.claim_deadline', 'o.state'])
      .where('w.lottery_id', '=', lotteryId)
      .orderBy('w.rank')
      .execute();
  }

  /** The lottery as the room shows it (with the draw's winners once drawn). */
  async info(row: Row): Promise<LotteryInfo> {
    const winners = row.state === 'drawn' ? await this.#winners(row.id) : [];
    return infoOf(row, winners.map((w) => w.user_id));
  }

  /** The lottery as anyone may read it; `entrantIds` (every entrant, sorted) with `withEntrants` after the draw. */
  async publicView(row: Row, withEntrants: boolean): Promise<LotteryPublic> {
    const winners = row.state === 'drawn' ? await this.#winners(row.id) : [];
    const base: LotteryPublic = { ...infoOf(row, winners.map((w) => w.user_id)), roomId: row.room_id, createdAt: ms(row.created_at), entrants: row.entrants };
    if (row.state !== 'drawn') return base;
    const claim = (orderId: string | null, state: string | null): NonNullable<LotteryPublic['winnerList']>[number]['claim'] => {
      if (orderId === null) return 'none';
      if (state === 'paid') return 'claimed';
      if (state === 'expired') return 'expired';
      if (state === 'cancelled' || state === 'refunded') return 'cancelled';
      return 'unclaimed';
    };
    const out: LotteryPublic = {
      ...base,
      winnerList: winners.map((w) => ({ rank: w.rank, userId: w.user_id, orderId: w.order_id, claimDeadline: w.claim_deadline === null ? null : ms(w.claim_deadline), claim: claim(w.order_id, w.state ?? null) })),
    };
    if (withEntrants) {
      const list = await this.#db.selectFrom('lottery_entries').select('user_id').where('lottery_id', '=', row.id).execute();
      out.entrantIds = sortEntrants(list.map((e) => e.user_id));
    }
    return out;
  }

  async showExists(showId: string): Promise<boolean> {
    if (!dbId.test(showId)) return false;
    return !!(await this.#db.selectFrom('shows').select('id').where('id', '=', showId).executeTakeFirst());
  }

  /** Every lottery of a show, oldest first. */
  async ofShow(showId: string): Promise<Row[]> {
    if (!dbId.test(showId)) return [];
    return this.#db.selectFrom('lotteries').selectAll().where('show_id', '=', showId).orderBy('id').execute();
  }
}

class DuplicateEntry extends Error {}

function infoOf(row: Row, winners: string[]): LotteryInfo {
  const info: LotteryInfo = {
    id: row.id,
    showId: row.show_id,
    title: row.title,
    prize: prizeOf(row),
    winners: row.winners,
    eligibility: row.eligibility as LotteryEligibility,
    opensAt: ms(row.opens_at),
    closesAt: ms(row.closes_at),
    claimSeconds: row.claim_seconds,
    commitment: row.commitment,
    state: row.state === 'drawn' ? 'drawn' : 'open',
  };
  if (row.state !== 'drawn') return info;
  return {
    ...info,
    drawn: { at: ms(row.drawn_at ?? row.created_at), seed: row.seed, entrantsHash: row.entrants_hash ?? '', entrants: row.entrants, winners, shortfall: row.shortfall ?? 0 },
  };
}

/** A lottery of the show review report. */
export interface ReportLottery {
  id: string;
  title: string;
  prize: LotteryPrize;
  state: 'open' | 'drawn';
  winnersAsked: number;
  entrants: number;
  commitment: string;
  /** Published at the draw (null before). */
  seed: string | null;
  entrantsHash: string | null;
  winners: { rank: number; userId: string; claim: string }[];
}

/** Every lottery of a show for its report: entrants, winners (with their claims) and the seed. */
export async function reportLotteries(db: Kysely<Database>, showId: string): Promise<ReportLottery[]> {
  const l = new Lotteries(db);
  const rows = await l.ofShow(showId);
  return Promise.all(
    rows.map(async (r) => {
      const p = await l.publicView(r, false);
      return {
        id: r.id,
        title: r.title,
        prize: p.prize,
        state: p.state,
        winnersAsked: r.winners,
        entrants: r.entrants,
        commitment: r.commitment,
        seed: p.drawn?.seed ?? null,
        entrantsHash: p.drawn?.entrantsHash ?? null,
        winners: (p.winnerList ?? []).map((w) => ({ rank: w.rank, userId: w.userId, claim: w.claim })),
      };
    }),
  );
}
