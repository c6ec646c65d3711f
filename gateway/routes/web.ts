import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LivesaleError } from '../../common/errors.ts';
import type { GatewayContext } from '../context.ts';

/**
 * The demo page (web/): a shopper, host console and ops view of a room, built on the typed
 * client. TypeScript files are served as JavaScript modules, stripped of their types on first
 * request (with the typescript package, present in development installs); zod is served from
 * node_modules for the protocol module.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const dirs = { web: resolve(root, 'web'), gateway: resolve(root, 'gateway'), zod: resolve(root, 'node_modules/zod') };
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.ts': 'text/javascript; charset=utf-8',
};
/** The only gateway modules a page may load. */
const gatewayModules = new Set(['client.ts', 'protocol.ts']);

type Transpile = (source: string, file: string) => string;
let transpiler: Promise<Transpile | undefined> | undefined;

function loadTranspiler(): Promise<Transpile | undefined> {
  transpiler ??= import('typescript').then(
    (m) => {
      const ts = (m as { default?: typeof import('typescript') }).default ?? (m as unknown as typeof import('typescript'));
      return (source: string, file: string) =>
        ts.transpileModule(source, { fileName: file, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } }).outputText;
    },
    () => undefined,
  );
  return transpiler;
}

/** A file under `dir`, never outside it; NOT_FOUND otherwise. */
function inside(dir: string, rel: string): string {
  const file = resolve(dir, rel);
  if (!file.startsWith(dir + sep) || !types[extname(file)]) throw new LivesaleError('NOT_FOUND', 'no such file');
  return file;
}

export function registerWebRoutes(ctx: GatewayContext): void {
  const cache = new Map<string, string>();

  async function serve(file: string): Promise<{ status: number; body: string; contentType: string }> {
    const ext = extname(file);
    let body = cache.get(file);
    if (body === undefined) {
      const source = await readFile(file, 'utf8').catch(() => {
        throw new LivesaleError('NOT_FOUND', 'no such file');
      });
      if (ext === '.ts') {
        const transpile = await loadTranspiler();
        if (!transpile) throw new LivesaleError('NOT_FOUND', 'the demo page needs the typescript package (a development install)');
        body = transpile(source, file);
      } else body = source;
      cache.set(file, body);
    }
    return { status: 200, body, contentType: types[ext]! };
  }

  ctx.route('get', '/', 'web.root', async () => ({ status: 302, body: '', headers: { location: '/web/' }, contentType: 'text/plain' }));
  ctx.route('get', '/web/', 'web.index', async () => serve(resolve(dirs.web, 'index.html')));
  ctx.route('get', '/web/*', 'web.file', async (r) => serve(inside(dirs.web, decodeURIComponent(r.url.slice('/web/'.length)))));
  ctx.route('get', '/gateway/*', 'web.module', async (r) => {
    const name = r.url.slice('/gateway/'.length);
    if (!gatewayModules.has(name)) throw new LivesaleError('NOT_FOUND', 'no such module');
    return serve(inside(dirs.gateway, name));
  });
  ctx.route('get', '/vendor/zod/*', 'web.zod', async (r) => {
    const rel = decodeURIComponent(r.url.slice('/vendor/zod/'.length));
    if (!rel.endsWith('.js')) throw new LivesaleError('NOT_FOUND', 'no such file');
    return serve(inside(dirs.zod, rel));
  });
}
