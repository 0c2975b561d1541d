/**
 * Verification of the pivot token, shared by the vault frame (decides whether to render, and
 * what amount to show) and the vault service (authoritative, before the jti is consumed).
 *
 * Order of checks, each failure with its own stable code from protocol/errors.ts:
 *
 * 1. compact JWS shape and protected header: JSON object, no `jku`/`x5u`/`x5c`/`jwk`/`crit`,
 *    a string `kid` (TOKEN_MALFORMED, TOKEN_HEADER_INVALID)
 * 2. jose `jwtVerify`: algorithm allow-list, key by `kid` from the configured JWKS only,
 *    signature, `typ`, `iss`, `aud`, required claims, `exp`/`nbf` with clock tolerance
 * 3. `iat` not in the future, lifetime `exp - iat` bounded (TOKEN_LIFETIME_TOO_LONG)
 * 4. claims schema (protocol/pivot-token.ts)
 * 5. `origin` claim: in the allow-list, and equal to the origin the frame actually sits in
 *
 * Only `jwtVerify` is imported from jose (plus the key function the caller passes), to keep the
 * frame bundle small; jose errors are recognised by their stable `code` and `claim`. Failures
 * are {@link PivotTokenError}s carrying only a catalog code, so the frame bundle need not embed
 * the whole catalog; the service wraps them in `PivotError`.
 *
 * @module
 */
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as v from 'valibot';
import type { ErrorCode } from '../../protocol/errors.ts';
import {
  PIVOT_TOKEN_ALGS,
  PIVOT_TOKEN_CLOCK_SKEW_S,
  PIVOT_TOKEN_MAX_LIFETIME_S,
  PIVOT_TOKEN_TYP,
  PivotClaimsSchema,
  type PivotClaims,
} from '../../protocol/pivot-token.ts';

/** Protected-header parameters that would let a token choose its own key: always refused. */
export const FORBIDDEN_HEADER_PARAMS = ['jku', 'x5u', 'x5c', 'jwk', 'crit'] as const;

/** Every code verification can fail with (all in protocol/errors.ts). */
export type PivotTokenErrorCode = Extract<ErrorCode, `TOKEN_${string}` | 'JWKS_UNAVAILABLE'>;

/** A failed verification: `code` is the catalog code; `cause` keeps jose's error (never shown). */
export class PivotTokenError extends Error {
  readonly code: PivotTokenErrorCode;

  constructor(code: PivotTokenErrorCode, options?: { cause?: unknown }) {
    super(code, options);
    this.name = 'PivotTokenError';
    this.code = code;
  }
}

export interface VerifyPivotTokenOptions {
  /** Key function over the trusted issuer's JWKS (jose `createRemoteJWKSet`/`createLocalJWKSet`). */
  readonly getKey: JWTVerifyGetKey;
  /** The only accepted `iss`. */
  readonly issuer: string;
  /** The only accepted `aud`: the vault's own origin. */
  readonly audience: string;
  /** Host-page origins the vault may be embedded in. */
  readonly allowedOrigins: readonly string[];
  /** When set (the frame: the origin of its `connect` event), the `origin` claim must equal it. */
  readonly expectedOrigin?: string;
  /** Verification time (tests). */
  readonly now?: Date;
}

/**
 * Verify a pivot token. Resolves to its claims, or rejects with a {@link PivotTokenError} whose
 * `code` names the first check that failed.
 *
 * @example
 * const claims = await verifyPivotToken(token, {
 *   getKey: createRemoteJWKSet(new URL('/v1/issuer-jwks', location.origin)),
 *   issuer: 'https://chat.bank.example', audience: location.origin,
 *   allowedOrigins: ['https://www.bank.example'], expectedOrigin: connectEvent.origin,
 * });
 */
