import type { Config, FaultPoint } from './config.ts';

/**
 * Fault injection for the crash tests of the creates: at the step FAULT_POINT names, the process
 * kills itself with SIGKILL, as abruptly as a machine that loses power (no handler runs, nothing
 * is flushed or closed). loadConfig refuses FAULT_POINT in production, so there this is a no-op.
 */
export function faultAt(config: Pick<Config, 'faultPoint'>, point: FaultPoint): void {
  if (config.faultPoint === point) process.kill(process.pid, 'SIGKILL');
}

export type { FaultPoint };
