import { pino, type Logger } from 'pino';

export type { Logger };

/** The root logger of a process; components take a child with their own bindings. */
export function createLogger(opts: { level: string; name: string; nodeId?: string; /** Log to stderr (commands whose stdout is their output). */ stderr?: boolean }): Logger {
  const options = {
    level: opts.level,
    name: opts.name,
    base: opts.nodeId ? { node: opts.nodeId } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.stderr ? pino(options, pino.destination({ fd: 2, sync: true })) : pino(options);
}
