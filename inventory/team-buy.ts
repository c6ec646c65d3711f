import { randomUUID } from 'node:crypto';
import { LivesaleError } from '../common/platform/errors.ts';
import { ScriptCode, decodeAnswer, expectOk, scriptError, type ScriptAnswer } from '../common/contracts/script-codes.ts';
import { decodeRefusal, type Duplicate, type Refused } from './flash-sale.ts';
import { ItemOps, parseHold, type HoldState } from './item-ops.ts';
import { checkIdem, checkInt, checkOrderId, checkUser } from './validate.ts';

/**
 * Team buys (拼团) on a flash-sale item: typed wrappers over the team scripts.
 *
 *   configure(itemId, spec)                          -> TeamSettings
 *   open(itemId, userId, idempotencyKey)             -> TeamHeld (a new team, the opener's seat) | refusal | duplicate
 *   join(itemId, teamId, userId, idempotencyKey)     -> TeamHeld | refusal | duplicate
 *   settle(itemId, teamId)                           -> TeamSettled (formed | failed | open)
 *   afterPaid(itemId, orderId)                       -> TeamSettled of the order's team | undefined
 *   settleDue(itemId, limit?)                        -> TeamSettled[] of the teams whose window ended
 *   team(itemId, teamId)                             -> TeamView | undefined
 *   counts(itemId)                                   -> { opened, formed, failed, refunded, open }
 *
 * Idempotency: a key names one opening (a retry answers the same team), or the join of one team
 * (the team id scopes it: the same key sent to another team is another request).
 *
 * A seat is a hold of one unit at the team price, paid through the normal payment path
 * (inventory/payments.ts). After a member pays, `settle` forms the team if every seat is paid;
 * the sweeper settles the teams whose window ended: a team that has not formed by then fails,
 * its unpaid holds are cancelled and its paid members refunded in full through the ledger
 * (refund.issued, reason team_failed), in one call per team. Nothing ever fills a seat but a
 * shopper's own join.
 */

export interface TeamSpec {
  /** Members a team needs (2..100). */
  readonly size: number;
  /** Unit price of a team seat (fen). */
  readonly price: number;
  /** How long a team has to form from its opening (ms). */
  readonly windowMs: number;
  /** Live teams of the item a user may be in at once (default 1). */
  readonly teamsPerUser?: number;
}

export interface TeamSettings {
  readonly itemId: string;
  readonly size: number;
  readonly price: number;
  readonly windowMs: number;
  readonly teamsPerUser: number;
}

export interface TeamHeld {
  readonly outcome: 'held';
  readonly orderId: string;
  readonly teamId: string;
  readonly qty: 1;
  readonly unitPrice: number;
  readonly amount: number;
  readonly deadline: number;
  readonly available: number;
  readonly ver: number;
  readonly version: 1;
  /** Seats taken (held or paid) after this join. */
  readonly seats: number;
  readonly size: number;
  readonly teamEndsAt: number;
}

export interface TeamRefused {
  readonly outcome: 'team_not_found' | 'team_full' | 'team_closed' | 'team_limit';
  readonly code: 'TEAM_NOT_FOUND' | 'TEAM_FULL' | 'TEAM_CLOSED' | 'TEAM_LIMIT';
  readonly message: string;
}

export type TeamJoinResult = TeamHeld | Refused | TeamRefused | Duplicate<TeamHeld | Refused | TeamRefused>;

export interface TeamSettled {
  readonly itemId: string;
  readonly teamId: string;
  readonly outcome: 'formed' | 'failed' | 'open';
  /** Members paid (at the settlement, or now for an open team). */
  readonly paid: number;
  /** What this call refunded (a second call refunds nothing). */
  readonly refunds: number;
  readonly refundTotal: number;
  readonly cancelled: number;
  readonly available?: number;
  readonly ver?: number;
  /** The team's size (formed or failed teams). */
  readonly size?: number;
  /** Settled before this call. */
  readonly already: boolean;
}

export interface TeamMember {
  readonly orderId: string;
  readonly userId: string;
  readonly state: HoldState;
  readonly version: number;
}

