/**
 * `payee_confirmation` on the chat server: the vault's `payee_confirmed` / `payee_declined` notice
 * repeats the payee the signed token showed; it must be the step's very own, or the notice is
 * refused (NOTICE_INVALID).
 *
 * @module
 */
import { payeeConfirmation, type DecisionOutcome } from '../../protocol/steps/index.ts';
import type { Payee } from '../../protocol/values.ts';
import type { ServerStepKind } from './definition.ts';

export type PayeeConfirmationResult = {
  readonly kind: 'payee_confirmation';
  readonly outcome: DecisionOutcome;
  readonly payee: Payee;
};

export const payeeConfirmationOnServer: ServerStepKind<'payee_confirmation', PayeeConfirmationResult> = {
  kind: 'payee_confirmation',
  noticeEvents: ['payee_confirmed', 'payee_declined'],
  resultOf(claims) {
    if (claims.event !== 'payee_confirmed' && claims.event !== 'payee_declined') throw new Error(`not a payee notice: ${claims.event}`);
    return { kind: 'payee_confirmation', outcome: claims.event === 'payee_confirmed' ? 'confirmed' : 'declined', payee: claims.payee.payee };
  },
  matches: (step, { payee }) => payee.name === step.payee.name && payee.accountLast4 === step.payee.accountLast4,
  stored: ({ outcome }) => ({ card: null, result: JSON.stringify({ outcome }) }),
  completedFields: ({ outcome }) => ({ payee: { outcome } }),
  text: (result) => payeeConfirmation.agent.completed({ outcome: result.outcome, payee: result.payee }, () => ''),
};
