/**
 * The baseline of the buy benchmark: the smallest uWebSockets.js endpoint that calls the same
 * reserve script through auto-pipelined ioredis. No auth, no validation, no room, no metrics:
 * what the hardware and Redis give before any product code. Prints its port on stdout.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import uWS from 'uWebSockets.js';
import { reserveKeys } from '../inventory/flash-sale.ts';
import { Keys } from '../common/contracts/keys.ts';
import { whenParentExits } from '../common/platform/lifecycle.ts';
import { inventoryScripts } from '../inventory/scripts.ts';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
const scripts = inventoryScripts(redis);
const keys = new Keys(process.env.KEY_PREFIX ?? 'bench:');
const itemId = process.env.ITEM_ID ?? '1';
const k = keys.item(itemId);

uWS
  .App()
  .post('/buy', (res, req) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const user = req.getHeader('x-user');
    const key = req.getHeader('x-key');
    res.onData((_chunk, last) => {
      if (!last) return;
      scripts.call('reserve', reserveKeys(k, user, key), [user, 1, key, randomUUID()]).then((r) => {
        if (!aborted) res.cork(() => res.end(JSON.stringify(r)));
      });
    });
  })
  .listen('127.0.0.1', 0, (s) => {
    if (!s) process.exit(1);
    process.stdout.write(`${uWS.us_socket_local_port(s)}\n`);
  });

whenParentExits();
