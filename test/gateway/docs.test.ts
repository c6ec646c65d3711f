import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { collectEndpoints, docsDir, endpointDocs, expectedFiles, messageDocs } from '../../scripts/protocol-docs.ts';
import { commandNames, serverFrameSchemas } from '../../common/contracts/protocol.ts';

it('every registered HTTP endpoint and WebSocket message is described', () => {
  const { routes, messages } = collectEndpoints();
  expect(routes.length).toBeGreaterThan(10);
  expect(routes.filter((r) => !endpointDocs[r.name]).map((r) => r.name)).toEqual([]);
  expect(messages.filter((m) => !messageDocs[m.type]).map((m) => m.type)).toEqual([]);
  const md = readFileSync(`${docsDir}protocol.md`, 'utf8');
  for (const r of routes) expect(md).toContain(`${r.method.toUpperCase()} ${r.pattern}`);
  for (const m of messages) expect(md).toContain(`#### \`${m.type}\``);
  for (const c of commandNames) expect(md).toContain(`#### \`${c}\``);
  for (const f of Object.keys(serverFrameSchemas)) expect(md).toContain(`#### \`${f}\``);
});

it('the generated documents (JSON Schema, AsyncAPI, OpenAPI, the reference in protocol.md) are current: npm run protocol:docs', () => {
  for (const [name, content] of Object.entries(expectedFiles())) {
    expect(readFileSync(`${docsDir}${name}`, 'utf8'), `docs/${name} is stale: run npm run protocol:docs`).toBe(content);
  }
  const openApi = JSON.parse(readFileSync(`${docsDir}openapi.json`, 'utf8')) as { paths: Record<string, unknown> };
  expect(Object.keys(openApi.paths)).toContain('/rooms/{roomId}/commands');
  const asyncApi = JSON.parse(readFileSync(`${docsDir}asyncapi.json`, 'utf8')) as { components: { messages: Record<string, unknown> } };
  expect(Object.keys(asyncApi.components.messages)).toEqual(expect.arrayContaining(['CommandMessage', 'SnapshotFrame', 'CatchupFrame']));
});
