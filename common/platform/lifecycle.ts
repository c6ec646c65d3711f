import type { Logger } from './logger.ts';

/**
 * Runs `stop` once on SIGINT or SIGTERM, then exits. A second signal exits at once.
 * Uncaught errors are logged and end the process through the same path.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const run = (why: string, code: number) => {
    if (stopping) {
      log.warn({ why }, 'second signal: exiting now');
      process.exit(code || 130);
    }
    stopping = true;
    log.info({ why }, 'shutting down');
    stop().then(
      () => process.exit(code),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Started by a supervisor (npm start) in its own process group: stop when the supervisor is gone.
  whenParentExits(() => run('parent exited', 0));
  process.on('SIGINT', () => run('SIGINT', 0));
  process.on('SIGTERM', () => run('SIGTERM', 0));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    run('uncaughtException', 1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    run('unhandledRejection', 1);
  });
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
