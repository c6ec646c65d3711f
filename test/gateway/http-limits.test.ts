import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpLimits, addressKey } from '../../gateway/http-limits.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow } from './support.ts';

// Bursts of twice the rate: 10 writes per user, 16 per address.
const userRate = 5;
const addressRate = 8;

let sys: System;
let roomId: string;
let itemId: string;
let host: Awaited<ReturnType<typeof hostWithRoom>>;

beforeAll(async () => {
  sys = await startSystem({ userMessageRate: userRate, httpAddressRate: addressRate, hostCommandRate: 1000 });
  host = await hostWithRoom(sys, 'limits-http-host');
  roomId = host.roomId;
  itemId = (await host.http.addItem(roomId, { title: 'Tea', price: 100, stock: 10_000, perUserLimit: 10_000, ...openWindow() })).id;
  // Buys are checked against the room as this node sees it: wait until it has the item.
  await waitFor('the item in the room', async () => (await sys.http().snapshot(roomId)).room.items[itemId]);
});
afterAll(async () => {
  await sys?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: { code: string; details?: { retryAfterMs?: number } } };
}

let seq = 0;

/** One POST from a chosen local address (every 127.x.y.z is this machine), on a connection of its own. */
function post(path: string, body: unknown, token: string | undefined, localAddress = '127.0.0.1'): Promise<Answer> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: sys.gateway.port,
        method: 'POST',
        path,
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const buy = (token: string, from?: string) => post(`/rooms/${roomId}/items/${itemId}/buy`, { qty: 1, idempotencyKey: `b-${++seq}` }, token, from);

/**
 * Sends `n` requests at once (a burst well inside one window of the limiter, also on a slow
 * machine); how many got through (any answer but 429), and every answer.
 */
async function burst(n: number, send: (i: number) => Promise<Answer>): Promise<{ passed: number; answers: Answer[]; limited: Answer[] }> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
  const limited = answers.filter((a) => a.status === 429);
  return { passed: n - limited.length, answers, limited };
}

describe('HTTP rate limits', () => {
  it('a burst from one user gets 429 RATE_LIMITED with Retry-After after the burst size, another user is not affected, and the user recovers after the refill', async () => {
    const token = await sys.token('shopper', 'eager');
    const { passed, answers, limited: refused } = await burst(12, () => buy(token, '127.0.0.2'));
    expect(passed).toBe(userRate * 2);
    expect(answers.filter((a) => a.status !== 429).map((a) => a.status)).toEqual(Array(passed).fill(201));
    const limited = refused[0]!;
    expect(limited.body.error?.code).toBe('RATE_LIMITED');
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(limited.body.error?.details?.retryAfterMs).toBeGreaterThan(0);
    expect(answers.every((a) => a.status < 500)).toBe(true);
    // Another user from the same address: its own budget.
    expect((await buy(await sys.token('shopper', 'patient'), '127.0.0.2')).status).toBe(201);
    // A refused write changed nothing: the user holds as many as were let through.
    expect(Number(await sys.redis.hget(sys.keys.item(itemId).users, 'eager'))).toBe(passed);
    // After the refill, the user may write again.
    await new Promise((r) => setTimeout(r, Number(limited.retryAfter) * 1000));
    expect((await buy(token, '127.0.0.2')).status).toBe(201);
  });

  it('every authenticated write is limited: pay, cancel, join and host commands alike', async () => {
    const token = await sys.token('shopper', 'writes-all');
    const paths = ['pay', 'cancel', 'join', 'subscribe'];
    const writes = await burst(userRate * 2 + 2, (i) => post(`/rooms/${roomId}/items/${itemId}/${paths[i % paths.length]}`, { orderId: 'none', version: 1, qty: 1, idempotencyKey: `w-${i}` }, token, '127.0.0.3'));
    expect(writes.passed).toBe(userRate * 2);
    expect(writes.limited.map((a) => a.body.error?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    const other = await hostWithRoom(sys, 'commands-host');
    const v = Number(await sys.redis.hget(sys.keys.room(other.roomId).room, 'version'));
    // All on the same version: one applies, the others are CONFLICT, until the user is over the rate.
    const cmds = await burst(userRate * 2 + 1, (i) => post(`/rooms/${other.roomId}/commands`, { command: 'announce', text: `n${i}`, idempotencyKey: `c-${i}`, baseVersion: v }, other.token, '127.0.0.4'));
    // hostWithRoom made one write (the room) already.
    expect(cmds.passed).toBe(userRate * 2 - 1);
    expect(cmds.limited.map((a) => [a.body.error?.code, a.retryAfter !== undefined])).toEqual([
      ['RATE_LIMITED', true],
      ['RATE_LIMITED', true],
    ]);
    expect(cmds.answers.filter((a) => a.status === 200).length).toBe(1);
  });

  it('an address is limited over all its users; another address is not affected', async () => {
    const tokens = await Promise.all(Array.from({ length: addressRate * 2 + 2 }, (_, i) => sys.token('shopper', `crowd-${i}`)));
    const { passed, limited } = await burst(tokens.length, (i) => buy(tokens[i]!, '127.0.0.5'));
    expect(passed).toBe(addressRate * 2);
    expect(limited.map((a) => a.body.error?.code)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect(Number(limited[0]!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await buy(tokens[0]!, '127.0.0.6')).status).toBe(201);
    await waitFor('the limit counted in the metrics', async () => /livesale_rate_limited_total\{scope="http_address"\} [1-9]/.test(await sys.gateway.registry.metrics()));
    expect(await sys.gateway.registry.metrics()).toMatch(/livesale_rate_limited_total\{scope="http_user"\} [1-9]/);
  });

  it('reads are not limited', async () => {
    const reads = await Promise.all(Array.from({ length: addressRate * 4 }, () => sys.http().snapshot(roomId).then(() => 200, (e: { status?: number }) => e.status)));
    expect(reads.every((s) => s === 200)).toBe(true);
  });

  it('past its key bound in a window, the limiter counts new keys in shared overflow counters instead of growing', async () => {
    const l = new HttpLimits({ userMessageRate: 1, httpAddressRate: 1 }, { maxKeys: 3, overflowBuckets: 1 });
    const outcome = (p: Promise<void>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
    // Three users within the bound: two writes each (the burst), then refused.
    for (const u of ['a', 'b', 'c']) expect([await outcome(l.user('shopper', u)), await outcome(l.user('shopper', u)), await outcome(l.user('shopper', u))]).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    // Every further user shares the one overflow counter: two writes between all of them.
    const more = await Promise.all(Array.from({ length: 50 }, (_, i) => outcome(l.user('shopper', `new-${i}`))));
    expect(more.filter((o) => o === 'ok').length).toBe(2);
    expect(more.filter((o) => o === 'RATE_LIMITED').length).toBe(48);
  });

  it('an address key is the IPv4 address, or the /64 of an IPv6 one', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('0000:0000:0000:0000:0000:ffff:cb00:7109')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });
});
