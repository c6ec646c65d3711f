import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon, { type Options, type Result } from 'autocannon';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Extra Node flags for the processes a benchmark starts, e.g. `--cpu-prof` (BENCH_NODE_ARGS). */
export const extraNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Starts a TypeScript entry point in its own process; resolves with the first stdout line. */
/**
 * Starts a benchmark server in its own process and resolves with the first line it prints that
 * is not a JSON log line (its port). Log lines go on to stderr. The child exits if this process
 * dies (LIVESALE_PARENT_PID), so a failed run never leaves a server behind.
 */
export function startProcess(entry: string, env: Record<string, string>): Promise<{ proc: ChildProcess; firstLine: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...extraNodeArgs, '--import', 'tsx', entry], {
      cwd: repoRoot,
      env: { ...process.env, ...env, LIVESALE_PARENT_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    let ready = false;
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (ready || line.startsWith('{')) {
          if (line) process.stderr.write(`${line}\n`);
        } else if (line) {
          ready = true;
          resolve({ proc, firstLine: line });
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`${entry} exited with ${code} before it was ready`)));
  });
}

export function stopProcess(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
  });
}

export function cannon(opts: Options): Promise<Result> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    let last = Date.now();
    inst.on('tick', () => {
      if (Date.now() - last > 2000 && process.stderr.isTTY) {
        last = Date.now();
        process.stderr.write('.');
      }
    });
  });
}

export interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export function row(name: string, r: Result): Row {
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

export function printTable(rows: Row[]): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`${pad('endpoint', 44)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('non-2xx', 9)}errors`);
  for (const r of rows) console.log(`${pad(r.name, 44)}${pad(r.rps.toFixed(0), 10)}${pad(String(r.p50), 9)}${pad(String(r.p99), 9)}${pad(String(r.non2xx), 9)}${r.errors}`);
}
