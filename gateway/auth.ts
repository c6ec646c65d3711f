import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { z } from 'zod';
import { LivesaleError } from '../common/platform/errors.ts';

export const roles = ['shopper', 'host', 'ops'] as const;
export type Role = (typeof roles)[number];

export interface Principal {
  /** User id (shoppers), host id or ops user id. */
  readonly sub: string;
  readonly role: Role;
  /** Token expiry, epoch seconds. */
  readonly exp: number;
}

const claims = z.object({
  sub: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  role: z.enum(roles),
  exp: z.number().int(),
});

const issuer = 'livesale';
const audience = 'livesale';

/**
 * HS256 access tokens (issued with jose). Verification results are cached by token string until expiry, so
 * a shopper pressing "buy" many times does not pay for a signature check each time.
 */
export class Auth {
  readonly #key: Uint8Array;
  readonly #cache = new Map<string, Principal>();
  readonly #maxCached: number;

  constructor(secret: string, maxCached = 100_000) {
    this.#key = new TextEncoder().encode(secret);
    this.#maxCached = maxCached;
  }

  async issue(sub: string, role: Role, ttlSeconds = 12 * 3600): Promise<string> {
    claims.pick({ sub: true, role: true }).parse({ sub, role });
    return new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
      .sign(this.#key);
  }

  /** The token's principal; throws UNAUTHENTICATED (missing, forged, expired or malformed). */
  async verify(token: string | undefined | null): Promise<Principal> {
    return this.verifyNow(token);
  }

  /**
   * The same check, synchronously: the WebSocket upgrade must answer inside uWS's own callback
   * (an upgrade finished later has to be written uncorked). jose decodes the token; the HS256
   * signature is checked here with node:crypto (constant-time), then issuer, audience and expiry.
   */
  verifyNow(token: string | undefined | null): Principal {
    if (!token) throw new LivesaleError('UNAUTHENTICATED', 'an access token is required');
    const now = Date.now() / 1000;
    const cached = this.#cache.get(token);
    if (cached) {
      if (cached.exp > now) return cached;
      this.#cache.delete(token);
      throw new LivesaleError('UNAUTHENTICATED', 'the access token has expired');
    }
    const invalid = () => new LivesaleError('UNAUTHENTICATED', 'the access token is invalid');
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 4096) throw invalid();
    // Only the canonical form: every part base64url without padding that re-encodes to itself.
    // Node's decoder skips what it cannot read, so junk after a signature (or a second spelling of
    // the same bytes) would otherwise verify, and one token would have many accepted strings.
    if (!parts.every(canonicalPart)) throw invalid();
    let payload: Record<string, unknown>;
    try {
      const header = decodeProtectedHeader(token);
      // `crit` names extensions this verifier does not implement: RFC 7515 says refuse.
      if (header.alg !== 'HS256' || header.crit !== undefined || header.b64 !== undefined) throw invalid();
      const expected = createHmac('sha256', this.#key).update(`${parts[0]}.${parts[1]}`).digest();
      const given = Buffer.from(parts[2]!, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
      payload = decodeJwt(token);
    } catch {
      throw invalid();
    }
    const aud = payload.aud;
    if (payload.iss !== issuer || !(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) throw invalid();
    if (typeof payload.nbf === 'number' && payload.nbf > now + 5) throw invalid();
    const parsed = claims.safeParse(payload);
    if (!parsed.success) throw new LivesaleError('UNAUTHENTICATED', 'the access token lacks required claims');
    if (parsed.data.exp <= now) throw new LivesaleError('UNAUTHENTICATED', 'the access token has expired');
    const p: Principal = Object.freeze({ sub: parsed.data.sub, role: parsed.data.role, exp: parsed.data.exp });
    if (this.#cache.size >= this.#maxCached) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(token, p);
    return p;
  }
}

const base64url = /^[A-Za-z0-9_-]+$/;

/** A JWS part in its one spelling: base64url, no padding, no stray trailing bits. */
function canonicalPart(part: string): boolean {
  return base64url.test(part) && part.length % 4 !== 1 && Buffer.from(part, 'base64url').toString('base64url') === part;
}

/** The bearer token of an Authorization header value, if any. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}
