import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageCsp } from '../../gateway/routes/web.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostWithRoom } from './support.ts';

/**
 * HTTP framing and headers: HEAD answers like GET without a body, every response says nosniff,
 * pages carry a CSP, a body that is not JSON is 415 and changes nothing, oversize headers close
 * the connection cleanly, and an aborted body settles its request.
 */

let sys: System;
beforeAll(async () => {
  sys = await startSystem();
});
afterAll(async () => {
  await sys?.stop();
});

/** Raw bytes over one TCP connection; resolves with everything the server sent until it closed or `until` held. */
function raw(port: number, data: string | Buffer, until?: (got: string) => boolean): Promise<{ got: string; error?: string }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    let got = '';
    let error: string | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ got, ...(error ? { error } : {}) });
    };
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (until?.(got)) finish();
    });
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', finish);
    s.write(data);
  });
}

describe('HEAD', () => {
  it('answers like GET: same status and headers, the content-length of the body, no body; the next response on the connection is read correctly', async () => {
    const { roomId } = await hostWithRoom(sys, 'framing-host');
    for (const path of ['/healthz', `/rooms/${roomId}`, '/web/', '/web/app.js', '/nowhere']) {
      const get = await fetch(`${sys.baseUrl}${path}`);
      const getBody = Buffer.from(await get.arrayBuffer());
      // Two requests, one after the other, on one keep-alive connection: HEAD, then GET
      // /healthz. A HEAD answered with a body would be read as the start of the second response.
      const got = await conversation(sys.gateway.port, [`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'], (g) => /"ok":true/.test(g));
      const [headPart, second] = splitResponses(got);
      expect(headPart.status, path).toBe(get.status);
      expect(headPart.headers['content-type'], path).toBe(get.headers.get('content-type'));
      expect(Number(headPart.headers['content-length']), path).toBe(getBody.length);
      expect(headPart.headers['x-content-type-options'], path).toBe('nosniff');
      expect(headPart.body, path).toBe('');
      expect(second?.status, path).toBe(200);
      expect(second?.body, path).toContain('"ok":true');
    }
  });
});

/**
 * Writes each request on one connection once the answer to the previous one has its header
 * block (and the settle time of the server's writes has passed: answers are read as they come),
 * resolving with all bytes received once `done` holds.
 */
function conversation(port: number, requests: string[], done: (got: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    let sent = 0;
    const next = () => s.write(requests[sent++]!);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (sent === requests.length && done(got)) {
        s.destroy();
        resolve(got);
      } else if (sent < requests.length && (got.match(/\r\n\r\n/g) ?? []).length >= sent) next();
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    next();
  });
}

/** Splits raw HTTP/1.1 responses (content-length framed) into status, headers and body. */
function splitResponses(got: string) {
  const out: { status: number; headers: Record<string, string>; body: string }[] = [];
  let rest = got;
  let first = true;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const lines = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    // The first response answers HEAD: its content-length describes a body that is not sent.
    const len = first ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status: Number(lines[0]!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + len) });
    rest = rest.slice(end + 4 + len);
    first = false;
  }
  return out as [(typeof out)[0], (typeof out)[0] | undefined];
}

describe('headers', () => {
  it('every response says nosniff and no-referrer; pages carry the CSP, which allows no inline script', async () => {
    for (const path of ['/healthz', '/rooms/nope', '/nowhere', '/web/', '/web/app.js', '/web/%', '/metrics']) {
      const r = await fetch(`${sys.baseUrl}${path}`, { redirect: 'manual' });
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    const page = await fetch(`${sys.baseUrl}/web/`);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(pageCsp);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    // The page works under it: every script is external, from this origin, and nothing runs inline.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/web\/[^"]+"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('a body that is not declared JSON is 415 UNSUPPORTED_MEDIA_TYPE and is not processed', async () => {
    const token = await sys.token('host', 'media-host');
    const count = async () => Number((await sys.db.selectFrom('rooms').select(sys.db.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', undefined]) {
      const res = await fetch(`${sys.baseUrl}/rooms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...(type ? { 'content-type': type } : {}) },
        body: type === undefined ? new Blob([JSON.stringify({ title: 'sneaky' })]) : JSON.stringify({ title: 'sneaky' }),
      });
      expect(res.status, String(type)).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code, String(type)).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await count()).toBe(before);
    // JSON with parameters, and the +json suffix, are JSON.
    for (const type of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
      const res = await fetch(`${sys.baseUrl}/rooms`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: JSON.stringify({ title: 'fine' }) });
      expect(res.status, type).toBe(201);
    }
  });
});

