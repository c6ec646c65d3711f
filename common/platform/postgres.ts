import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';

// bigint columns come back from pg as strings; ids stay strings, amounts are converted where read.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export interface DbOptions {
  url: string;
  schema: string;
  max?: number;
}

/** A kysely instance whose connections resolve unqualified names in `schema`. */
export function createDb<DB>(opts: DbOptions): Kysely<DB> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    options: `-c search_path=${opts.schema}`,
    application_name: 'livesale',
  });
  pool.on('error', () => {
    // An idle client lost its connection (server restart); the pool replaces it on next use.
  });
  pool.on('connect', (client) => {
    // A checked-out client can lose its connection between two queries (a server restart);
    // without a listener that 'error' would crash the process. Its next query fails instead,
    // the caller retries, and the pool drops the client when it is released.
    client.on('error', () => {});
  });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
