/**
 * The show review report on the command line:
 *   npm run report -- <showId> [--format text|json|csv] [--part summary|products|minutes|schedule|top|lotteries]
 *   npm run report -- --room <roomId>      the current show of a room (live, else next planned, else latest)
 *   npm run report                          the most recent shows
 * Reads the ledger at DATABASE_URL / DATABASE_SCHEMA (common/platform/config.ts).
 */
import { parseArgs } from 'node:util';
import { createDbFromConfig } from '../common/contracts/ledger-schema.ts';
import { loadConfig } from '../common/platform/config.ts';
import { LivesaleError } from '../common/platform/errors.ts';
import { createLifecycle } from '../common/platform/lifecycle.ts';
import { createLogger } from '../common/platform/logger.ts';
import { migrateToLatest } from '../orders/migrate.ts';
import { buildReport, parseCsvPart, reportCsv, reportText } from '../orders/report.ts';
import { listShows, requireShow, showOfRoom } from '../orders/shows.ts';

const usage = 'usage: npm run report -- <showId> [--format text|json|csv] [--part summary|products|minutes|schedule|top|lotteries] | --room <roomId>';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { format: { type: 'string', default: 'text' }, part: { type: 'string' }, room: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const config = loadConfig();
// Logs go to stderr, and only warnings: stdout is the report.
const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'report', stderr: true });
const life = createLifecycle({ log, name: 'report' });
const db = life.use('postgres', createDbFromConfig(config, 2), (d) => d.destroy());
await life.run(async () => {
  try {
    const format = values.format!;
    if (!['text', 'json', 'csv'].includes(format)) throw new LivesaleError('INVALID_ARGUMENT', `--format must be text, json or csv\n${usage}`);
    const part = format === 'csv' ? parseCsvPart(values.part ?? null) : undefined;
    await migrateToLatest(db, config.databaseSchema);
    const showId = positionals[0];
    if (!showId && !values.room) {
      const shows = await listShows(db);
      if (shows.length === 0) console.log('no shows yet (npm start seeds a demo show)');
      else {
        console.log('recent shows (npm run report -- <id>):');
        for (const s of shows) console.log(`  ${s.id.padStart(6)}  room ${s.roomId.padEnd(6)}  ${new Date(s.plannedStart).toISOString().slice(0, 16).replace('T', ' ')} UTC  ${s.state.padEnd(7)}  ${s.title}`);
      }
    } else {
      const show = values.room ? await showOfRoom(db, values.room) : await requireShow(db, showId!);
      if (!show) throw new LivesaleError('SHOW_NOT_FOUND', `room ${values.room} has no show`);
      const report = await buildReport(db, show);
      process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : format === 'csv' ? reportCsv(report, part!) : reportText(report));
    }
    return 0;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    console.error(`${e.code ?? 'ERROR'}: ${e.message ?? String(err)}`);
    return e.code === 'SHOW_NOT_FOUND' || e.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
});
