import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError } from '../../web/client.ts';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, rawSocket } from './support.ts';

let sys: System;
let roomId: string;

beforeAll(async () => {
  sys = await startSystem({ wsMessageRate: 5, userMessageRate: 4, wsAdmissionRate: 20, hostCommandRate: 3, wsIdleSeconds: 8 });
  roomId = (await hostWithRoom(sys, 'limits-host')).roomId;
});
afterAll(async () => {
  await sys?.stop();
});

const errors = (frames: ServerFrame[]) => frames.flatMap((f) => (f.type === 'error' ? [f.code] : []));

describe('limits', () => {
  it('messages per connection: over the rate they are refused with RATE_LIMITED; a connection that keeps on is closed with 4029', async () => {
    const bystander = await sys.connect(roomId, await sys.token('shopper', 'calm'));
    const flood = await sys.connect(roomId, await sys.token('shopper', 'flooder'));
    const seen: ServerFrame[] = [];
    flood.onFrame((f) => seen.push(f));
    for (let i = 0; i < 60; i++) flood.sendRaw('{"type":"ping"}');
    const closed = await waitFor('the flooding connection to be closed', () => flood.closed);
    expect(closed.code).toBe(4029);
    expect(closed.reason).toMatch(/rate limit/);
    const pongs = seen.filter((f) => f.type === 'pong').length;
    expect(pongs).toBeGreaterThan(0);
    expect(pongs).toBeLessThanOrEqual(10);
    expect(errors(seen).filter((c) => c === 'RATE_LIMITED').length).toBeGreaterThan(0);
    expect(await bystander.ping()).toBeGreaterThan(0);
    bystander.close();
  });

  it('messages per user: two connections of one user share the user\'s rate', async () => {
    const token = await sys.token('shopper', 'twin');
    const a = await sys.connect(roomId, token);
    const b = await sys.connect(roomId, token);
    const seen: ServerFrame[] = [];
    for (const s of [a, b]) s.onFrame((f) => seen.push(f));
    // Each connection stays within its own burst (10); together they pass the user's (8).
    for (let i = 0; i < 6; i++) {
      a.sendRaw('{"type":"ping"}');
      b.sendRaw('{"type":"ping"}');
    }
    await waitFor('every message to be answered', () => seen.filter((f) => f.type === 'pong' || f.type === 'error').length === 12);
    expect(seen.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(8);
    expect(errors(seen)).toContain('RATE_LIMITED');
    a.close();
    b.close();
  });

  it('host commands per host: over the rate, RATE_LIMITED with a retry delay, and another host is not slowed', async () => {
    const { http, roomId: room } = await hostWithRoom(sys, 'busy-host');
    const other = await hostWithRoom(sys, 'other-busy-host');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => http.command(room, { command: 'announce', text: `a${i}` }, { baseVersion: 1, idempotencyKey: `rl-${i}` })));
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as ApiError).code === 'RATE_LIMITED');
    // A one-second window: even split across two windows, at most 6 pass.
    expect(limited.length).toBeGreaterThanOrEqual(14);
    expect(((limited[0] as PromiseRejectedResult).reason as ApiError).details).toMatchObject({ retryAfterMs: expect.any(Number) });
    const r = await other.http.command(other.roomId, { command: 'announce', text: 'unaffected' });
    expect(r.duplicate).toBe(false);
  });

  it('connection admission: past the node\'s rate, upgrades are refused with 429 RATE_LIMITED', async () => {
    const token = await sys.token('shopper', 'crowd');
    const attempts = await Promise.allSettled(Array.from({ length: 80 }, () => rawSocket(sys.baseUrl, roomId, token)));
    const refused = attempts.filter((a) => a.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/429/);
    for (const a of attempts) if (a.status === 'fulfilled') a.value.close();
    expect(await sys.gateway.registry.metrics()).toMatch(/livesale_ws_refused_total\{code="RATE_LIMITED"\} [1-9]/);
  });

  it('idle timeout: a connection that answers no pings is closed; one that does stays', async () => {
    const token = await sys.token('shopper', 'idle');
    // (Admission tokens may still be spent by the test before.)
    const alive = await waitFor('a connection to be admitted', () => sys.connect(roomId, token).catch(() => undefined));
    // A bare TCP client that completes the handshake, then never reads or answers.
    const silentClient = () =>
      new Promise<{ ended: () => boolean } | undefined>((resolve) => {
        const sock = connect(Number(new URL(sys.baseUrl).port), '127.0.0.1');
        let ended = false;
        sock.once('data', (d) => resolve(d.toString().startsWith('HTTP/1.1 101') ? { ended: () => ended } : undefined));
        sock.on('close', () => (ended = true));
        sock.on('error', () => resolve(undefined));
        sock.write(
          `GET /rooms/${roomId}/ws?token=${token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    const silent = await waitFor('the silent client to be upgraded', silentClient);
    await waitFor('the silent client to be closed by the server', () => silent.ended(), 40_000);
    expect(alive.closed).toBeUndefined();
    expect(await alive.ping()).toBeGreaterThan(0);
    alive.close();
  });
});
