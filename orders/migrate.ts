import { Migrator, sql, type Kysely } from 'kysely';
import { migrations } from './migrations/index.ts';

/**
 * Creates the schema if needed and runs every pending migration (Postgres takes an advisory
 * lock, so several replicas may boot at once). Throws with the failing migration's name.
 */
export async function migrateToLatest(db: Kysely<any>, schema: string): Promise<string[]> {
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
    // Migration names carry per-area number ranges (01xx, 02xx, 03xx, …) on the same date, so a
    // database migrated yesterday may meet a new migration that sorts before its last one.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${why}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
