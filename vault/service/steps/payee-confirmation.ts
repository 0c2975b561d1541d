/**
 * Step kind `payee_confirmation` in the vault: the customer's confirm or decline, pressed inside
 * the frame, of a new payee the agent prepared (name and account ending in the SIGNED token). One
 * answer per token, whichever button. The vault records consent; adding the payee is the bank's.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  outcomeOf,
  payeeConfirmation,
  PayeeConfirmationRequestSchema,
  type DecisionOutcome,
  type PayeeConfirmationRequest,
  type PayeeConfirmationResponse,
} from '../../../protocol/steps/index.ts';
import type { PayeeAnswersTable } from '../db.ts';
import type { VaultStepKind } from './run-step.ts';

/** Random bytes in a payee answer id (`pya_` + base64url). */
export const PAYEE_ANSWER_ID_BYTES = 18;

export function payeeConfirmationStep(deps: { readonly sqlite: Database.Database }): VaultStepKind<
  'payee_confirmation',
  PayeeConfirmationRequest,
  DecisionOutcome,
  PayeeConfirmationResponse
> {
  const insertAnswer = deps.sqlite.prepare(
    `INSERT INTO payee_answers (id, outcome, payee_name, payee_last4, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@id, @outcome, @payee_name, @payee_last4, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
  );
  return {
    kind: payeeConfirmation.kind,
    path: payeeConfirmation.vaultPath,
    maxBodyBytes: payeeConfirmation.maxBodyBytes,
    requestSchema: PayeeConfirmationRequestSchema,
    logMessage: 'payee answer recorded',
    // A decision is either of two words, already fixed by the schema: nothing can be refused here.
    check: (request) => ({ ok: true, value: outcomeOf(request.decision) }),
    async record(outcome, claims, now) {
      const { step } = claims;
      const id = `pya_${randomBytes(PAYEE_ANSWER_ID_BYTES).toString('base64url')}`;
      const payee = { name: step.payee.name, accountLast4: step.payee.accountLast4 };
      const row: PayeeAnswersTable = {
        id,
        outcome,
        payee_name: payee.name,
        payee_last4: payee.accountLast4,
        pivot_jti: claims.jti,
        conversation_id: claims.cnv,
        step_id: step.id,
        subject: claims.sub,
        created_at: now.toISOString(),
      };
      return {
        write: () => void insertAnswer.run(row),
        notice: { event: outcome === 'confirmed' ? 'payee_confirmed' : 'payee_declined', payee: { payee } },
        audit: { action: `payee.${outcome === 'confirmed' ? 'confirm' : 'decline'}`, resource: id },
        response: { outcome },
        log: { outcome },
      };
    },
  };
}
