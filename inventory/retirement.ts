import type { Kysely } from 'kysely';
import type { Database } from '../common/contracts/ledger-schema.ts';

/**
 * The ledger's record of retired items. An item retires in Redis (retire-item.lua, run by the
 * sweeper) once its sale is over and everything it did is in Kafka; its keys then expire after
 * the retention period. Redis is not the ledger: once the keys are gone only this table says the
 * item retired on purpose, so the keeper does not watch it and the rebuild does not bring it back
 * as if Redis had lost it. The sweeper records an item here before it leaves the outbox registry,
 * so a crash in between only repeats both steps.
 */

export interface Retired {
  readonly itemId: string;
  /** When Redis marked it retired (Redis clock, ms). */
  readonly retiredAt: number;
}

/** The ledger keys items by number; other ids (tests, tools) have no ledger rows to mark. */
const ledgerId = /^\d{1,18}$/;

/** Records retired items (repeating one is harmless). */
export async function recordRetired(db: Kysely<Database>, items: readonly Retired[]): Promise<void> {
  const rows = items.filter((i) => ledgerId.test(i.itemId)).map((i) => ({ item_id: i.itemId, retired_at: new Date(i.retiredAt) }));
  if (rows.length === 0) return;
  await db.insertInto('item_retirements').values(rows).onConflict((oc) => oc.column('item_id').doNothing()).execute();
}

/** Whether the ledger says the item retired. */
export async function isRetired(db: Kysely<Database>, itemId: string): Promise<boolean> {
  if (!ledgerId.test(itemId)) return false;
  const row = await db.selectFrom('item_retirements').select('item_id').where('item_id', '=', itemId).executeTakeFirst();
  return row !== undefined;
}
