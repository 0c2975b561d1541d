/**
 * Identity assertions from the bank's page (protocol/chat.ts IdentityAssertionSchema): an
 * id_token of the bank's IdP (oidc.ts), whose nonce must be one this session asked for
 * (POST /v1/sessions/nonce), unused and unexpired; yields `bank` for its `sub`. There is no other
 * kind: a subject the page merely names proves nothing, so none is accepted, in any mode.
 *
 * @module
 */
import type { IdentityAssertion } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { Acr } from '../../protocol/pivot-token.ts';
import type { IdTokenVerifier } from './oidc.ts';

export interface VerifiedIdentity {
  /** The bank's customer id. Stays inside the chat server; tokens carry a pseudonym. */
  readonly subject: string;
  readonly acr: Acr;
  /** The phone number the bank verified (E.164), when its IdP asserts one. */
  readonly verifiedPhone?: string;
}

/** E.164: a plus and 8 to 15 digits. */
const E164 = /^\+[1-9][0-9]{7,14}$/;

export interface AssertionOptions {
  /** Verifies a bank id_token; absent when no IdP is configured. */
  readonly verifyIdToken?: IdTokenVerifier | undefined;
  /** Consumes a nonce this session was given. */
  readonly consumeNonce: (nonce: string) => Promise<boolean>;
}

export async function verifyAssertion(assertion: IdentityAssertion, options: AssertionOptions): Promise<VerifiedIdentity> {
  if (!options.verifyIdToken) throw new PivotError('IDP_NOT_CONFIGURED');
  const claims = await options.verifyIdToken(assertion.idToken);
  if (!(await options.consumeNonce(claims.nonce))) throw new PivotError('ID_TOKEN_NONCE_INVALID');
  const phone = claims.phone_number_verified === true && claims.phone_number && E164.test(claims.phone_number) ? claims.phone_number : undefined;
  return { subject: claims.sub, acr: 'bank', ...(phone ? { verifiedPhone: phone } : {}) };
}
