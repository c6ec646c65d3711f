import { Migrator, sql, type Kysely } from 'kysely';
import { migrations } from './migrations/index.ts';
import { backoffMs, defaultRetry, sleep, type RetryPolicy } from '../common/platform/retry.ts';

/**
 * The Postgres advisory lock this project holds around its schema changes (migrating a schema,
 * dropping one). Kysely's migrator reads the catalog of every schema before it takes its own
 * lock, and that read fails when another schema is changed meanwhile.
 */
export const ddlLockKey = 1_818_851_941;

/** Runs `f` while holding the DDL lock (on a connection of its own; `f` uses the pool's others). */
export async function withDdlLock<T>(db: Kysely<any>, f: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${ddlLockKey})`.execute(conn);
    try {
      return await f();
    } finally {
      await sql`SELECT pg_advisory_unlock(${ddlLockKey})`.execute(conn);
    }
  });
}

/**
 * Creates the schema if needed and runs every pending migration, under the DDL lock (so several
 * replicas may boot at once). Throws with the failing migration's name.
 */
export async function migrateToLatest(db: Kysely<any>, schema: string): Promise<string[]> {
  return withDdlLock(db, () => migrateUnlocked(db, schema));
}

/**
 * A racing schema change is over within moments: six tries over a few seconds. Not scaled down
 * under test, where schemas are created and dropped the most.
 */
const catalogRetry: RetryPolicy = Object.freeze({ ...defaultRetry, initialMs: 200, maxMs: 1000, retries: 6 });

async function migrateUnlocked(db: Kysely<any>, schema: string): Promise<string[]> {
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
    // Migration names carry per-area number ranges (01xx, 02xx, 03xx, …) on the same date, so a
    // database migrated yesterday may meet a new migration that sorts before its last one.
    allowUnorderedMigrations: true,
  });
  let { error, results } = await migrator.migrateToLatest();
  // Schema changes made outside the DDL lock (by hand, by another program) can still fail the
  // migrator's catalog listing before anything ran here: try again after a short, jittered pause.
  // (Not `retry()`: the migrator reports failure as a value, and only a listing that ran nothing
  // may be repeated.)
  for (let attempt = 0; attempt < catalogRetry.retries && isCatalogRace(error) && !results?.length; attempt++) {
    await sleep(backoffMs(attempt, catalogRetry));
    ({ error, results } = await migrator.migrateToLatest());
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${why}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The SQLSTATEs a catalog listing gets when a schema changes under it: undefined_table (42P01),
 * undefined_column (42703), invalid_schema_name (3F000), and internal_error (XX000), which is
 * what Postgres raises as "cache lookup failed" for a relation dropped between its catalog scan
 * and its lookup. XX000 names no cause more precisely; it stays because it is retried only here,
 * only while nothing has been migrated, and at most six times, so a real internal error still
 * surfaces within a few seconds.
 */
const catalogRaceCodes: ReadonlySet<unknown> = new Set(['42P01', '42703', '3F000', 'XX000']);

function isCatalogRace(err: unknown): boolean {
  return catalogRaceCodes.has(typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined);
}
