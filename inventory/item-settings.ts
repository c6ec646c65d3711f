import type { Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';
import type { InventoryEvent } from '../common/contracts/inventory-events.ts';
import { settingsFromCreated, type ItemSettings } from './ledger-fold.ts';

/**
 * The settings an item started from: its item.created event (in the ledger or the outbox), or,
 * when that event was lost with Redis before it was relayed, the catalog row (a group buy's
 * tiers are in the catalog when it was created with them).
 */
export async function itemSettings(db: Kysely<Database>, itemId: string, events: readonly InventoryEvent[]): Promise<ItemSettings | undefined> {
  const created = events.find((e): e is Extract<InventoryEvent, { type: 'item.created' }> => e.type === 'item.created');
  if (created) return settingsFromCreated(created);
  if (!/^\d{1,18}$/.test(itemId)) return undefined;
  const row = await db.selectFrom('campaign_items').selectAll().where('id', '=', itemId).executeTakeFirst();
  if (!row || (row.kind === 'group' && !row.group_tiers)) return undefined;
  const holdMs = row.hold_seconds * 1000;
  return {
    itemId,
    roomId: String(row.room_id),
    kind: row.kind,
    ...(row.kind === 'group' ? { tiers: row.group_tiers ?? [], countBy: row.group_count_by ?? 'people', belowFirstTier: row.group_below_first_tier ?? 'fail' } : {}),
    total: row.total_stock,
    price: Number(row.price_fen),
    limit: row.per_user_limit,
    startsAt: new Date(row.starts_at).getTime(),
    endsAt: new Date(row.ends_at).getTime(),
    holdMs,
    remindMs: Math.floor(holdMs / 3),
  };
}

/** The item.created event of settings (a rebuild writes it again when it was lost). */
export function createdEvent(s: ItemSettings, at: number): Extract<InventoryEvent, { type: 'item.created' }> {
  return {
    id: `${s.itemId}:created`,
    type: 'item.created',
    item: s.itemId,
    room: s.roomId,
    at,
    ver: 1,
    kind: s.kind,
    total: s.total,
    price: s.price,
    limit: s.limit,
    startsAt: s.startsAt,
    endsAt: s.endsAt,
    holdMs: s.holdMs,
    remindMs: s.remindMs,
    ...(s.kind === 'group' ? { tiers: [...(s.tiers ?? [])], countBy: s.countBy ?? 'people', belowFirstTier: s.belowFirstTier ?? 'fail' } : {}),
  };
}

/**
 * The team buy and bargain settings of an item as its catalog row keeps them (`offers`, written
 * by the setTeamBuy and setBargain host commands), in the form of the `cfg` field of its teams
 * and bargains hashes (inventory/lua/team-setup-2.lua, bargain-setup-2.lua). The ledger has no
 * event for them, so a rebuild after a Redis loss restores them from here.
 */
export async function offerSettings(db: Kysely<Database>, itemId: string): Promise<{ team?: string; bargain?: string }> {
  if (!/^\d{1,18}$/.test(itemId)) return {};
  const row = await db.selectFrom('campaign_items').select('offers').where('id', '=', itemId).executeTakeFirst();
  const o = (row?.offers ?? {}) as { team?: { size: number; price: number; windowMs: number; teamsPerUser: number }; bargain?: { start: number; floor: number; helpers: number; windowMs: number; newUsersOnly: boolean } };
  return {
    ...(o.team ? { team: [o.team.size, o.team.price, o.team.windowMs, o.team.teamsPerUser].join(',') } : {}),
    ...(o.bargain ? { bargain: [o.bargain.start, o.bargain.floor, o.bargain.helpers, o.bargain.windowMs, o.bargain.newUsersOnly ? 1 : 0].join(',') } : {}),
  };
}
