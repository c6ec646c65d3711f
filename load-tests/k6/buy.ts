/**
 * k6 flash-sale buy storm, for users who have k6 (k6 runs TypeScript directly):
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e ROOM=1 -e ITEM=1 -e TOKENS=tok1,tok2 load-tests/k6/buy.ts
 *
 * Every iteration is one buy with a fresh idempotency key; refusals (409) are expected once
 * stock runs out and count as successful answers.
 */
import { check } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';

export const options: Options = {
  scenarios: {
    storm: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE ?? 2000), timeUnit: '1s', duration: __ENV.DURATION ?? '30s', preAllocatedVUs: 200, maxVUs: 2000 },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(99)<100'],
  },
};

const base = __ENV.BASE_URL ?? 'http://127.0.0.1:8080';
const tokens = (__ENV.TOKENS ?? '').split(',').filter(Boolean);

http.setResponseCallback(http.expectedStatuses(200, 201, 409));

export default function (): void {
  const token = tokens[(__VU + __ITER) % tokens.length];
  const res = http.post(
    `${base}/rooms/${__ENV.ROOM}/items/${__ENV.ITEM}/buy`,
    JSON.stringify({ qty: 1, idempotencyKey: `k6-${__VU}-${__ITER}` }),
    { headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } },
  );
  check(res, {
    'answered with an outcome': (r) => typeof (r.json() as { outcome?: string } | null)?.outcome === 'string',
  });
}
