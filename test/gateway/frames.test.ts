import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { startSystem, type System } from '../helpers/system.ts';
import { hardFrameBytes } from '../../gateway/ws.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, rawSocket } from './support.ts';

/**
 * WebSocket frames past the message limit close with 1009 and a reason, whatever their size up
 * to the transport's hard bound (hardFrameBytes). Tested with raw frames from the ws package,
 * which sends what it is given.
 *
 * What this uWS build does itself, before any gateway code runs, and has no option for: a frame
 * past the hard bound, and a text frame that is not UTF-8, make it drop the connection with no
 * close frame (the client sees 1006, never 1007). Those tests pin that behaviour and that the
 * drop is counted by reason.
 */

let sys: System;
let roomId: string;
let token: string;
beforeAll(async () => {
  sys = await startSystem({ maxPayloadBytes: 4096 });
  roomId = (await hostWithRoom(sys, 'frames-host')).roomId;
  token = await sys.token('shopper', 'frames-shopper');
});
afterAll(async () => {
  await sys?.stop();
});

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('frames', () => {
  it.each([
    ['just past the limit', 4097],
    ['past 64 KiB', 64 * 1024 + 1],
    ['512 KiB', 512 * 1024],
    ['at the hard bound', hardFrameBytes(4096)],
  ])('a text frame %s (%i bytes) closes with 1009 and a reason', async (_name, size) => {
    const ws = await rawSocket(sys.baseUrl, roomId, token);
    const c = closed(ws);
    ws.send('x'.repeat(size));
    const { code, reason } = await c;
    expect(code).toBe(1009);
    expect(reason).toMatch(/too big.*4096/);
  });

  const dropped = async (reason: string) => {
    const m = (await sys.gateway.registry.getSingleMetric('livesale_ws_closed_by_server_total')?.get())?.values ?? [];
    return m.find((v) => v.labels.reason === reason)?.value ?? 0;
  };

  it('a frame past the hard bound: uWS drops the connection (1006, no close frame), counted as oversized_hard', async () => {
    const before = await dropped('oversized_hard');
    const ws = await rawSocket(sys.baseUrl, roomId, token);
    const c = closed(ws);
    ws.send('x'.repeat(hardFrameBytes(4096) + 1));
    expect((await c).code).toBe(1006);
    await waitFor('the drop to be counted', async () => (await dropped('oversized_hard')) === before + 1);
  });

  it('an invalid UTF-8 text frame: uWS drops the connection (1006; this build cannot send 1007), counted as invalid_utf8', async () => {
    const before = await dropped('invalid_utf8');
    const ws = await rawSocket(sys.baseUrl, roomId, token);
    const c = closed(ws);
    ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    expect((await c).code).toBe(1006);
    await waitFor('the drop to be counted', async () => (await dropped('invalid_utf8')) === before + 1);
  });

  it('other sockets keep being served', async () => {
    const s = await sys.connect(roomId, token);
    expect(await s.ping()).toBeGreaterThan(0);
    s.close();
  });
});
