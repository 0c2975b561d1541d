/**
 * The authoritative pivot-token check shared by every vault endpoint that completes a step:
 * signature, issuer, audience, lifetime and origin (vault/shared/verify-pivot-token.ts), then the
 * step KIND: a token signed for one kind of step is refused, with TOKEN_STEP_KIND_MISMATCH, at
 * every other kind's endpoint (a card-payment token cannot confirm a transfer, and so on).
 *
 * @module
 */
import type { JWTVerifyGetKey } from 'jose';
import { PivotError } from '../../../protocol/errors.ts';
import type { PivotClaims, StepKind, StepOf } from '../../../protocol/pivot-token.ts';
import { PivotTokenError, verifyPivotToken } from '../../shared/verify-pivot-token.ts';

export interface StepTokenDeps {
  readonly getIssuerKey: JWTVerifyGetKey;
  /** The vault's origin: expected `aud`, and the notices' `iss`. */
  readonly origin: string;
  readonly trustedIssuer: string;
  readonly allowedParentOrigins: readonly string[];
}

/** Claims whose step is of kind `K`. */
export type StepClaims<K extends StepKind> = Omit<PivotClaims, 'step'> & { readonly step: StepOf<K> };

/**
 * Verify `token` as every vault endpoint does, whatever its step's kind (the passkey routes take
 * the token of any step). Rejects with a {@link PivotError}.
 */
export async function verifyAnyStepToken(deps: StepTokenDeps, token: string, now: Date): Promise<PivotClaims> {
  try {
    return await verifyPivotToken(token, {
      getKey: deps.getIssuerKey,
      issuer: deps.trustedIssuer,
      audience: deps.origin,
      allowedOrigins: deps.allowedParentOrigins,
      now,
    });
  } catch (error) {
    if (error instanceof PivotTokenError) throw new PivotError(error.code, undefined, { cause: error });
    throw error;
  }
}

/** Verify `token` for an endpoint serving steps of `kind`. Rejects with a {@link PivotError}. */
export async function verifyStepToken<K extends StepKind>(deps: StepTokenDeps, token: string, kind: K, now: Date): Promise<StepClaims<K>> {
  const claims = await verifyAnyStepToken(deps, token, now);
  if (claims.step.kind !== kind) throw new PivotError('TOKEN_STEP_KIND_MISMATCH');
  return claims as StepClaims<K>;
}