export interface TeamView {
  readonly itemId: string;
  readonly teamId: string;
  readonly state: 'open' | 'formed' | 'failed';
  readonly leader: string;
  readonly size: number;
  readonly price: number;
  readonly endsAt: number;
  /** Seats held or paid now. */
  readonly seats: number;
  readonly paid: number;
  /** Every member that ever joined, in joining order (a seat freed by an expiry stays listed). */
  readonly members: readonly TeamMember[];
  /** The item's inventory version when this was read (a higher version is newer). */
  readonly ver: number;
}

export interface TeamCounts {
  readonly opened: number;
  readonly formed: number;
  readonly failed: number;
  /** Refunded to members of failed teams (fen). */
  readonly refunded: number;
  /** Teams still open. */
  readonly open: number;
}

const teamStates = { o: 'open', f: 'formed', x: 'failed' } as const;
const teamRefusals: Record<number, TeamRefused['outcome']> = {
  [ScriptCode.TEAM_NOT_FOUND]: 'team_not_found',
  [ScriptCode.TEAM_FULL]: 'team_full',
  [ScriptCode.TEAM_CLOSED]: 'team_closed',
  [ScriptCode.TEAM_LIMIT]: 'team_limit',
};

function decodeTeamJoin({ code, fields: f }: ScriptAnswer): TeamHeld | Refused | TeamRefused {
  const team = teamRefusals[code];
  if (team) {
    const e = scriptError(code);
    return { outcome: team, code: e.code as TeamRefused['code'], message: e.message };
  }
  if (code !== ScriptCode.OK) {
    const r = decodeRefusal(code, f);
    if (r.outcome === 'group_closed') throw scriptError(code);
    return r;
  }
  const n = f.map(Number);
  return {
    outcome: 'held',
    orderId: String(f[0]),
    qty: 1,
    unitPrice: n[2]!,
    amount: n[2]!,
    deadline: n[3]!,
    available: n[4]!,
    ver: n[5]!,
    version: 1,
    teamId: String(f[6]),
    seats: n[7]!,
    size: n[8]!,
    teamEndsAt: n[9]!,
  };
}

export class TeamBuy extends ItemOps {
  /** Offers a flash-sale item as a team buy (or changes what new teams get). */
  async configure(itemId: string, spec: TeamSpec): Promise<TeamSettings> {
    checkInt(spec.size, 'team size', 2, 100);
    checkInt(spec.price, 'team price', 0, 1_000_000_000);
    checkInt(spec.windowMs, 'team window', 1000, 604_800_000);
    const perUser = checkInt(spec.teamsPerUser ?? 1, 'teams per user', 1, 100);
    const k = this.keys.item(itemId);
    const f = expectOk(await this.scripts.call('team-setup', [k.item, k.teams, k.outbox], [spec.size, spec.price, spec.windowMs, perUser])).fields.map(Number);
    return { itemId, size: f[0]!, price: f[1]!, windowMs: f[2]!, teamsPerUser: f[3]! };
  }

  /** Opens a new team with the caller's seat; its id is the share code others join with. */
  open(itemId: string, userId: string, idempotencyKey: unknown): Promise<TeamJoinResult> {
    return this.#join(itemId, randomUUID().replaceAll('-', ''), userId, idempotencyKey, true);
  }

  /** Takes a seat in a team by its id. */
  join(itemId: string, teamId: string, userId: string, idempotencyKey: unknown): Promise<TeamJoinResult> {
    return this.#join(itemId, checkTeamId(teamId), userId, idempotencyKey, false);
  }

