import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createDbFromConfig } from '../../common/contracts/ledger-schema.ts';
import { Keys } from '../../common/contracts/keys.ts';
import { createLogger } from '../../common/platform/logger.ts';
import { createRedis } from '../../common/platform/redis.ts';
import { Auth } from '../../gateway/auth.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { HttpClient } from '../../web/client.ts';
import { testConfig } from '../helpers/namespace.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const secret = 'a-test-secret-a-test-secret-a-test-secret';

function outcome(auth: Auth, token: string): string {
  try {
    auth.verifyNow(token);
    return 'accepted';
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
}

describe('access tokens: only the canonical form verifies', () => {
  it('refuses junk after the signature, padding, other spellings of the same bytes and unknown critical headers', async () => {
    const auth = new Auth(secret);
    const good = await new Auth(secret).issue('alice', 'shopper');
    const [h, p, sig] = good.split('.') as [string, string, string];
    // The last character of a 32-byte signature carries 2 unused bits: flip one to get a second
    // spelling that decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    const twin = `${sig.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
    const hs = (header: object, payload: string) => {
      const hh = Buffer.from(JSON.stringify(header)).toString('base64url');
      return `${hh}.${payload}.${createHmac('sha256', secret).update(`${hh}.${payload}`).digest('base64url')}`;
    };
    const cases: Record<string, string> = {
      'junk appended to the signature': `${good}junk`,
      'one character appended': `${good}A`,
      'padding on the signature': `${good}=`,
      'another spelling of the signature': `${h}.${p}.${twin}`,
      'standard base64 characters': `${h}.${p}.${sig.replaceAll('-', '+').replaceAll('_', '/')}${sig.includes('-') || sig.includes('_') ? '' : '+'}`,
      'whitespace inside': `${h}.${p}.${sig.slice(0, 5)} ${sig.slice(5)}`,
      'critical extension header': hs({ alg: 'HS256', typ: 'JWT', crit: ['exp'], exp: 1 }, p),
      'unencoded payload header': hs({ alg: 'HS256', b64: false, crit: ['b64'] }, p),
    };
    // Verified first, so a cached good token cannot mask the refusals below.
    for (const [name, t] of Object.entries(cases)) expect(outcome(auth, t), name).toBe('UNAUTHENTICATED');
    expect(outcome(auth, good)).toBe('accepted');
    expect(outcome(auth, hs({ alg: 'HS256', typ: 'JWT' }, p))).toBe('accepted');
    for (const [name, t] of Object.entries(cases)) expect(outcome(auth, t), `${name}, after the good one`).toBe('UNAUTHENTICATED');
  });
});

/** Runs an entry point to its exit; its output and exit code. */
function runToExit(entry: string, env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const clean = { ...process.env, ...env };
    for (const [k, v] of Object.entries(clean)) if (v === undefined) delete clean[k];
    const proc = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

describe('a missing JWT_SECRET outside development', () => {
  it('stops the gateway and the writer at start with CONFIG_INVALID', async () => {
    const production = { LIVESALE_ENV: undefined, JWT_SECRET: undefined, PORT: '0', LOG_LEVEL: 'info' };
    const [gateway, writer] = await Promise.all([runToExit('scripts/gateway.ts', production), runToExit('scripts/writer.ts', production)]);
    for (const r of [gateway, writer]) {
      expect(r.code, r.out).not.toBe(0);
      expect(r.code, r.out).not.toBeNull();
      expect(r.out).toContain('CONFIG_INVALID');
      expect(r.out).toContain('JWT_SECRET');
    }
  });

  it('docker-compose takes the secret from the environment, with no default, and no demo tokens', () => {
    const compose = readFileSync(`${root}docker-compose.yml`, 'utf8');
    const line = compose.split('\n').find((l) => /^\s*JWT_SECRET:/.test(l));
    expect(line).toMatch(/^\s*JWT_SECRET: \$\{JWT_SECRET:\?[^}]+\}\s*$/);
    expect(compose).not.toMatch(/^\s*DEMO_AUTH:/m);
    expect(compose).not.toMatch(/LIVESALE_ENV/);
  });
});

describe('/readyz names the dependency that is down, not its address or the driver message', () => {
  let gateway: Gateway | undefined;
  const config = testConfig({ databaseUrl: 'postgres://ledger-user:hunter2@127.0.0.1:1/livesale' });
  const redis = createRedis(config);
  const db = createDbFromConfig(config, 2);
  afterAll(async () => {
    await gateway?.close({ drainMs: 100 });
    redis.disconnect();
    await db.destroy();
  });

  it('answers 503 with postgres down and redis up', async () => {
    gateway = await startGateway({ config, log: createLogger({ level: 'silent', name: 'readyz' }), redis, db, keys: new Keys(config.keyPrefix) });
    const r = await new HttpClient(`http://127.0.0.1:${gateway.port}`).request('GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ ready: false, redis: 'up', postgres: 'down' });
    const text = JSON.stringify(r.body);
    for (const secretish of ['127.0.0.1', ':1', 'hunter2', 'ledger-user', 'ECONNREFUSED', 'connect']) expect(text).not.toContain(secretish);
  });
});
