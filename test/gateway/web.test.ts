import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSystem, type System } from '../helpers/system.ts';

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

const get = async (path: string) => {
  const r = await fetch(`${sys.baseUrl}${path}`, { redirect: 'manual' });
  return { status: r.status, type: r.headers.get('content-type') ?? '', location: r.headers.get('location'), body: await r.text() };
};

it('the built page and its bundle are served, nothing outside them, and no TypeScript', async () => {
  expect(await get('/')).toMatchObject({ status: 302, location: '/web/' });
  const page = await get('/web/');
  expect(page.status).toBe(200);
  expect(page.type).toMatch(/text\/html/);
  expect(page.body).toContain('/web/app.js');
  const app = await get('/web/app.js');
  expect(app.status).toBe(200);
  expect(app.type).toMatch(/javascript/);
  // One bundle (the landing page: links to the three pages), with no import left to resolve.
  expect(app.body).toContain('shop.html');
  expect(app.body).not.toMatch(/^import\s|from\s*["']zod["']/m);
  for (const path of ['/web/app.ts', '/web/client.ts', '/gateway/server.ts', '/common/contracts/protocol.ts', '/web/..%2Fpackage.json', '/web/..%2F..%2Fpackage.json', '/vendor/zod/index.js', '/web/nope.js']) {
    const r = await get(path);
    expect(r.status, path).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe('NOT_FOUND');
  }
  for (const path of ['/web/%', '/web/%E0%A4%A']) {
    const r = await get(path);
    expect(r.status, path).toBe(400);
    expect(JSON.parse(r.body).error.code).toBe('BAD_REQUEST');
  }
});

it('the shopper page, the host console and the ops dashboard are served with their bundles and stylesheets, without the schema library', async () => {
  for (const [page, js] of [
    ['shop.html', 'shop.js'],
    ['host.html', 'host.js'],
    ['ops.html', 'ops.js'],
  ] as const) {
    const html = await get(`/web/${page}`);
    expect(html.status, page).toBe(200);
    expect(html.type).toMatch(/text\/html/);
    expect(html.body).toContain(`/web/${js}`);
    expect(html.body).toContain('/web/style.css');
    const bundle = await get(`/web/${js}`);
    expect(bundle.status, js).toBe(200);
    expect(bundle.type).toMatch(/javascript/);
    // The typed client is inside, with no import left to resolve.
    expect(bundle.body).toContain('/rooms/');
    expect(bundle.body).not.toMatch(/^import\s/m);
    // Pages import protocol types only: zod's own error class never reaches a page.
    expect(bundle.body).not.toMatch(/ZodError|\$ZodType/);
  }
  expect((await get('/web/style.css')).type).toMatch(/text\/css/);
  expect((await get('/web/ops.css')).body).toContain('.uplot');
  // The marketing tools' styles are bundled into the host console's and the ops dashboard's sheets.
  expect((await get('/web/host.html')).body).toContain('/web/host.css');
  expect((await get('/web/host.css')).body).toContain('.offer-form');
  expect((await get('/web/ops.css')).body).toContain('.mkt-card');
});
