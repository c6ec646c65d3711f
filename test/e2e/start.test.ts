import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { createSchema, dropNamespace, testConfig } from '../helpers/namespace.ts';
import { freePort } from '../../scripts/stack/proc.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `npm start`'s own wiring (scripts/start.ts on scripts/supervise.ts), in a namespace of its own
 * on the running services: the gateway killed with SIGKILL is restarted and the system serves
 * again; SIGTERM stops every service and exits 0 after its cleanup.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const config = testConfig();
const stackDir = mkdtempSync(join(tmpdir(), 'livesale-start-'));
let proc: ReturnType<typeof spawn> | undefined;

afterAll(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  await dropNamespace(config);
  rmSync(stackDir, { recursive: true, force: true });
});

/** The services npm start runs, by name, as the children of `pid`. */
function services(pid: number): Record<string, number> {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return {};
  }
  const found: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s.*dist\/scripts\/(\w+)\.js/.exec(line);
    if (m) found[m[2]!] = Number(m[1]);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('npm start restarts a killed gateway, which serves again, and on SIGTERM stops every service and exits 0', async () => {
  await createSchema(config);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...process.env,
      LIVESALE_STACK_DIR: stackDir,
      REDIS_URL: config.redisUrl,
      DATABASE_URL: config.databaseUrl,
      KAFKA_BROKERS: config.kafkaBrokers.join(','),
      DATABASE_SCHEMA: config.databaseSchema,
      KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
      KEY_PREFIX: config.keyPrefix,
      HOST: '127.0.0.1',
      PORT: String(port),
      SWEEPER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc!.once('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal });
    }),
  );
  const pid = proc.pid!;
  const running = (what: string) => {
    if (ended) throw new Error(`npm start exited while waiting for ${what}:\n${out}`);
    return true;
  };

  await waitFor('npm start to be running', () => running('it to start') && out.includes('livesale is running'), 300_000, 200).catch((err: Error) => {
    throw new Error(`${err.message}\n${out}`);
  });
  const first = services(pid);
  expect(Object.keys(first).sort()).toEqual(['gateway', 'relay', 'sweeper', 'writer']);
  expect((await fetch(`${base}/healthz`)).status).toBe(200);

  process.kill(first.gateway!, 'SIGKILL');
  await waitFor('the restart line', () => running('the restart') && /\[start\] gateway exited unexpectedly \(signal SIGKILL\); restart 1 in \d+ ms/.test(out), 60_000);
  await waitFor('the restarted gateway to serve', async () => running('the gateway') && services(pid).gateway !== first.gateway && (await fetch(`${base}/healthz`)).ok, 120_000, 200);
  // The other services were left running.
  const second = services(pid);
  for (const name of ['relay', 'sweeper', 'writer']) expect(second[name], name).toBe(first[name]);

  proc.kill('SIGTERM');
  expect(await exited).toEqual({ code: 0, signal: null });
  for (const name of ['writer', 'sweeper', 'relay', 'gateway']) expect(out, name).toMatch(new RegExp(`\\[start\\] ${name} stopped \\(`));
  expect(out.indexOf('[start] writer stopped')).toBeLessThan(out.indexOf('[start] gateway stopped'));
  expect(out).toContain('[start] bye');
  for (const p of Object.values(second)) expect(alive(p)).toBe(false);
}, 600_000);
