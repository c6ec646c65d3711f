import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger of a process; components take a child with their own bindings. */
export function createLogger(opts: { level: string; name: string; nodeId?: string }): Logger {
  return pino({
    level: opts.level,
    name: opts.name,
    base: opts.nodeId ? { node: opts.nodeId } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
