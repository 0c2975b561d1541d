/**
 * The trusted issuer's keys, fetched by the vault from ITS OWN configuration
 * (`VAULT_ISSUER_JWKS_URL`), never from a token. One jose remote key set serves both uses:
 *
 * - `getKey`: authoritative pivot-token verification in `POST /v1/tokens` (an unknown `kid`
 *   triggers a refetch, at most once per cooldown: keys rotate);
 * - `publicJwks()`: the body of `GET /v1/issuer-jwks`, which lets the frame verify the token
 *   with CSP `connect-src 'self'`. Only public members of EC/OKP/RSA keys are passed on. The
 *   frame cannot tell the service which `kid` it misses, so each request refetches once the
 *   cooldown has passed (not only when the cache is older than its max age): a key the issuer
 *   just rotated in reaches new frames within the cooldown, and the upstream sees at most one
 *   fetch per cooldown. When that refetch fails, a cache still within its max age is served.
 *
 * @module
 */
import { createRemoteJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import { PivotError } from '../../protocol/errors.ts';

export interface IssuerKeys {
  readonly getKey: JWTVerifyGetKey;
  /** The issuer's JWKS (public members only); rejects with JWKS_UNAVAILABLE. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const;

function publicOnly(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const name of PUBLIC_MEMBERS) if (typeof jwk[name] === 'string') out[name] = jwk[name];
  return out as JWK;
}

export function createIssuerKeys(url: string, options: { maxAgeMs: number; cooldownMs: number; timeoutMs: number }): IssuerKeys {
  const remote = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.maxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
  });
  return {
    getKey: remote,
    async publicJwks() {
      try {
        if (!remote.coolingDown) {
          await remote.reload().catch((error: unknown) => {
            if (!remote.fresh) throw error;
          });
        }
        const jwks = remote.jwks();
        if (!jwks) throw new Error('no JWKS');
        return { keys: jwks.keys.filter((k) => k.d === undefined && k.k === undefined).map(publicOnly) };
      } catch (error) {
        throw new PivotError('JWKS_UNAVAILABLE', undefined, { cause: error });
      }
    },
  };
}
