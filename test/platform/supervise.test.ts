import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';

/**
 * The supervisor npm start runs its services with (scripts/supervise.ts), in a real process
 * supervising real child processes: a service killed with SIGKILL is restarted and serves again;
 * a service that always crashes makes the supervisor give up after its budget, stop the others
 * in reverse start order, run its cleanup and exit non-zero; SIGTERM to the supervisor stops
 * every service (one waiting for its restart included) and runs the cleanup.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/supervisor.ts', import.meta.url));

interface Run {
  readonly proc: ChildProcess;
  readonly out: () => string;
  readonly lines: () => string[];
  /** The pid of the latest run of a service, from its "up" line. */
  readonly pid: (name: string) => number | undefined;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const runs: Run[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
});

function start(env: Record<string, string>): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = () => out.split('\n').filter(Boolean);
  const run: Run = {
    proc,
    out: () => out,
    lines,
    pid: (name) => {
      const up = lines().filter((l) => l.startsWith(`up ${name} `));
      return up.length ? Number(up.at(-1)!.split(' ')[2]) : undefined;
    },
    exited,
  };
  runs.push(run);
  return run;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function get(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/`)).text();
  } catch {
    return undefined;
  }
}

describe('supervisor', () => {
  it('restarts a service killed with SIGKILL, says so (name, signal, attempt, delay), and it serves again', async () => {
    const port = await freePort();
    const run = start({ SERVICES: 'web:serve,worker:idle', SERVICE_PORT: String(port) });
    await waitFor('both services to be up', () => run.pid('web') && run.pid('worker'));
    const first = run.pid('web')!;
    expect(await waitFor('the service to answer', () => get(port))).toBe(`web ${first}`);

    process.kill(first, 'SIGKILL');
    const line = await waitFor('the restart line', () => run.lines().find((l) => l.includes('web exited unexpectedly')));
    expect(line).toMatch(/web exited unexpectedly \(signal SIGKILL\); restart 1 in \d+ ms/);
    const second = await waitFor('a new run of the service', () => (run.pid('web') !== first ? run.pid('web') : undefined));
    expect(await waitFor('the restarted service to answer', async () => ((await get(port)) === `web ${second}` ? 'ok' : undefined))).toBe('ok');

    // The other service was left alone; a second crash is restart 2.
    expect(run.lines().filter((l) => l.startsWith('up worker '))).toHaveLength(1);
    process.kill(second, 'SIGKILL');
    await waitFor('the second restart line', () => run.lines().some((l) => /web exited unexpectedly \(signal SIGKILL\); restart 2 in \d+ ms/.test(l)));
    await waitFor('a third run of the service', () => run.pid('web') !== second && run.pid('web'));

    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.lines()).toContain('cleanup ran');
  });

  it('a service that always crashes is given up on after its budget: the others stop in reverse start order, the cleanup runs, the exit is non-zero', async () => {
    const run = start({ SERVICES: 'first:idle,broken:crash,last:idle', CRASHES: '4', RESTART_MS: '50' });
    const result = await run.exited;
    expect(result).toEqual({ code: 1, signal: null });
    const lines = run.lines();
    // Three restarts, each said with its exit code and attempt; the fourth crash spends the budget.
    for (const n of [1, 2, 3]) expect(lines.some((l) => new RegExp(`broken exited unexpectedly \\(exit code 3\\); restart ${n} in \\d+ ms`).test(l)), `restart ${n}`).toBe(true);
    expect(lines.some((l) => /restart 4/.test(l))).toBe(false);
    expect(lines.filter((l) => l.startsWith('up broken '))).toHaveLength(4);
    expect(lines.some((l) => /broken crashed 4 times within 60 s \(last: exit code 3\); not restarting it again: stopping the others/.test(l))).toBe(true);
    // Reverse start order: last, then first; each got SIGTERM and exited of itself.
    const stopped = lines.filter((l) => / stopped \(/.test(l));
    expect(stopped).toEqual(['[start] last stopped (exit code 0)', '[start] first stopped (exit code 0)']);
    expect(lines.indexOf('stopping last')).toBeLessThan(lines.indexOf('stopping first'));
    expect(lines.indexOf('cleanup ran')).toBeGreaterThan(lines.indexOf('[start] first stopped (exit code 0)'));
    expect(lines.some((l) => /exiting with code 1: broken crashed 4 times/.test(l))).toBe(true);
    for (const name of ['first', 'last']) expect(alive(run.pid(name)!), name).toBe(false);
  });

  it('SIGTERM to the supervisor stops every service, one waiting for its restart included, runs the cleanup and exits 0', async () => {
    // A long first restart delay and a long stop grace: the exit cannot come from either running out.
    const run = start({ SERVICES: 'a:idle,b:idle,c:idle', RESTART_MS: '600000', GRACE_MS: '600000' });
    await waitFor('the services to be up', () => run.pid('a') && run.pid('b') && run.pid('c'));
    const pids = { a: run.pid('a')!, b: run.pid('b')!, c: run.pid('c')! };
    // b dies by a signal (no exit code) and waits for a restart that is minutes away.
    process.kill(pids.b, 'SIGKILL');
    await waitFor('the restart line', () => run.lines().some((l) => /b exited unexpectedly \(signal SIGKILL\); restart 1 in \d+ ms/.test(l)));

    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const lines = run.lines();
    expect(lines.filter((l) => / stopped \(/.test(l))).toEqual(['[start] c stopped (exit code 0)', '[start] a stopped (exit code 0)']);
    expect(lines.some((l) => /did not stop|killing/.test(l))).toBe(false);
    expect(lines.at(-2)).toBe('cleanup ran');
    expect(lines.filter((l) => l.startsWith('up b '))).toHaveLength(1);
    for (const pid of Object.values(pids)) expect(alive(pid)).toBe(false);
  });

  it('a service that ignores SIGTERM is killed once the stop grace has passed, and the others still stop', async () => {
    const run = start({ SERVICES: 'a:idle,stuck:stubborn', GRACE_MS: '500' });
    await waitFor('the services to be up', () => run.pid('a') && run.pid('stuck'));
    const pids = [run.pid('a')!, run.pid('stuck')!];
    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const lines = run.lines();
    expect(lines).toContain('stopping stuck');
    expect(lines).toContain('[start] stuck did not stop within 500 ms of SIGTERM; killing it');
    expect(lines.filter((l) => / stopped \(/.test(l))).toEqual(['[start] stuck stopped (signal SIGKILL)', '[start] a stopped (exit code 0)']);
    expect(lines).toContain('cleanup ran');
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
