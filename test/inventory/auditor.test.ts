import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../common/platform/redis.ts';
import { Auditor } from '../../inventory/auditor.ts';
import type { Held } from '../../inventory/flash-sale.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

/** The auditor reports drift between Redis and the ledger (a log line and a metric), and only drift. */

const root = fileURLToPath(new URL('../..', import.meta.url));
let p: Pipeline;
const lines: Record<string, unknown>[] = [];
let auditor: Auditor;
let registry: Registry;

beforeAll(async () => {
  const redis = createRedis({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, 'auditor-test');
  p = await startPipeline(redis);
  registry = new Registry();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  auditor = new Auditor({ redis: p.redis, keys: p.keys, scripts: p.scripts, db: p.db, fence: p.fence, log: pino({ level: 'info' }, sink), registry });
});

afterAll(async () => {
  await p?.stop();
  p?.redis.disconnect();
});

async function itemWithOrders(total = 50): Promise<{ itemId: string; holds: Held[] }> {
  const now = Date.now();
  const row = await p.catalog.createItem({ roomId: p.roomId, kind: 'flash', title: 't', price: 500, totalStock: total, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdSeconds: 600 });
  await p.flash.createItem({ itemId: row.id, roomId: p.roomId, total, price: 500, perUserLimit: 3, startsAt: now - 1000, endsAt: now + 600_000, holdMs: 600_000 });
  const holds: Held[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await p.flash.reserve(row.id, `a${i}`, 1 + (i % 3), `k${i}`);
    if (r.outcome === 'held') holds.push(r);
  }
  for (const h of holds.slice(0, 4)) await p.payments.pay(row.id, h.orderId, `a${holds.indexOf(h)}`);
  await p.flash.cancel(row.id, holds[5]!.orderId, { userId: 'a5' });
  await p.flash.adjustStock(row.id, 7, 'host-1');
  return { itemId: row.id, holds };
}

describe('auditor', () => {
  it('finds no drift where there is none, even with sales going on during the audit', async () => {
    const { itemId } = await itemWithOrders();
    let stop = false;
    let n = 0;
    const load = (async () => {
      while (!stop) await p.flash.reserve(itemId, `load${n++ % 20}`, 1, `l${n}`);
    })();
    const [r] = await auditor.audit([itemId]);
    stop = true;
    await load;
    expect(r).toMatchObject({ itemId, ok: true, drift: [] });
    expect(await auditor.driftValue(itemId, 'available')).toBe(0);
    expect(lines.filter((l) => l.itemId === itemId && l.level === 40)).toEqual([]);
  });

  it('reports induced drift with a log line and a metric', async () => {
    const { itemId } = await itemWithOrders();
    await p.drain();
    // Stock appears from nowhere: counters changed behind the scripts' back.
    await p.redis.hincrby(p.keys.item(itemId).item, 'avail', 3);
    const [r] = await auditor.audit([itemId]);
    expect(r!.ok).toBe(false);
    expect(r!.drift).toEqual(
      expect.arrayContaining([
        { field: 'available', redis: expect.any(Number), ledger: expect.any(Number) },
        { field: 'available+held+sold', redis: expect.any(Number), ledger: expect.any(Number) },
      ]),
    );
    const avail = r!.drift.find((d) => d.field === 'available')!;
    expect(avail.redis - avail.ledger).toBe(3);
    expect(await auditor.driftValue(itemId, 'available')).toBe(3);
    expect(await registry.getSingleMetricAsString('livesale_inventory_audits_total')).toMatch(/result="drift"} [1-9]/);
    const warned = lines.find((l) => l.itemId === itemId && l.msg === 'inventory drift: Redis and the ledger disagree');
    expect(warned).toMatchObject({ level: 40, drift: expect.arrayContaining([expect.objectContaining({ field: 'available' })]) });
  });

  it('flags Redis behind the ledger (it lost its last changes, as after a failover)', async () => {
    const { itemId, holds } = await itemWithOrders();
    const k = p.keys.item(itemId);
    await p.drain();
    const before = await p.redis.hgetall(k.item);
    await p.payments.pay(itemId, holds[6]!.orderId, 'a6');
    await p.drain();
    await p.redis.hset(k.item, before); // the replica that took over never saw the payment
    const [r] = await auditor.audit([itemId]);
    expect(r).toMatchObject({ ok: false, behind: true });
    expect(r!.drift).toContainEqual({ field: 'ver', redis: Number(before.ver), ledger: expect.any(Number) });
  });

  it('is a command: exit 0 when all agree, 1 with the drift printed', async () => {
    const { itemId } = await itemWithOrders();
    await p.drain();
    const env = {
      ...process.env,
      KEY_PREFIX: p.config.keyPrefix,
      DATABASE_SCHEMA: p.config.databaseSchema,
      KAFKA_TOPIC_PREFIX: p.config.kafkaTopicPrefix,
      LOG_LEVEL: 'silent',
    };
    const run = (extra: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', 'scripts/audit.ts', '--item', itemId, '--writer-group', `${p.config.kafkaTopicPrefix}writer`, ...extra], { cwd: root, env });
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (out += d.toString()));
        c.on('exit', (code) => resolve({ code: code ?? -1, out }));
      });
    const ok = await run([]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toContain(`item ${itemId}: ok`);
    await p.redis.hincrby(p.keys.item(itemId).item, 'sold', 1);
    const bad = await run([]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(new RegExp(`item ${itemId}: DRIFT .*sold redis=\\d+ ledger=\\d+`));
  });
});
