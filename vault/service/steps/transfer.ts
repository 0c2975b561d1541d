/**
 * Step kind `transfer` in the vault: the customer's explicit confirm or decline, pressed inside
 * the frame, of a transfer the agent prepared (amount, payee, purpose, reference in the SIGNED
 * token). One answer per token, whichever button. The vault records consent; it moves no money.
 *
 * @module
 */
import type Database from 'better-sqlite3';
import { TransferConfirmationRequestSchema } from '../../../protocol/steps/index.ts';
import type { TransferAnswersTable } from '../store/db.ts';
import { answerColumns, decisionStep } from './decision.ts';

export function transferStep(deps: { readonly sqlite: Database.Database }) {
  return decisionStep<'transfer', TransferAnswersTable & Record<string, unknown>>(deps.sqlite, {
    kind: 'transfer',
    requestSchema: TransferConfirmationRequestSchema,
    insertSql: `INSERT INTO transfer_answers (id, outcome, amount_minor, currency, payee_name, payee_last4, pivot_jti, conversation_id,
       step_id, subject, created_at)
     VALUES (@id, @outcome, @amount_minor, @currency, @payee_name, @payee_last4, @pivot_jti, @conversation_id,
       @step_id, @subject, @created_at)`,
    idPrefix: 'tra',
    auditNoun: 'transfer',
    logMessage: 'transfer answer recorded',
    row: (id, outcome, claims, now) => ({
      id,
      outcome,
      amount_minor: claims.step.amount.minor,
      currency: claims.step.amount.currency,
      payee_name: claims.step.payee.name,
      payee_last4: claims.step.payee.accountLast4,
      ...answerColumns(claims, now),
    }),
    notice: (outcome, { step }) => ({
      event: outcome === 'confirmed' ? 'transfer_confirmed' : 'transfer_declined',
      transfer: {
        amount: { minor: step.amount.minor, currency: step.amount.currency },
        payee: { name: step.payee.name, accountLast4: step.payee.accountLast4 },
      },
    }),
  });
}
