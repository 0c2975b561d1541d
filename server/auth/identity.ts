/**
 * Identity assertions from the bank's page (protocol/chat.ts IdentityAssertionSchema). Today
 * only the demo assertion exists, accepted when DEMO_LOGIN is on; a real bank IdP assertion
 * (a JWT verified with jose against the tenant's JWKS) plugs in here as another variant.
 *
 * @module
 */
import type { IdentityAssertion } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { Acr } from '../../protocol/pivot-token.ts';

export interface VerifiedIdentity {
  /** The bank's customer id. Stays inside the chat server; tokens carry a pseudonym. */
  readonly subject: string;
  readonly acr: Acr;
}

export async function verifyAssertion(assertion: IdentityAssertion, options: { demoLogin: boolean }): Promise<VerifiedIdentity> {
  switch (assertion.type) {
    case 'demo':
      if (!options.demoLogin) throw new PivotError('DEMO_LOGIN_DISABLED');
      return { subject: assertion.subject, acr: 'bank' };
    case 'oidc':
      throw new PivotError('IDP_NOT_CONFIGURED');
  }
}
