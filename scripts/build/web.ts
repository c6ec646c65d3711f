/**
 * Bundles the pages in web/ into static files under dist/public: each page's script with its
 * imports (the typed client, the room-view helpers, lit-html, uPlot on the ops page) as one
 * minified ES module, its HTML and the shared stylesheet. Pages import protocol types only: the
 * build fails if the schema library (zod) reaches a page bundle. It reports each page's JS size,
 * raw and gzip.
 * The gateway serves only what is there (at /web/); nothing is compiled per request. Not
 * dist/web: that is where the server build puts the compiled typed client (web/client.ts),
 * which the seed imports.
 *
 *   npm run build:web          (npm run build runs it too)
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const webOut = resolve(root, 'dist/public');

/** Pages: the HTML file and the entry module it loads (as /web/<name>.js). */
export const pages = [
  { html: 'index.html', entry: 'app.ts' },
  { html: 'shop.html', entry: 'shop.ts' },
  { html: 'host.html', entry: 'host.ts' },
  { html: 'ops.html', entry: 'ops.ts' },
];

/** Static files copied as they are. */
const assets = ['style.css'];

/** Packages that must never reach a page bundle. */
const forbidden = [/node_modules\/zod\//];

export interface PageWeight {
  page: string;
  js: number;
  gzip: number;
}

export async function buildWeb(opts: { quiet?: boolean } = {}): Promise<{ files: Record<string, number>; weights: PageWeight[] }> {
  await rm(webOut, { recursive: true, force: true });
  await mkdir(webOut, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: pages.map((p) => resolve(root, 'web', p.entry)),
    outdir: webOut,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: opts.quiet ? 'silent' : 'warning',
  });
  for (const p of pages) await copyFile(resolve(root, 'web', p.html), resolve(webOut, p.html));
  for (const a of assets) await copyFile(resolve(root, 'web', a), resolve(webOut, a));
  const files: Record<string, number> = {};
  const weights: PageWeight[] = [];
  for (const [file, out] of Object.entries(result.metafile.outputs)) {
    files[file] = out.bytes;
    const bad = Object.keys(out.inputs).filter((i) => forbidden.some((re) => re.test(i)));
    if (bad.length) throw new Error(`${file} bundles ${bad[0]}: pages import protocol types only (import type)`);
    if (file.endsWith('.js')) weights.push({ page: basename(file), js: out.bytes, gzip: gzipSync(await readFile(resolve(root, file))).length });
  }
  await writeFile(resolve(webOut, 'manifest.json'), `${JSON.stringify({ builtAt: new Date().toISOString(), files, weights }, null, 2)}\n`);
  return { files, weights };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { weights } = await buildWeb();
  for (const w of weights) process.stdout.write(`${w.page.padEnd(10)} ${(w.js / 1024).toFixed(1).padStart(6)} KB  ${(w.gzip / 1024).toFixed(1).padStart(5)} KB gzip\n`);
}
