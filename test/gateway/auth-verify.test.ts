import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Auth } from '../../gateway/auth.ts';

const secret = 'a-test-secret-a-test-secret-a-test-secret';
const key = new TextEncoder().encode(secret);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
  return 'accepted';
}

async function token(claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: number; secretKey?: Uint8Array } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject('alice')
    .setIssuer(opts.iss ?? 'livesale')
    .setAudience(opts.aud ?? 'livesale')
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 60)
    .sign(opts.secretKey ?? key);
}

describe('access token verification (synchronous, used at WebSocket upgrade)', () => {
  it('accepts its own tokens and caches them', async () => {
    const auth = new Auth(secret);
    const t = await auth.issue('alice', 'shopper');
    expect(auth.verifyNow(t)).toMatchObject({ sub: 'alice', role: 'shopper' });
    expect(auth.verifyNow(t)).toBe(auth.verifyNow(t));
    await expect(auth.verify(t)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('refuses forged, unsigned, foreign, expired and malformed tokens with UNAUTHENTICATED', async () => {
    const auth = new Auth(secret);
    const good = await token({ role: 'shopper' });
    const [h, p] = good.split('.');
    const cases: Record<string, string> = {
      missing: '',
      'another secret': await token({ role: 'shopper' }, { secretKey: new TextEncoder().encode('x'.repeat(40)) }),
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
      'payload swapped': `${h}.${b64({ sub: 'mallory', role: 'ops', iss: 'livesale', aud: 'livesale', exp: 9_999_999_999 })}.${good.split('.')[2]}`,
      'other issuer': await token({ role: 'shopper' }, { iss: 'someone' }),
      'other audience': await token({ role: 'shopper' }, { aud: 'someone' }),
      'no role': await token({}),
      'unknown role': await token({ role: 'admin' }),
      'two parts': `${h}.${p}`,
      garbage: 'not a token at all',
    };
    for (const [name, t] of Object.entries(cases)) expect(code(() => auth.verifyNow(t)), name).toMatch(/^UNAUTHENTICATED: /);
    expect(code(() => auth.verifyNow(cases['alg none']))).toBe('UNAUTHENTICATED: the access token is invalid');
    const expired = await token({ role: 'shopper' }, { exp: Math.floor(Date.now() / 1000) - 5 });
    expect(code(() => auth.verifyNow(expired))).toBe('UNAUTHENTICATED: the access token has expired');
  });
});
