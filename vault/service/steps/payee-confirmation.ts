/**
 * Step kind `payee_confirmation` in the vault: the customer's confirm or decline, pressed inside
 * the frame, of a new payee the agent prepared (name and account ending in the SIGNED token). One
 * answer per token, whichever button. The vault records consent; adding the payee is the bank's.
 *
 * @module
 */
import type Database from 'better-sqlite3';
import { PayeeConfirmationRequestSchema } from '../../../protocol/steps/index.ts';
import type { PayeeAnswersTable } from '../store/db.ts';
import { answerColumns, decisionStep } from './decision.ts';

export function payeeConfirmationStep(deps: { readonly sqlite: Database.Database }) {
  return decisionStep<'payee_confirmation', PayeeAnswersTable & Record<string, unknown>>(deps.sqlite, {
    kind: 'payee_confirmation',
    requestSchema: PayeeConfirmationRequestSchema,
    insertSql: `INSERT INTO payee_answers (id, outcome, payee_name, payee_last4, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@id, @outcome, @payee_name, @payee_last4, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
    idPrefix: 'pya',
    auditNoun: 'payee',
    logMessage: 'payee answer recorded',
    row: (id, outcome, claims, now) => ({
      id,
      outcome,
      payee_name: claims.step.payee.name,
      payee_last4: claims.step.payee.accountLast4,
      ...answerColumns(claims, now),
    }),
    notice: (outcome, { step }) => ({
      event: outcome === 'confirmed' ? 'payee_confirmed' : 'payee_declined',
      payee: { payee: { name: step.payee.name, accountLast4: step.payee.accountLast4 } },
    }),
  });
}
