/** The gateway process: HTTP and WebSocket edge. Configuration from the environment (common/config.ts). */
import { createDbFromConfig, createRedis } from '../common/clients.ts';
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdown } from '../common/shutdown.ts';
import { Keys } from '../inventory/keys.ts';
import { startGateway } from './server.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'gateway', nodeId: config.nodeId });
const redis = createRedis(config, `gateway-${config.nodeId}`);
const db = createDbFromConfig(config);
const gateway = await startGateway({ config, log, redis, db, keys: new Keys(config.keyPrefix) });
onShutdown(log, async () => {
  await gateway.close();
  redis.disconnect();
  await db.destroy();
});
