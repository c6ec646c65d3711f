/**
 * Benchmark: the HTTP buy endpoint of the gateway versus a minimal uWebSockets.js + ioredis
 * endpoint calling the same reserve script, in the same run, same Redis, same load generator.
 *
 *   npm run bench:buy [-- --duration 10 --connections 100]
 *
 * Both servers run in their own process; autocannon runs here. Every request is a distinct
 * user and idempotency key on an item with stock large enough never to sell out, so each one
 * is a real reservation (script, hold, outbox entry).
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../common/platform/config.ts';
import { Auth } from '../gateway/auth.ts';
import { HttpClient } from '../web/client.ts';
import { FlashSale } from '../inventory/flash-sale.ts';
import { Keys } from '../common/contracts/keys.ts';
import { ensureStack } from '../scripts/stack/stack.ts';
import { cannon, printTable, row, startProcess, stopProcess } from './lib.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '100' }, users: { type: 'string', default: '2000' } } });
const duration = Number(args.duration);
const connections = Number(args.connections);
const users = Number(args.users);

const stack = await ensureStack({ say: (l, t) => !t && console.error(l) });
const run = `bench${Date.now().toString(36)}`;
const secret = 'bench-secret-bench-secret-bench-secret-0';
const env = {
  REDIS_URL: stack.redisUrl,
  DATABASE_URL: stack.databaseUrl,
  KAFKA_BROKERS: stack.kafkaBrokers,
  KEY_PREFIX: `${run}:`,
  DATABASE_SCHEMA: run,
  JWT_SECRET: secret,
  PORT: '0',
  LOG_LEVEL: 'warn',
  // The load comes from one address: its limit would measure the limiter, not the buy path.
  HTTP_ADDRESS_RATE: '1000000',
};
const redis = new Redis(stack.redisUrl);
const auth = new Auth(secret);
const tokens = await Promise.all(Array.from({ length: users }, (_, i) => auth.issue(`u${i}`, 'shopper')));

// ---- the gateway (its own process), with a room and an item created through its API
const { migrateToLatest } = await import('../orders/migrate.ts');
const { createDbFromConfig } = await import('../common/contracts/ledger-schema.ts');
const db = createDbFromConfig(loadConfig({}, env));
await migrateToLatest(db, run);
const gw = await startProcess('load-tests/gateway-server.ts', env);
const gwUrl = `http://127.0.0.1:${gw.firstLine}`;
const host = new HttpClient(gwUrl, await auth.issue('bench-host', 'host'));
const room = await host.createRoom('bench');
const now = Date.now();
const item = await host.addItem(room.id, { title: 'bench', price: 100, stock: 100_000_000, perUserLimit: 10_000, startsAt: now - 1000, endsAt: now + 3600_000 });

// ---- the baseline, on its own item with the same settings
const baseKeys = new Keys(`${run}base:`);
await new FlashSale({ redis, keys: baseKeys, scripts: inventoryScripts(redis) }).createItem({
  itemId: 'b1', roomId: 'b', total: 100_000_000, price: 100, perUserLimit: 10_000, startsAt: now - 1000, endsAt: now + 3600_000, holdMs: 900_000,
});
const base = await startProcess('load-tests/baseline-server.ts', { ...env, KEY_PREFIX: `${run}base:`, ITEM_ID: 'b1' });
const baseUrl = `http://127.0.0.1:${base.firstLine}`;

let n = 0;
const common = { connections, duration, pipelining: 1, method: 'POST' as const };
console.error(`warming up, then ${duration} s each at ${connections} connections …`);
await cannon({ ...common, duration: 2, url: `${baseUrl}/buy`, setupClient: (c) => c.setHeaders({ 'x-user': `w${n++}`, 'x-key': `w${n}` }) });
const baseline = await cannon({
  ...common,
  url: `${baseUrl}/buy`,
  requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-user': `u${n % users}`, 'x-key': `k${n++}` }, body: '{}' }) }],
});
await cannon({ ...common, duration: 2, url: `${gwUrl}/rooms/${room.id}/items/${item.id}/buy`, headers: { authorization: `Bearer ${tokens[0]}`, 'content-type': 'application/json' }, body: JSON.stringify({ qty: 1, idempotencyKey: 'warm' }) });
const gateway = await cannon({
  ...common,
  url: `${gwUrl}/rooms/${room.id}/items/${item.id}/buy`,
  requests: [
    {
      setupRequest: (req) => {
        const i = n++;
        return { ...req, headers: { ...req.headers, 'content-type': 'application/json', authorization: `Bearer ${tokens[i % users]}` }, body: `{"qty":1,"idempotencyKey":"k${i}"}` };
      },
    },
  ],
});
console.error('');

const holds = Number(await redis.hget(new Keys(`${run}:`).item(item.id).item, 'held'));
printTable([row('baseline: uWS + ioredis + reserve script', baseline), row('livesale gateway: POST .../buy (JWT, zod)', gateway)]);
console.log(`ratio gateway/baseline: ${(gateway.requests.average / baseline.requests.average).toFixed(2)}x requests/s`);
console.log(`holds made through the gateway: ${holds} (each with its outbox entry)`);

await stopProcess(gw.proc);
await stopProcess(base.proc);
// Clean up this run's keys and schema.
for (const prefix of [`${run}:`, `${run}base:`]) {
  let cursor = '0';
  do {
    const [next, ks] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (ks.length) await redis.del(...ks);
  } while (cursor !== '0');
}
redis.disconnect();
const { sql } = await import('kysely');
await sql`DROP SCHEMA IF EXISTS ${sql.id(run)} CASCADE`.execute(db);
await db.destroy();
