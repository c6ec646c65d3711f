import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive, portOpen, stopPid, waitFor, which } from './proc.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const kafkaAssets = join(repoRoot, 'scripts', 'kafka');

/** The Kafka version in scripts/kafka/pom.xml. */
export const kafkaVersion = /<kafka\.version>([^<]+)</.exec(readFileSync(join(kafkaAssets, 'pom.xml'), 'utf8'))?.[1] ?? 'unknown';

/** Git-ignored cache for the fetched jars (override with LIVESALE_CACHE_DIR). */
export function cacheDir(): string {
  return process.env.LIVESALE_CACHE_DIR || join(repoRoot, '.cache');
}

export function kafkaLibsDir(): string {
  return join(cacheDir(), `kafka-${kafkaVersion}`, 'libs');
}

export const javaInstallHint =
  'Java 17+ was not found. Install a JRE (Debian/Ubuntu: `sudo apt-get install openjdk-17-jre-headless`), ' +
  'point KAFKA_BROKERS at a running Kafka, or use `docker-compose up` instead.';
export const mavenInstallHint =
  'Maven was not found; it fetches the Kafka broker from Maven Central once. Install it ' +
  '(Debian/Ubuntu: `sudo apt-get install maven`), point KAFKA_BROKERS at a running Kafka, or use `docker-compose up` instead.';

type Say = (line: string, transient?: boolean) => void;

/**
 * Fetches the broker's jars from Maven Central into the cache, once. Prints progress while Maven
 * downloads. Safe when two processes race: each fetches into its own directory and the first rename wins.
 */
export async function fetchKafka(say: Say = defaultSay): Promise<string> {
  const libs = kafkaLibsDir();
  if (existsSync(join(libs, '.complete'))) return libs;
  const mvn = which('mvn');
  if (!mvn) throw new Error(mavenInstallHint);
  const work = join(cacheDir(), `kafka-${kafkaVersion}`);
  mkdirSync(work, { recursive: true });
  copyFileSync(join(kafkaAssets, 'pom.xml'), join(work, 'pom.xml'));
  const tmp = join(work, `libs.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  say(`[kafka] fetching Apache Kafka ${kafkaVersion} from Maven Central (one time, about 65 MB with Maven's plugins) into ${relative(libs)}`);
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  const tail: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn(mvn, ['-B', `-Dmaven.repo.local=${join(cacheDir(), 'm2')}`, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        tail.push(line);
        if (tail.length > 40) tail.shift();
        const m = /Downloaded from \S+: \S+ \(([\d.]+) (B|kB|MB)/.exec(line);
        if (m) {
          files++;
          bytes += Number(m[1]) * (m[2] === 'MB' ? 1e6 : m[2] === 'kB' ? 1e3 : 1);
        }
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', onData);
    const tick = setInterval(() => say(`[kafka] fetched ${files} files, ${(bytes / 1e6).toFixed(1)} MB, ${Math.round((Date.now() - started) / 1000)} s`, true), 1000);
    p.on('error', (err) => {
      clearInterval(tick);
      reject(err);
    });
    p.on('close', (c) => {
      clearInterval(tick);
      resolve(c ?? 1);
    });
  });
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`[kafka] Maven could not fetch Kafka ${kafkaVersion} (exit ${code}). Is Maven Central reachable? Last output:\n${tail.join('\n')}`);
  }
  writeFileSync(join(tmp, '.complete'), new Date().toISOString());
  try {
    renameSync(tmp, libs);
  } catch {
    // Another process finished first; its copy is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
  }
  say(`[kafka] fetched ${files} files (${(bytes / 1e6).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libs;
}

export interface KafkaProcess {
  readonly brokers: string;
  readonly port: number;
  readonly controllerPort: number;
  readonly pid: number;
  readonly dir: string;
  /** SIGTERM (controlled shutdown) or SIGKILL. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface KafkaOptions {
  port: number;
  controllerPort: number;
  dir: string;
  heapMb?: number;
  say?: Say;
}

/**
 * Starts a single-node KRaft broker (broker and controller in one process) on loopback. The data
 * directory is formatted on first use and reused on restart (fault tests restart on the same data).
 */
export async function startKafka(opts: KafkaOptions): Promise<KafkaProcess> {
  const say = opts.say ?? defaultSay;
  const java = which('java', process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin')] : []);
  if (!java) throw new Error(javaInstallHint);
  const libs = await fetchKafka(say);
  mkdirSync(opts.dir, { recursive: true });
  const dataDir = join(opts.dir, 'data');
  const props = join(opts.dir, 'server.properties');
  writeFileSync(props, serverProperties(opts.port, opts.controllerPort, dataDir));
  const log4j = join(kafkaAssets, 'log4j2.properties');
  const cp = `${libs}/*`;
  const jvm = [`-Xms256m`, `-Xmx${opts.heapMb ?? 768}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, `-Dkafka.logs.dir=${opts.dir}`];
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = kafkaClusterId();
    const r = await runJava(java, [...jvm, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props]);
    if (r.code !== 0) throw new Error(`[kafka] formatting ${dataDir} failed:\n${r.out}`);
  }
  const logFile = join(opts.dir, 'kafka.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(java, [...jvm, '-cp', cp, 'kafka.Kafka', props], { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('[kafka] could not start java');
  const startedAt = Date.now();
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };
  try {
    await waitFor(`the Kafka broker on port ${opts.port} (log: ${logFile})`, async () => {
      if (!pidAlive(pid)) throw new Error(`the broker exited during start-up:\n${logTail()}`);
      return (await portOpen('127.0.0.1', opts.port)) && /Kafka Server started/.test(readFileSync(logFile, 'utf8'));
    }, 90_000, 100);
  } catch (err) {
    await stopPid(pid, 2000);
    throw err;
  }
  say(`[kafka] broker ${kafkaVersion} ready on 127.0.0.1:${opts.port} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  return {
    brokers: `127.0.0.1:${opts.port}`,
    port: opts.port,
    controllerPort: opts.controllerPort,
    pid,
    dir: opts.dir,
    async stop(signal = 'SIGTERM') {
      if (signal === 'SIGKILL') {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
      } else {
        await stopPid(pid, 30_000);
      }
    },
  };
}

/** Starts a stopped private broker again on the same ports and data. */
export function restartKafka(k: KafkaProcess, say?: Say): Promise<KafkaProcess> {
  return startKafka({ port: k.port, controllerPort: k.controllerPort, dir: k.dir, say: say ?? (() => {}) });
}

function serverProperties(port: number, controllerPort: number, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'min.insync.replicas=1',
    '',
  ].join('\n');
}

/** A Kafka cluster id: 16 random bytes, base64url, not starting with '-'. */
function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function runJava(java: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function relative(p: string): string {
  return p.startsWith(repoRoot) ? p.slice(repoRoot.length) : p;
}

let lastQuietProgress = 0;

/** Progress on stderr: rewritten in place on a terminal, one line every 5 s otherwise. */
export function defaultSay(line: string, transient = false): void {
  if (transient) {
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
    else if (Date.now() - lastQuietProgress >= 5000) {
      lastQuietProgress = Date.now();
      process.stderr.write(`${line}\n`);
    }
    return;
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${line}\n`);
}
