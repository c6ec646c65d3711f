/** The gateway as a benchmark target: like gateway/main.ts, but prints its port on stdout. */
import { createDbFromConfig, createRedis } from '../common/clients.ts';
import { loadConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { startGateway } from '../gateway/server.ts';
import { Keys } from '../inventory/keys.ts';
import { whenParentExits } from '../common/shutdown.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'gateway', nodeId: config.nodeId });
const redis = createRedis(config);
const db = createDbFromConfig(config);
const gw = await startGateway({ config, log, redis, db, keys: new Keys(config.keyPrefix) });
process.stdout.write(`${gw.port}\n`);
process.on('SIGTERM', () => {
  void gw.close({ drainMs: 1000 }).then(async () => {
    redis.disconnect();
    await db.destroy();
    process.exit(0);
  });
});

whenParentExits();
