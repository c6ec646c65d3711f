import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLifecycle } from '../../common/platform/lifecycle.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { waitFor } from '../helpers/wait.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/lifecycle-child.ts', import.meta.url));

interface Run {
  readonly proc: ChildProcess;
  readonly lines: () => Record<string, unknown>[];
  readonly ready: () => boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(env: Record<string, string>): Run {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { cwd: root, env: { ...process.env, LIVESALE_PARENT_PID: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ready: () => err.includes('ready'),
    exited,
  };
}

/** The close steps as logged: `closed`, `failed` or `timed out`, in the order they ended. */
const outcomes = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => typeof l.step === 'string').map((l) => `${l.step as string} ${String(l.msg).startsWith('closed') ? 'closed' : String(l.msg).includes('failed') ? 'failed' : 'timed out'}`);

describe('lifecycle in a real process', () => {
  it('on SIGTERM closes in reverse order; a failing or hanging close does not stop the others; exits 0', async () => {
    const run = start({ STEPS: 'first,second:fail,third:hang,fourth', STEP_TIMEOUT_MS: '300' });
    await waitFor('the child to be ready', run.ready);
    run.proc.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const lines = run.lines();
    expect(lines.find((l) => l.msg === 'shutting down')).toMatchObject({ process: 'child', why: 'SIGTERM', steps: 5 });
    expect(outcomes(lines)).toEqual(['keep-alive closed', 'fourth closed', 'third timed out', 'second failed', 'first closed']);
    expect(lines.filter((l) => l.closing).map((l) => l.closing)).toEqual(['fourth', 'third', 'second', 'first']);
    expect(lines.at(-1)).toMatchObject({ msg: 'shut down' });
  });

  it('a second signal exits at once, leaving the rest unclosed', async () => {
    const run = start({ STEPS: 'first,stuck:hang', STEP_TIMEOUT_MS: '600000' });
    await waitFor('the child to be ready', run.ready);
    run.proc.kill('SIGINT');
    await waitFor('the hanging step to begin', () => run.lines().some((l) => l.closing === 'stuck'));
    run.proc.kill('SIGINT');
    expect(await run.exited).toEqual({ code: 130, signal: null });
    const lines = run.lines();
    expect(lines.some((l) => l.msg === 'second signal: exiting now')).toBe(true);
    expect(lines.some((l) => l.closing === 'first')).toBe(false);
  });

  it('an uncaught error closes everything and exits 1', async () => {
    const run = start({ STEPS: 'first,second', CRASH: '1' });
    expect(await run.exited).toEqual({ code: 1, signal: null });
    const lines = run.lines();
    expect(lines.find((l) => l.msg === 'uncaught exception')).toMatchObject({ level: 60 });
    expect(outcomes(lines)).toEqual(['keep-alive closed', 'second closed', 'first closed']);
  });
});

describe('lifecycle in this process', () => {
  const log = createLogger({ level: 'silent', name: 'lifecycle-test' });

  it('close is idempotent: every step runs once, later calls wait for the same run', async () => {
    const exits: number[] = [];
    const life = createLifecycle({ log, name: 't', handleSignals: false, exit: (c) => exits.push(c) });
    const ran: string[] = [];
    for (const n of ['a', 'b', 'c']) life.add(n, () => void ran.push(n));
    expect(life.signal.aborted).toBe(false);
    const [x, y] = [life.close(), life.close()];
    expect(life.signal.aborted).toBe(true);
    await Promise.all([x, y]);
    await life.close();
    expect(ran).toEqual(['c', 'b', 'a']);
    expect(exits).toEqual([]);
  });

  it('use hands back the resource and closes it; run exits with the code of its work', async () => {
    const exits: number[] = [];
    const life = createLifecycle({ log, name: 't', handleSignals: false, exit: (c) => exits.push(c) });
    const closed: string[] = [];
    const res = life.use('res', { id: 'r1' }, (r) => void closed.push(r.id));
    expect(res).toEqual({ id: 'r1' });
    void life.run(async () => 3);
    await waitFor('the run to exit', () => exits.length > 0);
    expect(exits).toEqual([3]);
    expect(closed).toEqual(['r1']);

    const failing = createLifecycle({ log, name: 't', handleSignals: false, exit: (c) => exits.push(c) });
    void failing.run(async () => {
      throw new Error('nope');
    });
    await waitFor('the failed run to exit', () => exits.length > 1);
    expect(exits).toEqual([3, 1]);
  });

  it('a resource opened after shutting down began is closed at once', async () => {
    const life = createLifecycle({ log, name: 't', handleSignals: false, exit: () => {} });
    await life.close();
    let closed = false;
    life.add('late', () => {
      closed = true;
    });
    await waitFor('the late resource to be closed', () => closed);
  });
});
