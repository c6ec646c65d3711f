/**
 * The production build, into dist/:
 *   - every process (scripts/gateway.ts, relay, writer, sweeper, audit, report, seed-main) and what
 *     it imports, compiled by tsc (tsconfig.build.json) to plain JavaScript in the source layout;
 *   - the Lua scripts next to the modules that load them (they are found relative to
 *     import.meta.url, so dist/inventory/lua and dist/gateway/lua);
 *   - the pages, bundled by esbuild into dist/public (web.ts).
 * What it writes runs on `node` with production dependencies only: `node dist/scripts/gateway.js`.
 *
 *   npm run build
 */
import { spawnSync } from 'node:child_process';
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './web.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const distDir = resolve(root, 'dist');

/** Folders of files read at run time, copied as they are (source folder = target folder under dist/). */
const assetDirs = ['inventory/lua', 'gateway/lua'];

/** The built entry points; the build fails if one is missing. */
export const entries = ['gateway', 'relay', 'writer', 'sweeper', 'audit', 'report', 'seed-main'].map((n) => `scripts/${n}.js`);

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

export async function build(say: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const t0 = performance.now();
  await rm(distDir, { recursive: true, force: true });

  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (${r.signal ?? r.status})`);
  say(`[build] processes compiled into dist/ (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  for (const dir of assetDirs) {
    await cp(resolve(root, dir), resolve(distDir, dir), { recursive: true });
    say(`[build] ${dir} copied (${await countFiles(resolve(distDir, dir))} files)`);
  }

  const { files } = await buildWeb({ quiet: true });
  const bytes = Object.values(files).reduce((a, b) => a + b, 0);
  say(`[build] pages bundled into dist/public (${Object.keys(files).length} files, ${(bytes / 1024).toFixed(1)} KB)`);

  for (const e of entries) {
    const s = await stat(join(distDir, e)).catch(() => undefined);
    if (!s?.isFile()) throw new Error(`the build did not produce dist/${e}`);
  }
  say(`[build] done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await build();
  } catch (err) {
    process.stderr.write(`[build] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
