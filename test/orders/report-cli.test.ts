import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoItems, seedDemoShow } from '../../scripts/seed.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

function report(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'scripts/report.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: sys.config.databaseUrl, DATABASE_SCHEMA: sys.config.databaseSchema, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

it('npm run report prints the seeded demo show with its run sheet and figures; bad arguments get typed errors', async () => {
  const host = sys.http(await sys.token('host', 'demo-host'));
  const show = await seedDemoShow(host);
  expect(show.showId).toMatch(/^\d+$/);
  const shopper = sys.http(await sys.token('shopper', 'alice'));
  const r1 = await shopper.buy(show.roomId, show.onAir, 2, 'try-1');
  expect(r1.outcome).toBe('held');
  await waitFor('the hold in the ledger', async () => {
    const r = await sql<{ n: string }>`SELECT count(*) AS n FROM orders WHERE room_id = ${show.roomId}`.execute(sys.db);
    return Number(r.rows[0]!.n) === 1;
  });

  // The command runs as its own process each time, in parallel.
  const [text, json, csv, byRoom, list, missing, badFormat, badPart] = await Promise.all([
    report([show.showId]),
    report([show.showId, '--format', 'json']),
    report([show.showId, '--format', 'csv', '--part', 'schedule']),
    report(['--room', show.roomId, '--format', 'json']),
    report([]),
    report(['424242424']),
    report([show.showId, '--format', 'pdf']),
    report([show.showId, '--format', 'csv', '--part', 'all']),
  ]);
  expect(text.code).toBe(0);
  expect(text.out).toContain(`Show ${show.showId} · Autumn harvest live (demo)`);
  expect(text.out).toContain('Run sheet: planned vs actual');
  for (const it of demoItems) expect(text.out).toContain(it.title.slice(0, 20));
  expect(text.out).toContain('Lottery: ceramic cup set');
  expect(text.out).toMatch(/ordered_gmv\s+¥198\.00/);
  expect(text.out).toContain('click_conversion (v1, ratio): product_visitors / uv');

  const parsed = JSON.parse(json.out) as { show: { id: string }; schedule: unknown[]; metrics: { metric: string; value: number }[] };
  expect(parsed.show.id).toBe(show.showId);
  expect(parsed.schedule).toHaveLength(demoItems.length + 3);
  expect(parsed.metrics.find((m) => m.metric === 'ordered_gmv')?.value).toBe(2 * demoItems[0]!.price);
  expect(csv.out.split('\r\n')[0]).toBe('position,role,title,item_id,status,replaced_by,replaces,planned_start,planned_end,actual_start,actual_end,planned_seconds,on_air_seconds,start_delay_seconds,end_delay_seconds');
  expect(JSON.parse(byRoom.out).show.id).toBe(show.showId);
  expect(list.out).toContain(`room ${show.roomId}`);

  expect({ code: missing.code, err: missing.err.trim() }).toEqual({ code: 2, err: expect.stringMatching(/^SHOW_NOT_FOUND: /) });
  expect({ code: badFormat.code, err: badFormat.err }).toEqual({ code: 2, err: expect.stringMatching(/^INVALID_ARGUMENT: --format must be/) });
  expect(badPart.err).toMatch(/^INVALID_ARGUMENT: part must be one of/);
}, 90_000);
