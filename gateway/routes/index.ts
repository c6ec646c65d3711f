import type { Cluster, Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Config } from '../../common/platform/config.ts';
import type { Logger } from '../../common/platform/logger.ts';
import type { Scripts } from '../../common/platform/lua-loader.ts';
import type { Database } from '../../common/contracts/ledger-schema.ts';
import type { FlashSale } from '../../inventory/flash-sale.ts';
import type { GroupBuy } from '../../inventory/group-buy.ts';
import type { TeamBuy } from '../../inventory/team-buy.ts';
import type { Bargains } from '../../inventory/bargain.ts';
import type { Payments } from '../../inventory/payments.ts';
import type { Promotions } from '../../inventory/promotions.ts';
import type { Keys } from '../../common/contracts/keys.ts';
import type { Catalog } from '../../orders/catalog.ts';
import type { Lotteries } from '../../orders/lottery.ts';
import type { ActivityPublisher } from '../activity.ts';
import type { AuditDrainer, AuditLog } from '../audit.ts';
import type { Auth } from '../auth.ts';
import type { Commands } from '../commands.ts';
import type { Fanout } from '../fanout.ts';
import type { Presence } from '../presence.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RoomHub } from '../room-hub.ts';
import type { RoomStore } from '../room-store.ts';
import type { Router } from '../router.ts';
import type { RunOfShowPush } from '../run-of-show.ts';
import { registerLotteryRoutes } from './lotteries.ts';
import { registerMyOrderRoutes } from './my-orders.ts';
import { registerOrderRoutes } from './orders.ts';
import { registerReferralRoutes } from './referrals.ts';
import { registerPromotionRoutes } from './promotions.ts';
import { registerSegmentRoutes } from './segments.ts';
import { registerRoomRoutes } from './rooms.ts';
import { registerShowRoutes } from './shows.ts';
import { registerStatsRoutes } from './stats.ts';
import { registerSystemRoutes } from './system.ts';
import { registerTeamRoutes } from './teams.ts';
import { registerBargainRoutes } from './bargains.ts';
import type { PipelineHealthReader } from '../pipeline-health.ts';
import { registerWebRoutes } from './web.ts';

/** The services the server composes (gateway/server.ts), in the order it builds them. */
export interface GatewayServices {
  readonly config: Config;
  readonly log: Logger;
  readonly redis: Redis | Cluster;
  readonly db: Kysely<Database>;
  readonly auth: Auth;
  readonly scripts: Scripts;
  readonly metrics: GatewayMetrics;
  readonly store: RoomStore;
  readonly activity: ActivityPublisher;
  readonly audit: AuditLog;
  /** Moves the rooms' audit outboxes into Postgres. */
  readonly auditDrainer?: AuditDrainer;
  readonly fanout: Fanout;
  readonly hub: RoomHub;
  readonly flash: FlashSale;
  readonly groups: GroupBuy;
  readonly keys: Keys;
  /** Member-day rules and coupon campaigns of flash-sale items. */
  readonly promotions: Promotions;
  /** Team buys on flash-sale items (拼团). */
  readonly teams: TeamBuy;
  /** Bargains on flash-sale items (砍价). */
  readonly bargains: Bargains;
  /** Payments, answered only once durable in Kafka. */
  readonly payments: Payments;
  readonly catalog: Catalog;
  /** The host's live run of show (slot changes and the periodic push). */
  readonly runOfShow: RunOfShowPush;
  readonly commands: Commands;
  readonly lotteries: Lotteries;
  /** Shoppers with a socket open per room on this node. */
  readonly presence: Presence;
  /** Relay and writer liveness and the ledger lag, for readiness and metrics. */
  readonly pipeline?: PipelineHealthReader;
}

/**
 * Every route module, in registration order, each given only what it uses. The server
 * registers them on its router; the protocol documentation (scripts/protocol-docs.ts) on a
 * recording one, to list every HTTP endpoint and WebSocket message. A new route module adds
 * one line here.
 */
export function registerRoutes(router: Router, s: GatewayServices): void {
  registerSystemRoutes(router, { config: s.config, redis: s.redis, db: s.db, registry: s.metrics.registry, auth: s.auth, log: s.log, pipeline: s.pipeline });
  registerRoomRoutes(router, { nodeId: s.config.nodeId, config: s.config, catalog: s.catalog, store: s.store, hub: s.hub, commands: s.commands, audit: s.audit, activity: s.activity });
  registerOrderRoutes(router, {
    db: s.db,
    stockTickMs: s.config.stockTickMs,
    log: s.log,
    flash: s.flash,
    groups: s.groups,
    payments: s.payments,
    redis: s.redis,
    keys: s.keys,
    teams: s.teams,
    hub: s.hub,
    store: s.store,
    metrics: s.metrics,
  });
  registerPromotionRoutes(router, { db: s.db, redis: s.redis, keys: s.keys, commands: s.commands, hub: s.hub });
  registerMyOrderRoutes(router, { db: s.db, flash: s.flash, catalog: s.catalog, log: s.log });
  registerReferralRoutes(router, { db: s.db, commands: s.commands, hub: s.hub, windowSeconds: s.config.referralWindowSeconds });
  registerStatsRoutes(router, { db: s.db, hub: s.hub });
  registerShowRoutes(router, { db: s.db, catalog: s.catalog, store: s.store, audit: s.audit, log: s.log });
  registerLotteryRoutes(router, { lotteries: s.lotteries, presence: s.presence, hub: s.hub, log: s.log, stockTickMs: s.config.stockTickMs });
  registerTeamRoutes(router, { teams: s.teams, commands: s.commands, hub: s.hub, log: s.log });
  registerBargainRoutes(router, { bargains: s.bargains, commands: s.commands, hub: s.hub });
  registerWebRoutes(router, { log: s.log });
  registerSegmentRoutes(router, { db: s.db, redis: s.redis, keys: s.keys });
}
