/**
 * Signs pivot tokens (protocol/pivot-token.ts): ES256 JWS, header `{alg, typ: pivot+jwt, kid}`,
 * exactly the claims of PivotClaimsSchema, checked against that schema before signing so that
 * the server can never emit a token its verifiers would reject.
 *
 * @module
 */
import { SignJWT } from 'jose';
import * as v from 'valibot';
import {
  PIVOT_TOKEN_MAX_LIFETIME_S,
  PIVOT_TOKEN_TTL_S,
  PIVOT_TOKEN_TYP,
  PivotClaimsSchema,
  type Acr,
  type PivotClaims,
  type Step,
} from '../../protocol/pivot-token.ts';
import type { SigningKey } from './pivot-key-ring.ts';
import { randomId } from '../lib/ids.ts';

export interface PivotTokenInput {
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string;
  readonly origin: string;
  readonly conversationId: string;
  readonly step: Step;
  readonly acr: Acr;
  /** The conversation's messaging app, when it came from one (the enrolment code's way out). */
  readonly outOfBandChannel?: PivotClaims['och'];
  /** Seconds since the epoch. */
  readonly now: number;
  readonly ttlSeconds?: number;
}

export interface SignedPivotToken {
  readonly token: string;
  readonly claims: PivotClaims;
}

export async function signPivotToken(key: SigningKey, input: PivotTokenInput): Promise<SignedPivotToken> {
  const ttl = input.ttlSeconds ?? PIVOT_TOKEN_TTL_S;
  if (ttl <= 0 || ttl > PIVOT_TOKEN_MAX_LIFETIME_S) throw new Error(`pivot token TTL must be 1..${PIVOT_TOKEN_MAX_LIFETIME_S} s`);
  const candidate: PivotClaims = {
    iss: input.issuer,
    aud: input.audience,
    sub: input.subject,
    jti: randomId('ptj', 18),
    iat: input.now,
    nbf: input.now,
    exp: input.now + ttl,
    origin: input.origin,
    cnv: input.conversationId,
    // The schema parse below copies the step's own fields only (valibot objects drop unknown keys).
    step: input.step,
    acr: input.acr,
    ...(input.outOfBandChannel ? { och: input.outOfBandChannel } : {}),
  };
  const claims = v.parse(PivotClaimsSchema, candidate);
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, typ: PIVOT_TOKEN_TYP, kid: key.kid })
    .sign(key.privateKey);
  return { token, claims };
}
