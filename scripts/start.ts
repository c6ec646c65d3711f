/**
 * npm start: the whole system on local defaults with a seeded demo show.
 *
 * Builds (npm run build: the processes into dist/, the pages into dist/public), brings up the
 * stack (starting Redis, Postgres or Kafka only where none answers), migrates, starts the built
 * gateway, outbox relay, inventory sweeper and ledger writer as child processes (`node
 * dist/scripts/<name>.js`, as in production), seeds a demo show, prints the URLs and keeps a
 * one-line live status until Ctrl-C, then stops everything it started.
 *
 * A service that crashes is restarted with backoff (scripts/supervise.ts); one that keeps
 * crashing stops the others and npm start exits non-zero. Whatever ends it (Ctrl-C, SIGTERM, a
 * failed startup, a service given up on), the services are stopped and so is what the stack
 * started.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { loadConfig, type Config } from '../common/platform/config.ts';
import { createRedis } from '../common/platform/redis.ts';
import { Keys } from '../common/contracts/keys.ts';
import { paced } from './paced.ts';
import { seedPromotions } from './seed-promotions.ts';
import { seedTeamBuyAndBargain } from './seed-team-bargain.ts';
import { createLogger } from '../common/platform/logger.ts';
import { Auth } from '../gateway/auth.ts';
import { HttpClient, metricValue } from '../web/client.ts';
import { createKafka, ensureTopics } from '../common/platform/kafka.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { build } from './build/build.ts';
import { seedDemoShow } from './seed.ts';
import { ensureStack, stackDir, stopStack, type StackState } from './stack/stack.ts';
import { waitFor } from './stack/proc.ts';
import { exitPlan, supervise, type Service } from './supervise.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The marketing tools in the demo's live show: a member-day rule and a coupon campaign (with a
 * gold and a silver member's buys), a team buy with a formed and an open team, and a bargain
 * three helpers cut. A failure here is reported and the demo goes on without them.
 */
