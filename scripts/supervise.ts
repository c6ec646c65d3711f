/**
 * Supervision of long-running child processes (what `npm start` runs its services with).
 *
 * Each service is started in order. A service that exits while nobody asked it to is restarted
 * after a backoff delay (common/platform/retry.ts), and one line says which service, how it
 * ended (exit code or signal), which restart this is and after what delay. A run that lasted
 * `stableMs` counts as healthy and starts the backoff over. A service that crashes `crashes`
 * times within `windowMs` is not restarted again: the supervisor stops the others in reverse
 * start order and settles `done` with 1, so its owner can clean up and exit non-zero.
 *
 * `stop()` stops every service in reverse start order: SIGTERM, then SIGKILL once `graceMs` has
 * passed; a service that has already exited (by a signal or a code) or is waiting for its restart
 * is not waited for at all. `kill()` sends SIGKILL to whatever still runs (a second Ctrl-C).
 */
import type { ChildProcess } from 'node:child_process';
import { createBackoff, retryPolicy, type Backoff, type RetryPolicy } from '../common/platform/retry.ts';

export interface Service {
  readonly name: string;
  /** Starts one run of the service (called again for each restart). */
  spawn(): ChildProcess;
}

export interface SupervisorOptions {
  readonly services: readonly Service[];
  /** Where the restart, give-up and stop lines go. */
  readonly say: (line: string) => void;
  /** Delays between restarts (default: from 500 ms, doubling, capped at 10 s). */
  readonly restart?: RetryPolicy;
  /** A service crashing this many times within `windowMs` is given up on (default 5 in 60 s). */
  readonly crashes?: number;
  readonly windowMs?: number;
  /** A run that lasted this long starts the backoff over (default 30 s). */
  readonly stableMs?: number;
  /** How long a service may take to exit after SIGTERM before it gets SIGKILL (default 15 s: a gateway drains for up to SHUTDOWN_DRAIN_MS first). */
  readonly graceMs?: number;
  /** The prefix of every line (default "[start]"). */
  readonly prefix?: string;
}

/** How one run of a service ended. */
export interface Ending {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Supervisor {
  /**
   * Settles once the supervisor is finished: 0 after `stop()`, 1 after a service spent its
   * crash budget (the others stopped by then).
   */
  readonly done: Promise<number>;
  /** Why the supervisor gave up, once it has. */
  readonly failure: string | undefined;
  /** The pid of a service's current run, if it is running. */
  pid(name: string): number | undefined;
  /** Restarts so far, per service. */
  restarts(name: string): number;
  /** Stops every service in reverse start order (once; later calls wait for the same run). */
  stop(): Promise<void>;
  /** SIGKILL to every service still running; a `stop()` in progress then ends at once. */
  kill(): void;
}

interface Slot {
  readonly service: Service;
  readonly backoff: Backoff;
  /** Crash times within the window. */
  crashes: number[];
  restarts: number;
  proc?: ChildProcess;
  /** Settles when the current run has exited. */
  exited?: Promise<Ending>;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
}

/** "exit code 1" or "signal SIGKILL": a child killed by a signal has no exit code. */
export function describeEnding(e: Ending): string {
  return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
}

export function supervise(opts: SupervisorOptions): Supervisor {
  const say = (line: string) => opts.say(`${opts.prefix ?? '[start]'} ${line}`);
  const policy = opts.restart ?? retryPolicy({ initialMs: 500, maxMs: 10_000 });
  const budget = opts.crashes ?? 5;
  const windowMs = opts.windowMs ?? 60_000;
  const stableMs = opts.stableMs ?? 30_000;
  const graceMs = opts.graceMs ?? 15_000;
  const slots: Slot[] = opts.services.map((service) => ({ service, backoff: createBackoff(policy), crashes: [], restarts: 0, startedAt: 0 }));
  let stopping: Promise<void> | undefined;
  let failure: string | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const run = (slot: Slot): void => {
    slot.restartTimer = undefined;
    // A restart that came due while stopping (a service stopped later in the order) is dropped.
    if (stopping) return;
    let proc: ChildProcess;
    try {
      proc = slot.service.spawn();
    } catch (err) {
      // Could not even start (a missing executable, say): a crash like any other.
      const message = err instanceof Error ? err.message : String(err);
      say(`${slot.service.name} could not start: ${message}`);
      crashed(slot, { code: null, signal: null });
      return;
    }
    slot.proc = proc;
    slot.startedAt = Date.now();
    slot.exited = new Promise<Ending>((resolve) => {
      // 'error' without 'exit' (the spawn itself failed) ends the run too.
      let ended = false;
      const end = (e: Ending) => {
        if (ended) return;
        ended = true;
        if (slot.proc === proc) slot.proc = undefined;
        resolve(e);
        if (!stopping) crashed(slot, e);
      };
      proc.once('exit', (code, signal) => end({ code, signal }));
      proc.on('error', (err) => {
        if (proc.pid === undefined) {
          say(`${slot.service.name} could not start: ${err.message}`);
          end({ code: null, signal: null });
        }
      });
    });
  };

  const crashed = (slot: Slot, e: Ending): void => {
    const now = Date.now();
    const name = slot.service.name;
    if (slot.startedAt && now - slot.startedAt >= stableMs) slot.backoff.reset();
    slot.crashes = slot.crashes.filter((t) => now - t < windowMs);
    slot.crashes.push(now);
    if (slot.crashes.length >= budget) {
      failure = `${name} crashed ${slot.crashes.length} times within ${Math.round(windowMs / 1000)} s (last: ${describeEnding(e)}); not restarting it again`;
      say(`${failure}: stopping the others`);
      void stop().then(() => finish(1));
      return;
    }
    const delay = Math.round(slot.backoff.next());
    slot.restarts++;
    say(`${name} exited unexpectedly (${describeEnding(e)}); restart ${slot.restarts} in ${delay} ms`);
    slot.restartTimer = setTimeout(() => run(slot), delay);
  };

  const stopOne = async (slot: Slot): Promise<void> => {
    if (slot.restartTimer) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
    }
    const proc = slot.proc;
    if (!proc || !slot.exited) return;
    const name = slot.service.name;
    const kill = setTimeout(() => {
      say(`${name} did not stop within ${graceMs} ms of SIGTERM; killing it`);
      proc.kill('SIGKILL');
    }, graceMs);
    proc.kill('SIGTERM');
    const e = await slot.exited;
    clearTimeout(kill);
    say(`${name} stopped (${describeEnding(e)})`);
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const slot of [...slots].reverse()) await stopOne(slot);
    })();
    return stopping;
  };

  for (const slot of slots) run(slot);

  return {
    done,
    get failure() {
      return failure;
    },
    pid: (name) => slots.find((s) => s.service.name === name)?.proc?.pid,
    restarts: (name) => slots.find((s) => s.service.name === name)?.restarts ?? 0,
    stop: () =>
      stop().then(() => {
        if (!failure) finish(0);
      }),
    kill() {
      for (const s of slots) s.proc?.kill('SIGKILL');
    },
  };
}

