import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import uWS from 'uWebSockets.js';
import { expect, it } from 'vitest';
import { LivesaleError } from '../../common/platform/errors.ts';
import { assertNativeUws } from '../../gateway/uws-native.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('the native addon passes; the JavaScript fallback is refused with CONFIG_INVALID', () => {
  expect(() => assertNativeUws(uWS)).not.toThrow();
  const fallback = createRequire(import.meta.url)('uWebSockets.js/dist/index.js') as object;
  let err: unknown;
  try {
    assertNativeUws(fallback);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LivesaleError);
  expect((err as LivesaleError).code).toBe('CONFIG_INVALID');
  expect((err as LivesaleError).message).toMatch(/native addon/);
  expect((err as LivesaleError).details).toMatchObject({ abi: process.versions.modules, node: process.version });
});

it('a gateway process on the fallback (UWS_USE_FALLBACK=1) exits with CONFIG_INVALID and never listens', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/gateway.ts'], {
    cwd: root,
    env: { ...process.env, UWS_USE_FALLBACK: '1', HOST: '127.0.0.1', PORT: '0', JWT_SECRET: 'x'.repeat(32), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  expect(code).not.toBe(0);
  expect(out).toContain('CONFIG_INVALID');
  expect(out).toContain('did not load its native addon');
  expect(out).not.toContain('gateway listening');
});