describe('oversize headers', () => {
  // This uWS build has no 431 and no setting for its header limits: its parser refuses a header
  // block past its buffer, or past its header count, by closing the connection before any route
  // runs. What a client sees is checked here: never a response byte (no partial or wrong answer),
  // the connection closed, the gateway serving the next client. 500 small headers arrive whole and
  // the close is a clean FIN; of a 1 MiB header the kernel still holds unread bytes when uWS
  // closes, so the client sees a reset (ECONNRESET) - what any server closing mid-request gives.
  it('a 1 MiB header and 500 headers close that connection without a response; the gateway keeps serving', async () => {
    const big = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`;
    const many = `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 500 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`;
    const cases = [
      ['1 MiB header', big, [undefined, 'ECONNRESET', 'EPIPE']],
      ['500 headers', many, [undefined]],
    ] as const;
    for (const [name, req, endings] of cases) {
      const r = await raw(sys.gateway.port, req);
      expect(r.got, name).toBe('');
      expect(endings as readonly (string | undefined)[], name).toContain(r.error);
      const ok = await fetch(`${sys.baseUrl}/healthz`);
      expect(ok.status, name).toBe(200);
    }
  });
});

describe('pipelining', () => {
  const healthz = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

  it('requests whose answers are ready at once are answered in order on one connection', async () => {
    const { got } = await raw(sys.gateway.port, healthz + healthz + healthz, (g) => (g.match(/"ok":true/g) ?? []).length === 3);
    const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 200, 200]);
  });

  // The HTTP server refuses to queue a pipelined request behind one still waiting for its answer
  // (it closes the connection before any route sees the second request; no option changes it):
  // what a client sees is checked here, as docs/protocol.md describes it. Never a partial or
  // mixed-up answer, never a connection left hanging, the gateway serving the next client, and the
  // same requests answered when sent one after the other on one connection.
  it('a request pipelined behind one that waits for the store closes the connection without an answer to either; the gateway keeps serving', async () => {
    const unknownRoom = 'GET /rooms/no-such-room HTTP/1.1\r\nHost: x\r\n\r\n';
    const token = await sys.token('host', 'pipeline-host');
    const body = JSON.stringify({ title: 'pipelined' });
    const post = `POST /rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    for (const [name, first] of [
      ['unknown room', unknownRoom],
      ['POST', post],
    ] as const) {
      const r = await raw(sys.gateway.port, first + healthz);
      expect(r.got, name).toBe('');
      expect([undefined, 'ECONNRESET'], name).toContain(r.error);
      expect((await fetch(`${sys.baseUrl}/healthz`)).status, name).toBe(200);
      // One after the other on one keep-alive connection: both answered.
      const got = await conversation(sys.gateway.port, [first, healthz], (g) => /"ok":true/.test(g));
      const statuses = [...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      expect(statuses, name).toEqual([name === 'POST' ? 201 : 404, 200]);
    }
  });
});

describe('aborted requests', () => {
  it('a POST whose body never completes settles: in-flight returns to its level and shutdown does not wait for it', async () => {
    const local = await startSystem();
    try {
      const token = await local.token('host', 'abort-host');
      const level = local.gateway.inFlight;
      const sockets: Socket[] = [];
      for (let i = 0; i < 5; i++) {
        const s = connect(local.gateway.port, '127.0.0.1');
        await new Promise<void>((r) => s.once('connect', () => r()));
        s.on('error', () => {});
        s.write(`POST /rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"title":"`);
        sockets.push(s);
      }
      // The requests are in flight while their bodies are incomplete...
      await waitFor('the requests to be in flight', () => local.gateway.inFlight >= level + 5);
      for (const s of sockets) s.destroy();
      // ...and settle when their clients go away.
      await waitFor('in-flight to return to its level', () => local.gateway.inFlight === level);
      // Shutdown with a drain time far beyond the test's: it completes because nothing is left
      // in flight, not because the drain time ran out.
      const { drained } = await local.gateway.close({ drainMs: 30_000 });
      expect(drained).toBe(true);
    } finally {
      await local.stop();
    }
  });
});
