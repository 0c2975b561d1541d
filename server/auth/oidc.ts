/**
 * Verifies id_tokens from the bank's OpenID provider (BANK_IDP_*, server/config.ts).
 *
 * Keys come ONLY from BANK_IDP_JWKS_URL (cached, fetched with a timeout, refetched on an unknown
 * `kid` at most once per cooldown); a token's `jku`, `x5u` or embedded `jwk` is never honoured.
 * Only the configured asymmetric algorithms verify (never `none`, never an HMAC keyed with a
 * public key). Checked: signature, `iss`, `aud`, `exp` and `iat` (with ID_TOKEN_CLOCK_SKEW_S),
 * age (ID_TOKEN_MAX_AGE_S), `sub` and `nonce` present. The nonce is matched by the caller
 * against the one it handed out (single use, bound to the session).
 *
 * jose's errors map onto the catalog: expired -> ID_TOKEN_EXPIRED, `iss` -> ID_TOKEN_ISSUER_INVALID,
 * `aud` -> ID_TOKEN_AUDIENCE_INVALID, `nonce` missing -> ID_TOKEN_NONCE_INVALID, keys unreachable
 * -> JWKS_UNAVAILABLE, anything else (format, algorithm, signature, unknown key) -> ID_TOKEN_INVALID.
 *
 * @module
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import * as v from 'valibot';
import { PivotError, type ErrorCode } from '../../protocol/errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { IdpConfig } from '../config.ts';

/** Tolerated clock difference with the IdP for `exp`, `iat` and `nbf`, in seconds. */
export const ID_TOKEN_CLOCK_SKEW_S = 60;
/** An id_token issued longer ago than this is refused, whatever its `exp`, in seconds. */
export const ID_TOKEN_MAX_AGE_S = 10 * 60;
/** How long a JWKS fetch may take, in ms. */
export const IDP_JWKS_TIMEOUT_MS = 5000;
/** Least time between two JWKS refetches triggered by an unknown `kid`, in ms. */
export const IDP_JWKS_COOLDOWN_MS = 30_000;
/** How long fetched keys are used before they are fetched again, in ms. */
export const IDP_JWKS_CACHE_MAX_AGE_MS = 10 * 60 * 1000;

/** The claims the chat uses, once the token verified. */
const IdTokenClaimsSchema = v.object({
  /** The bank's customer id. */
  sub: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
  nonce: v.pipe(v.string(), v.minLength(1), v.maxLength(255)),
  /**
   * The customer's phone as the bank holds it (OIDC standard claims), E.164. Used only when the
   * IdP says it is verified: the passkey enrolment code goes there by SMS, out of the page's sight.
   */
  phone_number: v.optional(v.string()),
  phone_number_verified: v.optional(v.boolean()),
});
export type IdTokenClaims = v.InferOutput<typeof IdTokenClaimsSchema>;

export type IdTokenVerifier = (idToken: string) => Promise<IdTokenClaims>;

export function createIdTokenVerifier(config: IdpConfig, clock: Clock): IdTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
    timeoutDuration: IDP_JWKS_TIMEOUT_MS,
    cooldownDuration: IDP_JWKS_COOLDOWN_MS,
    cacheMaxAge: IDP_JWKS_CACHE_MAX_AGE_MS,
  });
  return async (idToken) => {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(idToken, jwks, {
        algorithms: [...config.algorithms],
        issuer: config.issuer,
        audience: config.clientId,
        requiredClaims: ['sub', 'exp', 'iat', 'nonce'],
        clockTolerance: ID_TOKEN_CLOCK_SKEW_S,
        maxTokenAge: ID_TOKEN_MAX_AGE_S,
        currentDate: new Date(clock()),
      }));
    } catch (err) {
      throw new PivotError(idTokenErrorCode(err), undefined, { cause: err });
    }
    const claims = v.safeParse(IdTokenClaimsSchema, payload);
    if (!claims.success) throw new PivotError('ID_TOKEN_INVALID', 'The identity token claims do not match the expected shape.');
    return claims.output;
  };
}

/** The catalog code for a jose failure. */
export function idTokenErrorCode(err: unknown): ErrorCode {
  if (!(err instanceof joseErrors.JOSEError)) return 'JWKS_UNAVAILABLE';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err.code === 'ERR_JOSE_GENERIC') {
    return 'JWKS_UNAVAILABLE';
  }
  if (err instanceof joseErrors.JWTExpired) return 'ID_TOKEN_EXPIRED';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'ID_TOKEN_ISSUER_INVALID';
    if (err.claim === 'aud') return 'ID_TOKEN_AUDIENCE_INVALID';
    if (err.claim === 'nonce') return 'ID_TOKEN_NONCE_INVALID';
  }
  return 'ID_TOKEN_INVALID';
}