export interface ExitPlanOptions {
  /** Where the shutdown lines go. */
  readonly say: (line: string) => void;
  /** Runs in every exit path, after the services have stopped (the stack cleanup). */
  readonly cleanup: () => Promise<void>;
  /** Called just before exiting (a status timer to clear, say). */
  readonly beforeStop?: () => void;
  /** Ends the process (default process.exit). */
  readonly exit?: (code: number) => void;
  /** The prefix of every line (default "[start]"). */
  readonly prefix?: string;
}

export interface ExitPlan {
  /** Stops the supervised services, runs the cleanup, exits with `code` (once; later calls wait for the same run). */
  shutdown(code: number, why?: string): Promise<never>;
  /** The services to stop on the way out; a supervisor that gives up shuts everything down with its code. */
  attach(supervisor: Supervisor): void;
  /** Whether shutting down has begun (startup steps check it and stop early). */
  readonly stopping: boolean;
}

/**
 * The one way a supervising process ends. SIGINT or SIGTERM once: stop the services in reverse
 * order, run the cleanup, exit 0. A second signal: SIGKILL to the services (the cleanup still
 * runs). A third: exit at once with 130. An uncaught error, a failed startup (`shutdown(1)`) or
 * a service given up on: the same path with a non-zero code.
 */
export function exitPlan(opts: ExitPlanOptions): ExitPlan {
  const say = (line: string) => opts.say(`${opts.prefix ?? '[start]'} ${line}`);
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let supervisor: Supervisor | undefined;
  let stopping: Promise<never> | undefined;
  let signals = 0;
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

  const shutdown = (code: number, why?: string): Promise<never> => {
    stopping ??= (async () => {
      opts.beforeStop?.();
      say(`shutting down${why ? ` (${why})` : ''} …`);
      try {
        await supervisor?.stop();
      } catch (err) {
        say(`stopping the services failed: ${message(err)}`);
        code ||= 1;
      }
      try {
        await opts.cleanup();
      } catch (err) {
        say(`cleanup failed: ${message(err)}`);
        code ||= 1;
      }
      if (supervisor?.failure) {
        code ||= 1;
        say(`exiting with code ${code}: ${supervisor.failure}`);
      }
      say('bye');
      exit(code);
      return new Promise<never>(() => {});
    })();
    return stopping;
  };

  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals === 1) return void shutdown(0, name);
    if (signals === 2) {
      say(`${name} again: killing the services`);
      supervisor?.kill();
      return;
    }
    exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('uncaughtException', (err) => {
    say(err.stack ?? err.message);
    void shutdown(1, 'uncaught exception');
  });
  process.on('unhandledRejection', (err) => {
    say(err instanceof Error ? (err.stack ?? err.message) : String(err));
    void shutdown(1, 'unhandled rejection');
  });

  return {
    shutdown,
    attach(s) {
      supervisor = s;
      void s.done.then((code) => {
        if (code !== 0) void shutdown(code, 'a service kept crashing');
      });
      // Shutting down began before the services started: stop them too.
      if (stopping) void s.stop();
    },
    get stopping() {
      return stopping !== undefined;
    },
  };
}
