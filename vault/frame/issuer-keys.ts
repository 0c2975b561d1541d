/**
 * The frame's key resolver for pivot tokens: the trusted issuer's JWKS as served by the vault's
 * OWN origin (`/v1/issuer-jwks`, so CSP `connect-src 'self'` holds and the frame never talks to
 * the chat server), fetched once per frame, and the one key whose `kid` the token names.
 *
 * Why not jose's `createRemoteJWKSet`: it costs the frame 1.6 KB gz (it imports every key
 * type jose knows) and the frame's budget is tight (20 KB gz, docs/design.md). This resolver accepts only what the
 * allow-list `PIVOT_TOKEN_ALGS` (ES256) can use: EC P-256 public keys; anything else is not a
 * match. Extend it together with that allow-list. The vault service keeps jose's
 * `createRemoteJWKSet`. Errors carry jose's codes so `verifyPivotToken` maps them the same way.
 *
 * @module
 */
import type { JWTVerifyGetKey } from 'jose';

interface EcJwk {
  kty?: unknown;
  crv?: unknown;
  x?: unknown;
  y?: unknown;
  kid?: unknown;
  alg?: unknown;
  use?: unknown;
  d?: unknown;
}

function joseLikeError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function usable(jwk: EcJwk, kid: unknown): boolean {
  return (
    typeof jwk === 'object' && jwk !== null &&
    jwk.kid === kid &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.x === 'string' &&
    typeof jwk.y === 'string' &&
    jwk.d === undefined &&
    (jwk.alg === undefined || jwk.alg === 'ES256') &&
    (jwk.use === undefined || jwk.use === 'sig')
  );
}

/**
 * A jose key function over the JWKS at `url` (same origin).
 *
 * @example getKey: sameOriginIssuerKeys(new URL('/v1/issuer-jwks', location.origin).href)
 */
export function sameOriginIssuerKeys(url: string, fetchImpl: typeof fetch = fetch): JWTVerifyGetKey {
  let jwks: Promise<{ keys?: unknown }> | undefined;
  return async (header) => {
    jwks ??= fetchImpl(url, { credentials: 'omit', cache: 'no-store', redirect: 'error' }).then((r) => {
      if (r.status !== 200) throw joseLikeError('ERR_JWKS_UNAVAILABLE');
      return r.json() as Promise<{ keys?: unknown }>;
    });
    let set: { keys?: unknown };
    try {
      set = await jwks;
    } catch (error) {
      jwks = undefined; // a later call may try again
      throw error;
    }
    if (!Array.isArray(set?.keys)) throw joseLikeError('ERR_JWKS_INVALID');
    const keys = set.keys as EcJwk[];
    const matches = keys.filter((k) => usable(k, header.kid));
    if (matches.length === 0) throw joseLikeError('ERR_JWKS_NO_MATCHING_KEY');
    if (matches.length > 1) throw joseLikeError('ERR_JWKS_MULTIPLE_MATCHING_KEYS');
    const { x, y } = matches[0]!;
    return crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: x as string, y: y as string }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  };
}
