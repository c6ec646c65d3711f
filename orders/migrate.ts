import { Migrator, sql, type Kysely } from 'kysely';
import { migrations } from './migrations/index.ts';

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
  for (let attempt = 1; attempt <= 6 && isCatalogRace(error) && !results?.length; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 100));
    ({ error, results } = await migrator.migrateToLatest());
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${why}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** undefined_table, undefined_column, invalid_schema_name, or "cache lookup failed" on a dropped relation. */
function isCatalogRace(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '42P01' || code === '42703' || code === '3F000' || (code === 'XX000' && /cache lookup failed/.test(String((err as Error).message)));
}