  async #join(itemId: string, teamId: string, userId: string, idempotencyKey: unknown, opening: boolean): Promise<TeamJoinResult> {
    checkIdem(idempotencyKey);
    if ((idempotencyKey as string).length > 60) throw new LivesaleError('INVALID_ARGUMENT', 'a team idempotency key must be 1 to 60 printable ASCII characters');
    checkUser(userId);
    // A key names one request: an opening, or the join of one team (its id scopes the key).
    const idem = opening ? (idempotencyKey as string) : `${idempotencyKey as string}@${teamId}`;
    const k = this.keys.item(itemId);
    const keys = [k.item, k.users, k.holds, k.deadlines, k.outbox, k.refused(userId, idem), k.teams, k.teamEnds];
    const a = decodeAnswer(await this.scripts.call('team-join', keys, [userId, idem, randomUUID(), this.refusalTtlMs, teamId, opening ? '1' : '0']));
    return a.duplicate ? { outcome: 'duplicate', first: decodeTeamJoin(a) } : decodeTeamJoin(a);
  }

  /** Forms the team if every seat is paid, fails it if its window ended first; otherwise it stays open. */
  async settle(itemId: string, teamId: string): Promise<TeamSettled> {
    checkTeamId(teamId);
    const k = this.keys.item(itemId);
    const a = expectOk(await this.scripts.call('team-settle', [k.item, k.users, k.holds, k.deadlines, k.outbox, k.teams, k.teamEnds], [teamId]));
    const f = a.fields;
    if (a.code === ScriptCode.NOTHING_DUE) return { itemId, teamId, outcome: 'open', paid: Number(f[1]), refunds: 0, refundTotal: 0, cancelled: 0, already: false };
    return {
      itemId,
      teamId,
      outcome: f[0] as 'formed' | 'failed',
      paid: Number(f[1]),
      refunds: Number(f[2]),
      refundTotal: Number(f[3]),
      cancelled: Number(f[4]),
      available: Number(f[5]),
      ver: Number(f[6]),
      size: Number(f[7]),
      already: a.code === ScriptCode.ALREADY,
    };
  }

  /** After a payment: settles the order's team if it is a seat of one (forms it when every seat is paid). */
  async afterPaid(itemId: string, orderId: string): Promise<TeamSettled | undefined> {
    const teamId = await this.redis.hget(this.keys.item(itemId).teams, `o ${orderId}`);
    return teamId ? this.settle(itemId, teamId) : undefined;
  }

  /** Settles the teams whose window has ended (by the Redis clock), at most `limit` per call. */
  async settleDue(itemId: string, limit = 200): Promise<TeamSettled[]> {
    const k = this.keys.item(itemId);
    const now = await this.serverTime();
    const due = await this.redis.zrangebyscore(k.teamEnds, '-inf', now, 'LIMIT', 0, limit);
    const out: TeamSettled[] = [];
    for (const teamId of due) out.push(await this.settle(itemId, teamId));
    return out;
  }

  /** The team for the room and its members: seats, payments, state. */
  async team(itemId: string, teamId: string): Promise<TeamView | undefined> {
    checkTeamId(teamId);
    const k = this.keys.item(itemId);
    const [[t, m], ver] = await Promise.all([this.redis.hmget(k.teams, `t ${teamId}`, `m ${teamId}`), this.redis.hget(k.item, 'ver')]);
    if (!t) return undefined;
    const r = /^([a-z]),(\d+),(\d+),(\d+),(.+)$/s.exec(t);
    if (!r) throw new LivesaleError('INTERNAL', `malformed team record ${teamId}`);
    const ids = (m ?? '').split(' ').filter(Boolean);
    const raw = ids.length ? await this.redis.hmget(k.holds, ...ids) : [];
    const members: TeamMember[] = [];
    ids.forEach((orderId, i) => {
      const h = raw[i] ? parseHold(orderId, raw[i]!) : undefined;
      if (h) members.push({ orderId, userId: h.userId, state: h.state, version: h.version });
    });
    return {
      itemId,
      teamId,
      state: teamStates[r[1] as keyof typeof teamStates],
      leader: r[5]!,
      size: Number(r[3]),
      price: Number(r[4]),
      endsAt: Number(r[2]),
      seats: members.filter((x) => x.state === 'held' || x.state === 'paid').length,
      paid: members.filter((x) => x.state === 'paid').length,
      members,
      ver: Number(ver ?? 0),
    };
  }

  /** The item's team figures as Redis holds them now. */
  async counts(itemId: string): Promise<TeamCounts> {
    const k = this.keys.item(itemId);
    const [[opened, formed, failed, refunded], open] = await Promise.all([this.redis.hmget(k.teams, 'opened', 'formed', 'failed', 'refunded'), this.redis.zcard(k.teamEnds)]);
    return { opened: Number(opened ?? 0), formed: Number(formed ?? 0), failed: Number(failed ?? 0), refunded: Number(refunded ?? 0), open };
  }
}

function checkTeamId(teamId: unknown): string {
  try {
    return checkOrderId(teamId);
  } catch {
    throw new LivesaleError('INVALID_ARGUMENT', 'team id must be 1 to 64 letters, digits, - or _');
  }
}
