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

it('the demo page and its modules are served (TypeScript as JavaScript), nothing outside them', async () => {
  expect(await get('/')).toMatchObject({ status: 302, location: '/web/' });
  const page = await get('/web/');
  expect(page.status).toBe(200);
  expect(page.type).toMatch(/text\/html/);
  expect(page.body).toContain('/web/app.ts');
  const app = await get('/web/app.ts');
  expect(app.type).toMatch(/javascript/);
  expect(app.body).toContain("from '../gateway/client.ts'");
  expect(app.body).not.toMatch(/import type|: HTMLElement|as HTMLInputElement/);
  const client = await get('/gateway/client.ts');
  expect(client.status).toBe(200);
  expect(client.body).toContain('export class RoomSocket');
  expect(client.body).not.toMatch(/readonly status: number/);
  expect((await get('/gateway/protocol.ts')).body).toContain("from 'zod'");
  expect((await get('/vendor/zod/index.js')).status).toBe(200);
  for (const path of ['/gateway/server.ts', '/gateway/auth.ts', '/web/..%2Fcommon%2Fconfig.ts', '/vendor/zod/..%2F..%2Fpackage.json', '/web/nope.ts']) {
    const r = await get(path);
    expect(r.status, path).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe('NOT_FOUND');
  }
});
