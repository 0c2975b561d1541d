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
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWK, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from '../../../protocol/clock.ts';
import { PivotError } from '../../../protocol/errors.ts';

export interface IssuerKeys {
  readonly getKey: JWTVerifyGetKey;
  /** The issuer's JWKS (public members only); rejects with JWKS_UNAVAILABLE. */
  publicJwks(): Promise<{ keys: JWK[] }>;
}

export interface IssuerKeysOptions {
  /** A fetched set is used this long before it is fetched again, in ms. */
  readonly maxAgeMs: number;
  /** Least time between two fetches, in ms. */
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  /** The vault's clock (default the system's): max age and cooldown are measured on it. */
  readonly clock?: Clock;
}

const PUBLIC_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const;

function publicOnly(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const name of PUBLIC_MEMBERS) if (typeof jwk[name] === 'string') out[name] = jwk[name];
  return out as JWK;
}

export function createIssuerKeys(url: string, options: IssuerKeysOptions): IssuerKeys {
  const clock = options.clock ?? systemClock;
  // jose fetches and checks the set (timeout, no redirects, JWKS shape, one fetch at a time);
  // WHEN to fetch is decided here, on the vault's own clock, like every other time limit of the
  // vault (jose would measure max age and cooldown on the wall clock).
  const remote = createRemoteJWKSet(new URL(url), { timeoutDuration: options.timeoutMs });
  let local: JWTVerifyGetKey | undefined;
  /** When the set in use was fetched (successful fetches only). */
  let fetchedAt = Number.NEGATIVE_INFINITY;
  const fresh = (): boolean => local !== undefined && clock() - fetchedAt < options.maxAgeMs;
  const coolingDown = (): boolean => clock() - fetchedAt < options.cooldownMs;
  const reload = async (): Promise<void> => {
    await remote.reload();
    const jwks = remote.jwks();
    if (!jwks) throw new Error('no JWKS');
    local = createLocalJWKSet(jwks);
    fetchedAt = clock();
  };
  // As jose's remote key set: fetch when there is no fresh set, and once more for an unknown kid
  // unless the last fetch is within the cooldown (keys rotate; the upstream is not hammered).
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!fresh()) await reload();
    try {
      return await local!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || coolingDown()) throw error;
      await reload();
      return local!(header, token);
    }
  };
  return {
    getKey,
    async publicJwks() {
      try {
        if (!coolingDown()) {
          await reload().catch((error: unknown) => {
            if (!fresh()) throw error;
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
