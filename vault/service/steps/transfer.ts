/**
 * Step kind `transfer` in the vault: the customer's explicit confirm or decline, pressed inside
 * the frame, of a transfer the agent prepared (amount, payee, purpose, reference in the SIGNED
 * token). One answer per token, whichever button. The vault records consent; it moves no money.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  outcomeOf,
  transfer,
  TransferConfirmationRequestSchema,
  type DecisionOutcome,
  type TransferConfirmationRequest,
  type TransferConfirmationResponse,
} from '../../../protocol/steps/index.ts';
import type { TransferAnswersTable } from '../db.ts';
import type { VaultStepKind } from './run-step.ts';

/** Random bytes in a transfer answer id (`tra_` + base64url). */
export const TRANSFER_ANSWER_ID_BYTES = 18;

export function transferStep(deps: { readonly sqlite: Database.Database }): VaultStepKind<
  'transfer',
  TransferConfirmationRequest,
  DecisionOutcome,
  TransferConfirmationResponse
> {
  const insertAnswer = deps.sqlite.prepare(
    `INSERT INTO transfer_answers (id, outcome, amount_minor, currency, payee_name, payee_last4, pivot_jti, conversation_id,
       step_id, subject, created_at)
     VALUES (@id, @outcome, @amount_minor, @currency, @payee_name, @payee_last4, @pivot_jti, @conversation_id,
       @step_id, @subject, @created_at)`,
  );
  return {
    kind: transfer.kind,
    path: transfer.vaultPath,
    maxBodyBytes: transfer.maxBodyBytes,
    requestSchema: TransferConfirmationRequestSchema,
    logMessage: 'transfer answer recorded',
    // A decision is either of two words, already fixed by the schema: nothing can be refused here.
    check: (request) => ({ ok: true, value: outcomeOf(request.decision) }),
    async record(outcome, claims, now) {
      const { step } = claims;
      const id = `tra_${randomBytes(TRANSFER_ANSWER_ID_BYTES).toString('base64url')}`;
      const shown = {
        amount: { minor: step.amount.minor, currency: step.amount.currency },
        payee: { name: step.payee.name, accountLast4: step.payee.accountLast4 },
      };
      const row: TransferAnswersTable = {
        id,
        outcome,
        amount_minor: shown.amount.minor,
        currency: shown.amount.currency,
        payee_name: shown.payee.name,
        payee_last4: shown.payee.accountLast4,
        pivot_jti: claims.jti,
        conversation_id: claims.cnv,
        step_id: step.id,
        subject: claims.sub,
        created_at: now.toISOString(),
      };
      return {
        write: () => void insertAnswer.run(row),
        notice: { event: outcome === 'confirmed' ? 'transfer_confirmed' : 'transfer_declined', transfer: shown },
        audit: { action: `transfer.${outcome === 'confirmed' ? 'confirm' : 'decline'}`, resource: id },
        response: { outcome },
        log: { outcome },
      };
    },
  };
}
