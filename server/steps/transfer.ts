/**
 * `transfer` on the chat server: the vault's `transfer_confirmed` / `transfer_declined` notice
 * repeats the amount and payee the signed token showed; they must be the step's very own, or the
 * notice is refused (NOTICE_INVALID).
 *
 * @module
 */
import { transfer, type DecisionOutcome } from '../../protocol/steps/index.ts';
import { formatAmount, type Amount, type Payee } from '../../protocol/values.ts';
import type { ServerStepKind } from './definition.ts';

export type TransferResult = {
  readonly kind: 'transfer';
  readonly outcome: DecisionOutcome;
  readonly transfer: { readonly amount: Amount; readonly payee: Payee };
};

export const transferOnServer: ServerStepKind<'transfer', TransferResult> = {
  kind: 'transfer',
  noticeEvents: ['transfer_confirmed', 'transfer_declined'],
  resultOf(claims) {
    if (claims.event !== 'transfer_confirmed' && claims.event !== 'transfer_declined') throw new Error(`not a transfer notice: ${claims.event}`);
    return { kind: 'transfer', outcome: claims.event === 'transfer_confirmed' ? 'confirmed' : 'declined', transfer: claims.transfer };
  },
  matches(step, { transfer: { amount, payee } }) {
    return (
      amount.minor === step.amount.minor &&
      amount.currency === step.amount.currency &&
      payee.name === step.payee.name &&
      payee.accountLast4 === step.payee.accountLast4
    );
  },
  stored: ({ outcome }) => ({ card: null, result: JSON.stringify({ outcome }) }),
  completedFields: ({ outcome }) => ({ transfer: { outcome } }),
  text: (result) => transfer.agent.completed({ outcome: result.outcome, ...result.transfer }, (amount) => formatAmount(amount)),
};
