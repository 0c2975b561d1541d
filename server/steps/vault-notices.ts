/**
 * Verifies the vault's signed notices (protocol/vault-api.ts). The vault's keys come ONLY from
 * CHAT_VAULT_JWKS_URL (never from the token: no `jku`, `x5u` or embedded `jwk` is honoured);
 * ES256 only; `typ`, `iss`, `aud`, `exp`, `iat`, `jti` required; the claims must match
 * VaultNoticeClaimsSchema (one shape per `event`: card_tokenized, address_changed,
 * transfer_confirmed, transfer_declined). Replay, step and step-kind checks happen in the store,
 * atomically.
 *
 * @module
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import * as v from 'valibot';
import { PivotError } from '../../protocol/errors.ts';
import { PIVOT_TOKEN_CLOCK_SKEW_S } from '../../protocol/pivot-token.ts';
import { VAULT_NOTICE_TTL_S, VAULT_NOTICE_TYP, VaultNoticeClaimsSchema, type VaultNoticeClaims } from '../../protocol/vault-api.ts';
import type { Clock } from '../lib/clock.ts';

/** Notices accepted only with these algorithms. */
export const NOTICE_ALGS = ['ES256'];
/** Longest lifetime (exp - iat) a notice may claim, in seconds. */
export const NOTICE_MAX_LIFETIME_S = 5 * VAULT_NOTICE_TTL_S;
/** How long a JWKS fetch may take, in ms. */
export const NOTICE_JWKS_TIMEOUT_MS = 5000;
/** Least time between two JWKS refetches triggered by an unknown `kid`, in ms. */
export const NOTICE_JWKS_COOLDOWN_MS = 30_000;

export interface NoticeVerifierOptions {
  readonly jwksUrl: string;
  /** The vault's public origin: the only accepted `iss`. */
  readonly issuer: string;
  /** This server's public origin: the only accepted `aud`. */
  readonly audience: string;
  readonly clock: Clock;
}

export type NoticeVerifier = (notice: string) => Promise<VaultNoticeClaims>;

export function createNoticeVerifier(options: NoticeVerifierOptions): NoticeVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: NOTICE_JWKS_TIMEOUT_MS,
    cooldownDuration: NOTICE_JWKS_COOLDOWN_MS,
  });
  return async (notice) => {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(notice, jwks, {
        algorithms: NOTICE_ALGS,
        typ: VAULT_NOTICE_TYP,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['exp', 'iat', 'jti'],
        clockTolerance: PIVOT_TOKEN_CLOCK_SKEW_S,
        currentDate: new Date(options.clock()),
      }));
    } catch (err) {
      throw new PivotError(jwksUnavailable(err) ? 'JWKS_UNAVAILABLE' : 'NOTICE_INVALID', undefined, { cause: err });
    }
    const parsed = v.safeParse(VaultNoticeClaimsSchema, payload);
    if (!parsed.success) throw new PivotError('NOTICE_INVALID', 'The notice claims do not match the schema.');
    const claims = parsed.output;
    if (claims.exp - claims.iat > NOTICE_MAX_LIFETIME_S) {
      throw new PivotError('NOTICE_INVALID', 'The notice lives longer than allowed.');
    }
    return claims;
  };
}

/** The keys could not be obtained (timeout, network, non-200, malformed JWKS): the vault may retry. */
function jwksUnavailable(err: unknown): boolean {
  if (!(err instanceof joseErrors.JOSEError)) return true;
  return err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err.code === 'ERR_JOSE_GENERIC';
}