async function seedMarketing(host: HttpClient, auth: Auth, baseUrl: string, config: Config, roomId: string): Promise<string> {
  const shopper = async (sub: string) => new HttpClient(baseUrl, await auth.issue(sub, 'shopper'));
  const redis = createRedis(config, 'start-seed');
  try {
    const promo = await seedPromotions(host, shopper, roomId);
    const tb = await seedTeamBuyAndBargain(host, shopper, { redis, keys: new Keys(config.keyPrefix) }, roomId);
    // A 5% commission on the promotion item (the setCommission command) and a share link opened for it.
    await paced(() => host.command(roomId, { command: 'setCommission', itemId: promo.itemId, rateBp: 500 }));
    await (await shopper('demo-referred')).referralClick(roomId, 'demo-sharer', promo.itemId);
    return `member-day + coupon ${promo.campaignId} and 5% commission on item ${promo.itemId} (demo-sharer's link opened by demo-referred); team buy item ${tb.teamItemId} (team ${tb.formedTeamId} formed, ${tb.openTeamId} open); bargain ${tb.bargainId} on item ${tb.bargainItemId} at ${(tb.bargainPrice / 100).toFixed(2)} yuan`;
  } catch (err) {
    return `not seeded: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    redis.disconnect();
  }
}
const say = (line: string) => {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  process.stdout.write(`${line}\n`);
};
let stack: Promise<StackState> | undefined;
let statusTimer: NodeJS.Timeout | undefined;

// Every way out (Ctrl-C, SIGTERM, a failed startup, a service given up on) stops the services,
// then what the stack started; a stack still being brought up is waited for, so what it starts
// is stopped too.
const plan = exitPlan({
  say,
  beforeStop: () => clearInterval(statusTimer),
  cleanup: async () => {
    const started = await stack?.catch(() => ({}) as StackState);
    if (started) await stopStack({ only: started, say });
  },
});

try {
  await build((line) => say(line));
  const up = ensureStack({ say: (line, transient) => (transient ? process.stdout.isTTY && process.stdout.write(`\r${line}\x1b[K`) : say(line)) });
  stack = up.then((s) => s.started);
  const endpoints = await up;
  if (plan.stopping) await plan.shutdown(0);
  const env: Record<string, string> = {
    REDIS_URL: endpoints.redisUrl,
    DATABASE_URL: endpoints.databaseUrl,
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    // npm start is the local demo: development mode unless told otherwise, one secret for all.
    LIVESALE_ENV: process.env.LIVESALE_ENV || 'development',
    JWT_SECRET: process.env.JWT_SECRET || randomBytes(32).toString('base64url'),
    DEMO_AUTH: process.env.DEMO_AUTH ?? 'true',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const config = loadConfig({}, { ...process.env, ...env });
  const log = createLogger({ level: 'warn', name: 'start' });

  const db = createDbFromConfig(config, 2);
  const applied = await migrateToLatest(db, config.databaseSchema);
  await db.destroy();
  say(`[start] database migrated${applied.length ? ` (${applied.join(', ')})` : ' (up to date)'}`);
  await ensureTopics(createKafka(config, log, 'start'), config);
  say(`[start] kafka topics ready: ${config.topics.orders}, ${config.topics.deadLetter}, ${config.topics.activity}`);

  const logDir = join(stackDir(), 'logs');
  mkdirSync(logDir, { recursive: true });
  const services = [
    { name: 'gateway', entry: 'dist/scripts/gateway.js' },
    { name: 'relay', entry: 'dist/scripts/relay.js' },
    { name: 'sweeper', entry: 'dist/scripts/sweeper.js' },
    { name: 'writer', entry: 'dist/scripts/writer.js' },
  ];
  const spawnService = (s: (typeof services)[number]): Service => {
    const file = join(logDir, `${s.name}.log`);
    const out = createWriteStream(file, { flags: 'a' });
    say(`[start] ${s.name} starting (log: ${file})`);
    return {
      name: s.name,
      spawn() {
        const proc = spawn(process.execPath, [s.entry], {
          cwd: root,
          env: { ...process.env, ...env, NODE_ID: `${s.name}-1`, LIVESALE_PARENT_PID: String(process.pid) },
          stdio: ['ignore', 'pipe', 'pipe'],
          // Own process group: Ctrl-C reaches only this supervisor, which stops the services in order.
          detached: true,
        });
        // Full logs go to the file; warnings and errors also to the console.
        const relay = (chunk: Buffer) => {
          out.write(chunk);
          for (const line of chunk.toString().split('\n')) {
            const level = /"level":(\d+)/.exec(line)?.[1];
            if (line.trim() && (!level || Number(level) >= 40)) say(`[${s.name}] ${line}`);
          }
        };
        proc.stdout!.on('data', relay);
        proc.stderr!.on('data', relay);
        return proc;
      },
    };
  };
  if (plan.stopping) await plan.shutdown(0);
  plan.attach(supervise({ services: services.map(spawnService), say }));

  const baseUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
  await waitFor(`the gateway to answer ${baseUrl}/healthz (see ${join(logDir, 'gateway.log')})`, async () => plan.stopping || (await fetch(`${baseUrl}/healthz`)).ok, 60_000, 200);
  if (plan.stopping) await plan.shutdown(0);

  const auth = new Auth(env.JWT_SECRET!);
  const hostToken = await auth.issue('demo-host', 'host');
  const opsToken = await auth.issue('demo-ops', 'ops');
  const shopperToken = await auth.issue('demo-shopper', 'shopper');
  const show = await seedDemoShow(new HttpClient(baseUrl, hostToken));
  const marketing = await seedMarketing(new HttpClient(baseUrl, hostToken), auth, baseUrl, config, show.roomId);
  const wsUrl = `${baseUrl.replace('http', 'ws')}/rooms/${show.roomId}/ws?token=${shopperToken}`;

  say('');
  say('livesale is running with a demo show.');
  say(`  gateway        ${baseUrl}   (health: ${baseUrl}/healthz, metrics: ${baseUrl}/metrics)`);
  say(`  demo room      ${baseUrl}/rooms/${show.roomId}   (item ${show.onAir} on air; items ${show.itemIds.join(', ')})`);
  say(`  watch (WS)     ${wsUrl}`);
  say(`  shopper page   ${baseUrl}/web/shop.html?room=${show.roomId}&user=alice   (a phone-size window suits it)`);
  say(`  host console   ${baseUrl}/web/host.html?room=${show.roomId}&user=demo-host`);
  say(`  ops dashboard  ${baseUrl}/web/ops.html?room=${show.roomId}&user=demo-ops`);
  say(`  buy (HTTP)     curl -X POST ${baseUrl}/rooms/${show.roomId}/items/${show.onAir}/buy -H 'authorization: Bearer ${shopperToken}' -H 'content-type: application/json' -d '{"qty":1,"idempotencyKey":"try-1"}'`);
  say(`  stats (ops)    curl ${baseUrl}/rooms/${show.roomId}/stats -H 'authorization: Bearer ${opsToken}'`);
  say(`  shows          live show ${show.showId} (run of show: ${baseUrl}/shows/${show.showId}/run), earlier show ${show.earlierShowId}`);
  say(`  marketing      ${marketing}`);
  say(`  lottery        ${baseUrl}/lotteries/${show.lotteryId}   (verify after the draw: npm run lottery:verify -- ${show.lotteryId})`);
  say(`  report (ops)   npm run report -- ${show.showId}   or   curl '${baseUrl}/shows/${show.showId}/report?format=text' -H 'authorization: Bearer ${opsToken}'`);
  say(`  demo tokens    POST ${baseUrl}/auth/demo {"role":"shopper","sub":"alice"}`);
  say(`  logs           ${logDir}`);
  say('Ctrl-C stops everything this command started.');
  say('');

  const ops = new HttpClient(baseUrl, opsToken);
  let lastPrinted = 0;
  statusTimer = setInterval(async () => {
    try {
      const s = await ops.stats(show.roomId);
      const line = `[live] orders placed ${metricValue(s, 'placed_orders')} · paid ${metricValue(s, 'orders')} · ordered GMV ¥${((metricValue(s, 'ordered_gmv') ?? 0) / 100).toFixed(2)} · viewers online ${s.online}`;
      if (process.stdout.isTTY) process.stdout.write(`\r${line}\x1b[K`);
      else if (Date.now() - lastPrinted > 10_000) {
        lastPrinted = Date.now();
        say(line);
      }
    } catch (err) {
      if (!plan.stopping) say(`[live] status unavailable: ${(err as Error).message}`);
    }
  }, 1000);
} catch (err) {
  if (!plan.stopping) say(`[start] ${err instanceof Error ? err.message : String(err)}`);
  await plan.shutdown(1, 'startup failed');
}
