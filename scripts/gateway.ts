/** The gateway process: HTTP and WebSocket edge. Configuration from the environment (common/platform/config.ts). */
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { assertNoEviction, createRedis } from '../common/platform/redis.ts';
import { loadConfig } from '../common/platform/config.ts';
import { createLogger } from '../common/platform/logger.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { Keys } from '../common/contracts/keys.ts';
import { startGateway } from '../gateway/server.ts';

const config = loadConfig();
const log = createLogger({ level: config.logLevel, name: 'gateway', nodeId: config.nodeId });
const life = createLifecycle({ log, name: 'gateway' });
const redis = life.use('redis', createRedis(config, `gateway-${config.nodeId}`), (r) => r.disconnect());
await assertNoEviction(redis);
const db = life.use('postgres', createDbFromConfig(config), (d) => d.destroy());
const gateway = await startGateway({ config, log, redis, db, keys: new Keys(config.keyPrefix) });
// The gateway's own ordered stop (stop listening, drain in-flight requests, close sockets) is one
// step, bounded by its drain time plus room to close the sockets.
life.add('gateway', () => gateway.close(), { timeoutMs: config.shutdownDrainMs + 10_000 });
