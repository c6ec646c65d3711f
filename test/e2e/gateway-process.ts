import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../common/platform/config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayProcess {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  readonly log: string[];
  /** SIGKILL: the node vanishes without a goodbye. */
  kill(): Promise<void>;
  /** SIGTERM: the node drains and exits. */
  stop(): Promise<void>;
}

/** The environment that gives a gateway process this configuration. */
export function envOf(config: Config, nodeId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: config.redisUrl,
    DATABASE_URL: config.databaseUrl,
    DATABASE_SCHEMA: config.databaseSchema,
    KAFKA_BROKERS: config.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: config.kafkaTopicPrefix,
    KEY_PREFIX: config.keyPrefix,
    JWT_SECRET: config.jwtSecret,
    HOST: '127.0.0.1',
    PORT: '0',
    NODE_ID: nodeId,
    LOG_LEVEL: 'info',
    ROOM_TICK_MS: String(config.roomTickMs),
    ROOM_SLICE_MS: String(config.roomSliceMs),
    STOCK_TICK_MS: String(config.stockTickMs),
    WS_MESSAGE_RATE: String(config.wsMessageRate),
    USER_MESSAGE_RATE: String(config.userMessageRate),
    WS_ADMISSION_RATE: String(config.wsAdmissionRate),
    HOST_COMMAND_RATE: String(config.hostCommandRate),
    WS_BACKPRESSURE_BYTES: String(config.wsBackpressureBytes),
    MAX_PAYLOAD_BYTES: String(config.maxPayloadBytes),
    ...extra,
  };
}

/** Starts `scripts/gateway.ts` as its own process; resolves once it listens. */
export function startGatewayProcess(config: Config, nodeId: string, extra: Record<string, string> = {}): Promise<GatewayProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/gateway.ts'], {
      cwd: root,
      env: { ...process.env, ...envOf(config, nodeId, extra) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    let buf = '';
    let started = false;
    const onLine = (line: string) => {
      log.push(line);
      if (started) return;
      try {
        const j = JSON.parse(line) as { msg?: string; port?: number };
        if (j.msg === 'gateway listening' && j.port) {
          started = true;
          const port = j.port;
          resolve({
            proc,
            port,
            baseUrl: `http://127.0.0.1:${port}`,
            log,
            async kill() {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
              await exited;
            },
            async stop() {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
              await exited;
            },
          });
        }
      } catch {
        /* not a JSON line */
      }
    };
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code, signal) => {
      if (!started) reject(new Error(`gateway ${nodeId} exited (${signal ?? code}) before listening:\n${log.slice(-20).join('\n')}`));
    });
  });
}
