/** The gateway process: HTTP and WebSocket edge. Configuration from the environment (common/platform/config.ts). */
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { onShutdown } from '../common/platform/lifecycle.ts';
import { Keys } from '../common/contracts/keys.ts';
import { startGateway } from '../gateway/server.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'gateway', nodeId: config.nodeId });
const redis = createRedis(config, `gateway-${config.nodeId}`);
await assertNoEviction(redis);
const db = createDbFromConfig(config);
const gateway = await startGateway({ config, log, redis, db, keys: new Keys(config.keyPrefix) });
onShutdown(log, async () => {
  await gateway.close();
  redis.disconnect();
  await db.destroy();
});
