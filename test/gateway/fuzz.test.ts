import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServerFrame } from '../../common/contracts/protocol.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom, openWindow, rawSocket } from './support.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ wsMessageRate: 100_000, userMessageRate: 100_000, hostCommandRate: 100_000, maxPayloadBytes: 4096 });
});
afterAll(async () => {
  await sys?.stop();
});

const types = ['buy', 'ping', 'command', 'product.click', 'follow', 'auth', 'nope', '', 'snapshot'];
const commands = ['addItem', 'onAir', 'list', 'delist', 'reorder', 'setPrice', 'adjustStock', 'announce', 'openSale', 'closeSale', 'openGroup', 'closeGroup', 'x'];

/** Frames of every shape: not JSON, JSON of any kind, messages of known types with random fields. */
function frameArb(itemId: string) {
  const field = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(itemId), fc.integer(), fc.string({ maxLength: 30 }));
  const message = fc.record(
    {
      type: fc.constantFrom(...types),
      command: fc.constantFrom(...commands),
      itemId: fc.oneof(fc.constant(itemId), fc.string({ maxLength: 70 }), fc.constant(null)),
      qty: fc.oneof(fc.integer({ min: -5, max: 20_000 }), fc.double(), fc.string({ maxLength: 3 })),
      idempotencyKey: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
      baseVersion: fc.oneof(fc.integer({ min: -2, max: 50 }), fc.string({ maxLength: 3 })),
      reqId: fc.oneof(fc.string({ maxLength: 80 }), fc.integer()),
      text: fc.string({ maxLength: 200 }),
      extra: field,
    },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 5, arbitrary: message.map((m) => JSON.stringify(m)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"type":', 'null', '[]', '{"type":"ping","reqId":{}}', '\u0000', '{"type":"ping"}'.repeat(3)) },
  );
}

it('thousands of random and malformed frames: each gets an answer, the process keeps serving others, memory stays bounded', async () => {
  const { http, roomId } = await hostWithRoom(sys, 'fuzz-host');
  const item = await http.addItem(roomId, { title: 'Fuzz', price: 100, stock: 1_000_000, perUserLimit: 10_000, ...openWindow() });
  const bystander = await sys.connect(roomId, await sys.token('shopper', 'bystander'));
  let heapBefore = 0;

  const tokens = [await sys.token('shopper', 'fuzz-shopper'), await sys.token('host', 'fuzz-host'), await sys.token('ops', 'fuzz-ops')];
  const frames = fc.sample(frameArb(item.id), { numRuns: 3000, seed: 424242 });
  let sent = 0;
  for (let round = 0; round < frames.length; round += 500) {
    const batch = frames.slice(round, round + 500);
    const attacker = await rawSocket(sys.baseUrl, roomId, tokens[(round / 500) % tokens.length]!);
    const before = attacker.frames.length;
    for (const f of batch) attacker.send(f);
    sent += batch.length;
    // Every frame is answered (an error, or the reply of a valid message), in a text frame with a type.
    await waitFor(`answers to ${batch.length} frames`, () => {
      const replies = attacker.frames.slice(before).filter((raw) => {
        const t = (JSON.parse(raw) as ServerFrame).type;
        return ['error', 'pong', 'ack', 'buy.result', 'command.result'].includes(t);
      });
      return replies.length >= batch.length;
    });
    attacker.close();
    if (round === 0) {
      // After a first round (code paths compiled, pools warmed), memory must stop growing.
      gc();
      heapBefore = process.memoryUsage().heapUsed;
    }
    // Meanwhile the room keeps serving: the bystander buys and sees the stock move.
    const r = await bystander.buy(item.id, 1, `b-${round}`);
    expect(r.outcome).toBe('held');
  }
  expect(sent).toBe(3000);
  await bystander.until((v) => v.stock[item.id]!.available === 1_000_000 - 6);
  expect(bystander.protocolErrors).toEqual([]);
  expect(await sys.gateway.registry.metrics()).not.toMatch(/livesale_handler_errors_total\{[^}]*\} [1-9]/);

  // Oversized and binary frames: a typed error or a close with a reason, never a crash.
  const big = await rawSocket(sys.baseUrl, roomId, tokens[0]!);
  const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
  big.send(Buffer.alloc(10), { binary: true });
  big.send('x'.repeat(5000));
  expect(await closed).toBe(1009);
  expect(big.frames.map((f) => JSON.parse(f) as ServerFrame).some((f) => f.type === 'error' && f.code === 'BAD_REQUEST')).toBe(true);

  gc();
  const grown = process.memoryUsage().heapUsed - heapBefore;
  expect(grown).toBeLessThan(16 * 1024 * 1024);
  expect(await bystander.ping()).toBeGreaterThan(0);
  bystander.close();
});
