import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { isRoot, runAs, stopPid, waitFor, which } from './proc.ts';

export interface PostgresProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
}

export const postgresInstallHint =
  'PostgreSQL server binaries (initdb, pg_ctl) were not found. Install PostgreSQL 15+ ' +
  '(Debian/Ubuntu: `sudo apt-get install postgresql`), point DATABASE_URL at a running server, ' +
  'or use `docker-compose up` instead.';

function pgBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

function pgBin(name: string): string {
  const bin = which(name, pgBinDirs());
  if (!bin) throw new Error(postgresInstallHint);
  return bin;
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
function serverUser(): string | undefined {
  if (!isRoot()) return undefined;
  try {
    return userInfo().username === 'root' ? 'postgres' : undefined;
  } catch {
    return 'postgres';
  }
}

function chownTree(dir: string, user: string): void {
  const r = runAs(undefined, 'chown', ['-R', `${user}:`, dir]);
  if (r.status !== 0) throw new Error(`chown ${dir} failed: ${r.out}`);
}

/**
 * Starts a private PostgreSQL on loopback with a throwaway data directory (trust auth, fsync off:
 * it is for development and tests). The database `livesale` is created.
 */
export async function startPostgres(opts: { port: number; dir: string; database?: string }): Promise<PostgresProcess> {
  const initdb = pgBin('initdb');
  const pgctl = pgBin('pg_ctl');
  const user = serverUser();
  const dataDir = join(opts.dir, 'data');
  mkdirSync(opts.dir, { recursive: true });
  if (user) {
    chownSync(opts.dir, 0, 0);
    chownTree(opts.dir, user);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const r = runAs(user, initdb, ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    if (r.status !== 0) throw new Error(`initdb failed:\n${r.out}`);
  }
  const logFile = join(opts.dir, 'postgres.log');
  if (user && !existsSync(logFile)) {
    writeFileSync(logFile, '');
    chownTree(logFile, user);
  }
  const serverOpts = `-p ${opts.port} -k ${opts.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const r = runAs(user, pgctl, ['-D', dataDir, '-o', serverOpts, '-l', logFile, '-w', '-t', '60', 'start']);
  if (r.status !== 0) throw new Error(`pg_ctl start failed:\n${r.out}\n${safeTail(logFile)}`);
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const database = opts.database ?? 'livesale';
  const adminUrl = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await waitFor(`PostgreSQL on port ${opts.port}`, async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.end();
    return true;
  }, 30_000);
  await ensureDatabase(adminUrl, database);
  return {
    url: `postgres://postgres@127.0.0.1:${opts.port}/${database}`,
    port: opts.port,
    pid,
    dir: opts.dir,
    async stop(mode = 'fast') {
      const s = runAs(user, pgctl, ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
      if (s.status !== 0) await stopPid(pid);
    },
  };
}

/** Starts a stopped private server again on the same data directory (used by fault tests). */
export async function restartPostgres(p: PostgresProcess): Promise<PostgresProcess> {
  return startPostgres({ port: p.port, dir: p.dir, database: new URL(p.url).pathname.slice(1) });
}

/** Creates `database` if the server at adminUrl does not have it yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(database)) throw new Error(`refusing to create database with name ${database}`);
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      try {
        await c.query(`CREATE DATABASE "${database}"`);
      } catch (err) {
        // Two processes may race to create it; losing the race is fine.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await c.end();
  }
}

function safeTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
