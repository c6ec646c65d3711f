/**
 * Seeds the demo show against a running gateway (used by docker-compose's `seed` service).
 *   GATEWAY_URL=http://127.0.0.1:8080 JWT_SECRET=... node --import tsx scripts/seed-main.ts
 */
import { Auth } from '../gateway/auth.ts';
import { HttpClient } from '../web/client.ts';
import { seedDemoShow } from './seed.ts';

const url = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const secret = process.env.JWT_SECRET;
if (!secret) {
  console.error('JWT_SECRET must be the gateway\'s secret');
  process.exit(2);
}
const auth = new Auth(secret);
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {
    /* not yet */
  }
  if (i > 120) throw new Error(`no gateway at ${url}`);
  await new Promise((r) => setTimeout(r, 500));
}
const show = await seedDemoShow(new HttpClient(url, await auth.issue('demo-host', 'host')));
console.log(`demo room ${show.roomId}: ${url}/rooms/${show.roomId} (item ${show.onAir} on air)`);
console.log(`demo show ${show.showId}: ${url}/shows/${show.showId}/report (npm run report -- ${show.showId})`);
console.log(`shopper token: ${await auth.issue('demo-shopper', 'shopper')}`);
console.log(`ops token: ${await auth.issue('demo-ops', 'ops')}`);
