import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { collectEndpoints, endpointDocs } from '../../scripts/protocol-docs.ts';
import { startSystem, type System } from '../helpers/system.ts';
import { hostWithRoom, openWindow, rawSocket } from './support.ts';

/**
 * Generated from the protocol: every HTTP endpoint and every WebSocket message type the route
 * modules register (the same recording the protocol documents are made from, so a new route is
 * covered without touching this file), with bodies built from its zod schema - valid ones, and
 * ones with one field replaced by a hostile value. Asserts: never a 5xx, never an INTERNAL error
 * frame or a 1011 close, and a refusal changes nothing (the room document and version, every
 * item's counters in Redis, which is where ledger rows come from).
 *
 * PROPERTY_RUNS sets the number of generated requests (half HTTP, half WebSocket).
 */

const runs = Number(process.env.PROPERTY_RUNS ?? 600);

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ wsMessageRate: 100_000, userMessageRate: 100_000, hostCommandRate: 100_000 });
});
afterAll(async () => {
  await sys?.stop();
});

type Json = { [k: string]: unknown };

/** Values that have broken input handling somewhere: out-of-range numbers, bad text, wrong types. */
const hostile = fc.constantFrom<unknown>(
  8.7e15, 2 ** 53 - 1, 2 ** 53, -1, 0, 1.5, -0, 1e308, 'a\u0000b', '\ud800', '\udc00x', '', ' ', 'x'.repeat(5000), null, true, [], {}, { $gt: '' }, '1', '%E0%A4%A', '__proto__',
);

/** A fast-check arbitrary of values valid for a JSON Schema (the subset zod emits for the protocol). */
function arb(s: Json, ctx: { ids: string[] }): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const union = (s.oneOf ?? s.anyOf) as Json[] | undefined;
  if (union) return fc.oneof(...union.map((u) => arb(u, ctx)));
  if (Array.isArray(s.allOf)) return arb(s.allOf[0] as Json, ctx);
  switch (s.type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Json>;
      const required = (s.required ?? []) as string[];
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) rec[k] = k.toLowerCase().endsWith('id') && v.pattern ? fc.oneof(fc.constantFrom(...ctx.ids), arb(v, ctx)) : arb(v, ctx);
      return fc.record(rec, { requiredKeys: required });
    }
    case 'array':
      return fc.array(arb((s.items ?? {}) as Json, ctx), { minLength: (s.minItems as number) ?? 0, maxLength: Math.min((s.maxItems as number) ?? 5, 5) });
    case 'integer': {
      const min = (s.minimum as number) ?? -1e9;
      const max = (s.maximum as number) ?? 1e9;
      // Near now for times, so that valid sale windows are common.
      if (max === Date.UTC(2100, 0, 1)) return fc.oneof(fc.integer({ min: Date.now() - 60_000, max: Date.now() + 3_600_000 }), fc.integer({ min, max }));
      return fc.oneof(fc.integer({ min, max: Math.min(max, min + 100) }), fc.integer({ min, max }));
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      if (typeof s.pattern === 'string') return fc.stringMatching(new RegExp(s.pattern));
      return fc.string({ minLength: (s.minLength as number) ?? 0, maxLength: Math.min((s.maxLength as number) ?? 50, 50) });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

const built = new Map<z.ZodType, fc.Arbitrary<unknown>>();

/** Valid bodies of `schema`, and the same with one field replaced by a hostile value or dropped (built once per schema). */
function bodies(schema: z.ZodType, ctx: { ids: string[] }): fc.Arbitrary<unknown> {
  let a = built.get(schema);
  if (!a) built.set(schema, (a = buildBodies(schema, ctx)));
  return a;
}

function buildBodies(schema: z.ZodType, ctx: { ids: string[] }): fc.Arbitrary<unknown> {
  const valid = arb(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json, ctx);
  const mutated = fc.tuple(valid, fc.nat(), hostile, fc.boolean()).map(([v, i, bad, drop]) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad;
    const keys = Object.keys(v);
    if (!keys.length) return { [String(i)]: bad };
    const out: Json = { ...(v as Json) };
    const k = keys[i % keys.length]!;
    if (drop) delete out[k];
    else out[k] = bad;
    return out;
  });
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 5, arbitrary: mutated }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
}

