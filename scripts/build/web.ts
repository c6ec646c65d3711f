/**
 * Bundles the pages in web/ into static files under dist/public: each page's script with its
 * imports (the typed client, the protocol schemas, zod) as one minified ES module, and its HTML.
 * The gateway serves only what is there (at /web/); nothing is compiled per request. Not
 * dist/web: that is where the server build puts the compiled typed client (web/client.ts),
 * which the seed imports.
 *
 *   npm run build:web          (npm run build runs it too)
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const webOut = resolve(root, 'dist/public');

/** Pages: the HTML file and the entry module it loads (as /web/<name>.js). */
const pages = [{ html: 'index.html', entry: 'app.ts' }];

export async function buildWeb(opts: { quiet?: boolean } = {}): Promise<{ files: Record<string, number> }> {
  await rm(webOut, { recursive: true, force: true });
  await mkdir(webOut, { recursive: true });
  const result = await build({
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
  const files: Record<string, number> = {};
  for (const [file, out] of Object.entries(result.metafile.outputs)) files[file] = out.bytes;
  await writeFile(resolve(webOut, 'manifest.json'), `${JSON.stringify({ builtAt: new Date().toISOString(), files }, null, 2)}\n`);
  return { files };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files } = await buildWeb();
  for (const [file, bytes] of Object.entries(files)) process.stdout.write(`${file}  ${(bytes / 1024).toFixed(1)} KB\n`);
}
