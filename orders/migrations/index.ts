import type { Migration } from 'kysely';
import * as ledger from './2026-11-23-0001-ledger.ts';
import * as ledgerStateStats from './2026-11-24-0301-ledger-state-stats.ts';
import * as hostCommandAudit from './2026-11-24-0201-host-command-audit.ts';
import * as groupItems from './2026-11-24-0101-group-items.ts';
import * as itemRetirements from './2026-11-25-0101-item-retirements.ts';
import * as showsPerRoom from './2026-12-02-0101-shows-per-room.ts';
import * as runOfShow from './2026-12-02-0301-run-of-show.ts';
import * as lotteries from './2026-12-02-0401-lotteries.ts';
import * as createKeys from './2026-12-02-0201-create-keys.ts';
import * as ordersByUser from './2026-12-02-0501-orders-by-user.ts';
import * as hostCommandOutbox from './2026-12-02-0201-host-command-outbox.ts';
import * as referrals from './2026-12-02-0801-referrals.ts';
import * as memberPrices from './2026-12-02-0701-member-prices.ts';
import * as teamEvents from './2026-12-02-0601-team-events.ts';
import * as itemOffers from './2026-12-02-0901-item-offers.ts';

/**
 * Every migration, by name (names sort in the order they run). Imported statically so they load
 * the same way under every runner. Add new files here; never edit a shipped one.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-23-0001-ledger': ledger,
  '2026-11-24-0301-ledger-state-stats': ledgerStateStats,
  '2026-11-24-0201-host-command-audit': hostCommandAudit,
  '2026-11-24-0101-group-items': groupItems,
  '2026-11-25-0101-item-retirements': itemRetirements,
  '2026-12-02-0101-shows-per-room': showsPerRoom,
  '2026-12-02-0301-run-of-show': runOfShow,
  '2026-12-02-0401-lotteries': lotteries,
  '2026-12-02-0201-create-keys': createKeys,
  '2026-12-02-0501-orders-by-user': ordersByUser,
  '2026-12-02-0201-host-command-outbox': hostCommandOutbox,
  '2026-12-02-0801-referrals': referrals,
  '2026-12-02-0701-member-prices': memberPrices,
  '2026-12-02-0601-team-events': teamEvents,
  '2026-12-02-0901-item-offers': itemOffers,
};