export async function verifyPivotToken(token: string, options: VerifyPivotTokenOptions): Promise<PivotClaims> {
  checkProtectedHeader(token);

  const keyFailure: { error?: unknown } = {};
  const getKey: JWTVerifyGetKey = async (header, jws) => {
    try {
      return await options.getKey(header, jws);
    } catch (error) {
      keyFailure.error = error;
      throw error;
    }
  };

  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, getKey, {
      algorithms: [...PIVOT_TOKEN_ALGS],
      typ: PIVOT_TOKEN_TYP,
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'jti', 'nbf'],
      clockTolerance: PIVOT_TOKEN_CLOCK_SKEW_S,
      ...(options.now ? { currentDate: options.now } : {}),
    }));
  } catch (error) {
    throw fail('error' in keyFailure ? keyErrorCode(keyFailure.error) : joseErrorCode(error), error);
  }

  const claims = payload as { iat: number; exp: number };
  const nowS = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (typeof claims.iat === 'number' && claims.iat > nowS + PIVOT_TOKEN_CLOCK_SKEW_S) throw fail('TOKEN_NOT_YET_VALID');
  if (typeof claims.iat === 'number' && typeof claims.exp === 'number' && claims.exp - claims.iat > PIVOT_TOKEN_MAX_LIFETIME_S) {
    throw fail('TOKEN_LIFETIME_TOO_LONG');
  }

  const parsed = v.safeParse(PivotClaimsSchema, payload);
  if (!parsed.success) throw fail('TOKEN_CLAIM_INVALID');

  const { origin } = parsed.output;
  if (!options.allowedOrigins.includes(origin)) throw fail('TOKEN_ORIGIN_MISMATCH');
  if (options.expectedOrigin !== undefined && origin !== options.expectedOrigin) throw fail('TOKEN_ORIGIN_MISMATCH');
  return parsed.output;
}

function fail(code: PivotTokenErrorCode, cause?: unknown): PivotTokenError {
  return new PivotTokenError(code, cause === undefined ? undefined : { cause });
}

/** Structural checks of the compact form and its protected header, before any crypto. */
function checkProtectedHeader(token: string): void {
  const parts = typeof token === 'string' ? token.split('.') : [];
  // An empty signature is left to jose, which refuses its `alg` (e.g. "none") by the allow-list.
  if (parts.length !== 3 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[A-Za-z0-9_-]*$/.test(parts[2]!)) {
    throw fail('TOKEN_MALFORMED');
  }
  let header: unknown;
  try {
    header = JSON.parse(base64urlDecode(parts[0]!));
  } catch {
    throw fail('TOKEN_MALFORMED');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('TOKEN_MALFORMED');
  for (const name of FORBIDDEN_HEADER_PARAMS) {
    if (Object.prototype.hasOwnProperty.call(header, name)) throw fail('TOKEN_HEADER_INVALID');
  }
  const { kid } = header as { kid?: unknown };
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) throw fail('TOKEN_HEADER_INVALID');
}

function base64urlDecode(part: string): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** A failure inside the key function: the issuer's keys could not be used for this token. */
function keyErrorCode(error: unknown): PivotTokenErrorCode {
  switch (codeOf(error)) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'TOKEN_KID_UNKNOWN';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'TOKEN_ALG_NOT_ALLOWED';
    default:
      // ERR_JWKS_TIMEOUT, ERR_JWKS_INVALID, ERR_JWK_INVALID, a non-200 answer, a network error.
      return 'JWKS_UNAVAILABLE';
  }
}

/** A failure in jose's own checks. */
function joseErrorCode(error: unknown): PivotTokenErrorCode {
  switch (codeOf(error)) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'TOKEN_ALG_NOT_ALLOWED';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'TOKEN_SIGNATURE_INVALID';
    case 'ERR_JWT_EXPIRED':
      return 'TOKEN_EXPIRED';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as { claim?: unknown; reason?: unknown };
      if (reason === 'missing') return 'TOKEN_CLAIM_MISSING';
      if (claim === 'typ') return 'TOKEN_TYP_INVALID';
      if (claim === 'iss') return 'TOKEN_ISSUER_INVALID';
      if (claim === 'aud') return 'TOKEN_AUDIENCE_INVALID';
      if (claim === 'nbf' && reason === 'check_failed') return 'TOKEN_NOT_YET_VALID';
      return 'TOKEN_CLAIM_INVALID';
    }
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'TOKEN_KID_UNKNOWN';
    case 'ERR_JWKS_TIMEOUT':
      return 'JWKS_UNAVAILABLE';
    default:
      // ERR_JWS_INVALID, ERR_JWT_INVALID, and anything unexpected (e.g. a key of the wrong type).
      return 'TOKEN_MALFORMED';
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}