it(`${runs} generated requests to every endpoint and message type: never a 5xx, never a change on refusal`, async () => {
  const { http, roomId, token: hostToken } = await hostWithRoom(sys, 'prop-host');
  const flash = await http.addItem(roomId, { title: 'Flash', price: 1000, stock: 1_000_000, perUserLimit: 10_000, ...openWindow() });
  const group = (await http.command(roomId, { command: 'openGroup', title: 'Group', basePrice: 1000, stock: 1_000_000, perUserLimit: 10_000, tiers: [{ threshold: 5, price: 500 }], endsAt: Date.now() + 3_600_000 })).data as { item: { id: string } };
  const items = [flash.id, group.item.id];
  const ctx = { ids: [...items, roomId, 'nope'] };
  const tokens = { shopper: await sys.token('shopper', 'prop-shopper'), host: hostToken, ops: await sys.token('ops', 'prop-ops'), none: '' };

  /**
   * What a refusal must leave as it was, read from Redis where commands write it: the room
   * document and its version, and every item's counters (holds, sales, versions: what the outbox
   * and then the ledger are made of). The log offset is not compared: stock ticks append to it on
   * their own schedule after earlier accepted buys.
   */
  const fingerprint = async () => {
    const room = await sys.gateway.context.store.get(roomId);
    const counters = await Promise.all(items.map((id) => sys.redis.hgetall(sys.keys.item(id).item)));
    return JSON.stringify({ v: room?.version, doc: room?.doc, counters });
  };

  const { routes, messages } = collectEndpoints();
  expect(routes.length).toBeGreaterThan(10);
  expect(messages.length).toBeGreaterThan(5);
  const fill = (pattern: string, pick: number) =>
    pattern
      .replace(':roomId', pick % 5 === 4 ? 'nope' : roomId)
      .replace(':itemId', items[pick % 2]!)
      .replace(':showId', String(pick % 3))
      .replace('*', ['app.js', 'index.html', '..%2Fpackage.json', '%', 'x'][pick % 5]!);

  const httpCase = fc.tuple(fc.constantFrom(...routes), fc.nat(), fc.constantFrom(...(Object.keys(tokens) as (keyof typeof tokens)[]))).chain(([route, pick, who]) => {
    const schema = endpointDocs[route.name]?.body;
    return (schema ? bodies(schema, ctx) : fc.option(fc.jsonValue({ maxDepth: 2 }))).map((body) => ({ route, path: fill(route.pattern, pick), who, body }));
  });
  const wsCase = fc.tuple(fc.constantFrom(...messages), fc.constantFrom('shopper', 'host', 'ops' as const)).chain(([m, who]) => bodies(m.schema, ctx).map((body) => ({ m, who, body })));

  let sent = 0;
  const started = performance.now();
  let refused = 0;
  const statuses = new Map<number, number>();
  const httpRuns = Math.ceil(runs / 2);
  for (const c of fc.sample(httpCase, { numRuns: httpRuns, seed: Number(process.env.PROPERTY_SEED ?? 20261201) })) {
    const before = await fingerprint();
    const method = c.route.method === 'del' ? 'DELETE' : c.route.method.toUpperCase();
    const res = await fetch(`${sys.baseUrl}${c.path}`, {
      method,
      redirect: 'manual',
      headers: { ...(tokens[c.who] ? { authorization: `Bearer ${tokens[c.who]}` } : {}), ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      body: method === 'GET' || c.body === null ? undefined : JSON.stringify(c.body),
    });
    const text = await res.text();
    sent++;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect(res.status, `${method} ${c.path} ${JSON.stringify(c.body)?.slice(0, 300)}: ${text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400) {
      refused++;
      expect(await fingerprint(), `${method} ${c.path} ${JSON.stringify(c.body)?.slice(0, 300)} changed state on refusal`).toBe(before);
    }
  }

  const httpDone = performance.now();
  const sockets = new Map<string, WebSocket & { frames: string[] }>();
  const socket = async (who: 'shopper' | 'host' | 'ops') => {
    let s = sockets.get(who);
    if (!s || s.readyState !== WebSocket.OPEN) {
      s = await rawSocket(sys.baseUrl, roomId, tokens[who]);
      s.on('close', (code) => expect(code, `socket of ${who}`).not.toBe(1011));
      sockets.set(who, s);
    }
    return s;
  };
  let seq = 0;
  for (const c of fc.sample(wsCase, { numRuns: runs - httpRuns, seed: Number(process.env.PROPERTY_SEED ?? 20261201) + 1 })) {
    const s = await socket(c.who);
    const before = await fingerprint();
    const reqId = `p${seq++}`;
    const body = typeof c.body === 'object' && c.body !== null && !Array.isArray(c.body) ? { ...(c.body as Json), reqId } : c.body;
    const from = s.frames.length;
    s.send(JSON.stringify(body));
    sent++;
    // The answer: the frame echoing our reqId, or (for a body that is not an object) the next error.
    const answer = await new Promise<Json>((resolve, reject) => {
      const look = () => {
        for (const raw of s.frames.slice(from)) {
          const f = JSON.parse(raw) as Json;
          if (f.reqId === reqId || (body !== c.body ? false : f.type === 'error')) return resolve(f);
        }
        if (s.readyState !== WebSocket.OPEN) return reject(new Error(`socket closed on ${JSON.stringify(body).slice(0, 200)}`));
        setTimeout(look, 1);
      };
      look();
    });
    expect(answer.code, `${JSON.stringify(body).slice(0, 300)}: ${JSON.stringify(answer).slice(0, 300)}`).not.toBe('INTERNAL');
    if (answer.type === 'error') {
      refused++;
      expect(await fingerprint(), `${JSON.stringify(body).slice(0, 300)} changed state on refusal`).toBe(before);
    }
  }
  for (const s of sockets.values()) s.close();
  console.log(`property: ${sent} requests (${httpRuns} HTTP, ${runs - httpRuns} WebSocket), ${refused} refused; HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}; HTTP ${Math.round(httpDone - started)} ms, WebSocket ${Math.round(performance.now() - httpDone)} ms`);
  expect(sent).toBe(runs);
  expect(await sys.gateway.registry.metrics()).not.toMatch(/livesale_handler_errors_total\{[^}]*\} [1-9]/);
}, 3_600_000);
