import type { Logger } from './logger.ts';

/**
 * One per process: every resource is registered right after it is opened, and on SIGINT,
 * SIGTERM, the supervisor's exit or an uncaught error they are closed in reverse order (what
 * was opened last depends on what was opened first), each within a time bound, each step
 * logged; then the process exits. A second signal exits at once. A close that fails or hangs
 * is logged and the next one still runs.
 */
export interface Lifecycle {
  /** Registers `close` as the step `name`; it runs before every step registered earlier. */
  add(name: string, close: () => unknown, opts?: { readonly timeoutMs?: number }): void;
  /** Registers `close(resource)` and hands the resource back: `const db = life.use('postgres', createDb(), (d) => d.destroy())`. */
  use<T>(name: string, resource: T, close: (resource: T) => unknown, opts?: { readonly timeoutMs?: number }): T;
  /** Closes everything (once; later calls wait for the same run). Does not exit. */
  close(why?: string): Promise<void>;
  /** Closes everything, then exits with `code`. */
  shutdown(why: string, code?: number): Promise<never>;
  /** Runs a one-shot command: its result is the exit code (default 0); a throw logs and exits 1. */
  run(main: () => Promise<unknown>): Promise<never>;
  /** Aborted as soon as shutting down starts, for loops and waits to stop early. */
  readonly signal: AbortSignal;
}

export interface LifecycleOptions {
  readonly log: Logger;
  /** The process, in the log lines. */
  readonly name: string;
  /** Bound of a step that names none (default 10 s). */
  readonly stepTimeoutMs?: number;
  /** Install the signal, parent and uncaught-error handlers (default true). */
  readonly handleSignals?: boolean;
  /** How to end the process (tests of the lifecycle itself pass their own). */
  readonly exit?: (code: number) => void;
}

interface Step {
  readonly name: string;
  readonly close: () => unknown;
  readonly timeoutMs: number;
}

export function createLifecycle(opts: LifecycleOptions): Lifecycle {
  const { log, name } = opts;
  const stepTimeoutMs = opts.stepTimeoutMs ?? 10_000;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const steps: Step[] = [];
  const stopping = new AbortController();
  let closing: Promise<void> | undefined;

  const runStep = async (step: Step): Promise<void> => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), step.timeoutMs);
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(step.close), timedOut]);
      if (outcome === 'timeout') log.warn({ process: name, step: step.name, timeoutMs: step.timeoutMs }, 'close step timed out; going on');
      else log.info({ process: name, step: step.name, ms: Date.now() - started }, 'closed');
    } catch (err) {
      log.error({ process: name, step: step.name, err }, 'close step failed; going on');
    } finally {
      clearTimeout(timer);
    }
  };

  const life: Lifecycle = {
    add(stepName, close, o) {
      steps.push({ name: stepName, close, timeoutMs: o?.timeoutMs ?? stepTimeoutMs });
      // Opened while shutting down (startup raced a signal): the run in progress has passed it.
      if (closing) void runStep(steps.pop()!);
    },
    use(stepName, resource, close, o) {
      life.add(stepName, () => close(resource), o);
      return resource;
    },
    close(why = 'closed') {
      if (closing) return closing;
      stopping.abort();
      log.info({ process: name, why, steps: steps.length }, 'shutting down');
      closing = (async () => {
        while (steps.length) await runStep(steps.pop()!);
        log.info({ process: name }, 'shut down');
      })();
      return closing;
    },
    async shutdown(why, code = 0) {
      await life.close(why);
      exit(code);
      // Only reached when `exit` does not end the process.
      return new Promise<never>(() => {});
    },
    async run(main) {
      let code = 0;
      try {
        const r = await main();
        code = typeof r === 'number' ? r : 0;
      } catch (err) {
        log.error({ process: name, err }, 'failed');
        code = 1;
      }
      return life.shutdown('done', code);
    },
    signal: stopping.signal,
  };

  if (opts.handleSignals ?? true) {
    const onSignal = (why: string, code: number) => {
      if (closing) {
        log.warn({ process: name, why }, 'second signal: exiting now');
        exit(code || 130);
        return;
      }
      void life.shutdown(why, code);
    };
    // Started by a supervisor (npm start) in its own process group: stop when the supervisor is gone.
    whenParentExits(() => onSignal('parent exited', 0));
    process.on('SIGINT', () => onSignal('SIGINT', 0));
    process.on('SIGTERM', () => onSignal('SIGTERM', 0));
    // An error thrown while closing (a socket's late error event) must not cut the closing short:
    // it is logged, and the run in progress exits when done (each step is bounded).
    const onError = (why: string) => (err: unknown) => {
      log.fatal({ process: name, err }, why);
      if (!closing) void life.shutdown(why, 1);
    };
    process.on('uncaughtException', onError('uncaught exception'));
    process.on('unhandledRejection', onError('unhandled rejection'));
  }
  return life;
}

/**
 * Calls `then` once the process named by LIVESALE_PARENT_PID (a supervisor or a benchmark
 * harness) is gone; by default exits. Does nothing when the variable is not set.
 */
export function whenParentExits(then: () => void = () => process.exit(0)): void {
  const parent = Number(process.env.LIVESALE_PARENT_PID);
  if (!(parent > 0)) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      clearInterval(timer);
      then();
    }
  }, 1000);
  timer.unref();
}
