/**
 * Seeds the demo show against a running gateway (used by docker-compose's `seed` service).
 *   GATEWAY_URL=http://127.0.0.1:8080 JWT_SECRET=... node --import tsx scripts/seed-main.ts
 */
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { createLogger } from '../common/platform/logger.ts';
import { retry, retryPolicy } from '../common/platform/retry.ts';
import { Auth } from '../gateway/auth.ts';
import { HttpClient } from '../web/client.ts';
import { seedDemoShow } from './seed.ts';

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const secret = process.env.JWT_SECRET;
if (!secret) {
  console.error('JWT_SECRET must be the gateway\'s secret');
  process.exit(2);
}
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'seed', stderr: true });
const life = createLifecycle({ log, name: 'seed' });
const auth = new Auth(secret);
await life.run(async () => {
  // The gateway may still be starting (compose starts both at once): wait about a minute.
  await retry(
    async () => {
      const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (!ok) throw Object.assign(new Error(`no gateway at ${url}`), { retriable: true });
    },
    { policy: retryPolicy({ initialMs: 250, maxMs: 2000, retries: 40 }), signal: life.signal },
  );
  const show = await seedDemoShow(new HttpClient(url, await auth.issue('demo-host', 'host')));
  console.log(`demo room ${show.roomId}: ${url}/rooms/${show.roomId} (item ${show.onAir} on air)`);
  console.log(`demo show ${show.showId}: ${url}/shows/${show.showId}/report (npm run report -- ${show.showId}); the room's earlier show: ${show.earlierShowId}`);
  console.log(`demo lottery ${show.lotteryId}: ${url}/lotteries/${show.lotteryId} (npm run lottery:verify -- ${show.lotteryId} after the draw)`);
  console.log(`shopper token: ${await auth.issue('demo-shopper', 'shopper')}`);
  console.log(`ops token: ${await auth.issue('demo-ops', 'ops')}`);
});
