/** The gateway as a benchmark target: like scripts/gateway.ts, but prints its port on stdout. */
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { startGateway } from '../gateway/server.ts';
import { Keys } from '../common/contracts/keys.ts';
import { whenParentExits } from '../common/platform/lifecycle.ts';

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
