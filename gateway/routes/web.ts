import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LivesaleError } from '../../common/platform/errors.ts';
import type { Logger } from '../../common/platform/logger.ts';
import type { Router } from '../router.ts';

/**
 * The pages (web/), as built by `npm run build` into dist/public: static files, read once and kept
 * in memory. Nothing is compiled per request, and nothing outside dist/public is ever served.
 */

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The project root: the nearest folder above this module with a package.json (source or built). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('livesale: package.json not found above the gateway');
    dir = up;
  }
  return dir;
}

/** Where the built pages are: WEB_DIR if set, else dist/public of the project. */
function webDir(): string {
  return process.env.WEB_DIR ? resolve(process.env.WEB_DIR) : resolve(projectRoot(), 'dist/public');
}

/** `rel` decoded and resolved inside `dir`, never outside it; BAD_REQUEST or NOT_FOUND otherwise. */
function inside(dir: string, rel: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    throw new LivesaleError('BAD_REQUEST', 'the path is not valid percent-encoding');
  }
  const file = resolve(dir, decoded);
  if (!file.startsWith(dir + sep) || !types[extname(file)]) throw new LivesaleError('NOT_FOUND', 'no such file');
  return file;
}

/**
 * The pages' Content-Security-Policy: scripts only from this origin (the built page has no
 * inline script), connections (fetch, WebSocket) only to this origin, no plugins, no framing.
 * Styles allow 'unsafe-inline' because the page keeps its small stylesheet and a few style
 * attributes inline; a style cannot run code.
 */
export const pageCsp =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function registerWebRoutes(router: Router, deps: { log: Logger }): void {
  const dir = webDir();
  if (!existsSync(resolve(dir, 'index.html'))) deps.log.warn({ dir }, 'the pages are not built: run npm run build (the gateway answers 404 for them)');
  const cache = new Map<string, string>();

  async function serve(file: string): Promise<{ status: number; body: string; contentType: string; headers: Record<string, string> }> {
    let body = cache.get(file);
    if (body === undefined) {
      body = await readFile(file, 'utf8').catch(() => {
        throw new LivesaleError('NOT_FOUND', existsSync(dir) ? 'no such file' : 'the pages are not built (npm run build)');
      });
      cache.set(file, body);
    }
    return { status: 200, body, contentType: types[extname(file)]!, headers: { 'content-security-policy': pageCsp } };
  }

  router.route('get', '/', 'web.root', 'web.read', async () => ({ status: 302, body: '', headers: { location: '/web/' }, contentType: 'text/plain' }));
  router.route('get', '/web/', 'web.index', 'web.read', async () => serve(resolve(dir, 'index.html')));
  router.route('get', '/web/*', 'web.file', 'web.read', async (r) => serve(inside(dir, r.url.slice('/web/'.length))));
}
