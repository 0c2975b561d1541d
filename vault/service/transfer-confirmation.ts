/**
 * Transfer confirmation: the customer's explicit confirm or decline, pressed inside the vault
 * frame, of a transfer the agent prepared (amount, payee, purpose, reference in the SIGNED token).
 *
 * 1. parse the body (TransferConfirmationRequestSchema)           -> 400 BAD_REQUEST
 * 2. verify the pivot token authoritatively, and that its step is a `transfer` (step-token.ts)
 *                                                                  -> 401 TOKEN_* / 403 TOKEN_STEP_KIND_MISMATCH / 502
 * 3. ONE transaction: consume the token's `jti` (so one answer per token: 409 TOKEN_REPLAYED
 *    afterwards, whichever button), record the answer with the amount and payee the token
 *    showed, queue the notice (`transfer_confirmed` | `transfer_declined`).
 *
 * The vault records consent; it moves no money.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { PivotError } from '../../protocol/errors.ts';
import type { TransferOutcome } from '../../protocol/frame.ts';
import { TransferConfirmationRequestSchema } from '../../protocol/vault-api.ts';
import type { StoredNoticeClaims } from './notices.ts';
import type { VaultStatements } from './statements.ts';
import { verifyStepToken, type StepTokenDeps } from './step-token.ts';

export interface TransferConfirmationDeps extends StepTokenDeps {
  readonly statements: VaultStatements;
  /** The chat server's origin: the notices' `aud`. */
  readonly noticeAudience: string;
  readonly now?: () => Date;
}

export interface TransferConfirmationResult {
  readonly outcome: TransferOutcome;
  /** Id of the notice queued for the chat server. */
  readonly noticeId: string;
}

/** Record one answer. Rejects with a {@link PivotError}. */
export async function answerTransfer(deps: TransferConfirmationDeps, body: unknown): Promise<TransferConfirmationResult> {
  const parsed = v.safeParse(TransferConfirmationRequestSchema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  const now = deps.now?.() ?? new Date();
  const { step, ...claims } = await verifyStepToken(deps, parsed.output.pivotToken, 'transfer', now);

  const outcome: TransferOutcome = parsed.output.decision === 'confirm' ? 'confirmed' : 'declined';
  const noticeId = `ntc_${randomBytes(18).toString('base64url')}`;
  const transfer = {
    amount: { minor: step.amount.minor, currency: step.amount.currency },
    payee: { name: step.payee.name, accountLast4: step.payee.accountLast4 },
  };
  const notice: StoredNoticeClaims = {
    iss: deps.origin,
    aud: deps.noticeAudience,
    jti: noticeId,
    cnv: claims.cnv,
    stp: step.id,
    ptj: claims.jti,
    event: outcome === 'confirmed' ? 'transfer_confirmed' : 'transfer_declined',
    transfer,
  };
  const createdAt = now.toISOString();
  const queuedAt = now.getTime();
  const answerId = `tra_${randomBytes(18).toString('base64url')}`;
  const stored = deps.statements.storeTransferAnswer(
    { jti: claims.jti, exp: claims.exp, used_at: createdAt },
    {
      id: answerId,
      outcome,
      amount_minor: transfer.amount.minor,
      currency: transfer.amount.currency,
      payee_name: transfer.payee.name,
      payee_last4: transfer.payee.accountLast4,
      pivot_jti: claims.jti,
      conversation_id: claims.cnv,
      step_id: step.id,
      subject: claims.sub,
      created_at: createdAt,
    },
    { id: noticeId, claims: JSON.stringify(notice), created_at: queuedAt, attempts: 0, next_attempt_at: queuedAt, last_error: null },
    { actor: { kind: 'customer', id: claims.sub }, action: `transfer.${outcome === 'confirmed' ? 'confirm' : 'decline'}`, resource: answerId, outcome: 'success', origin: claims.origin, detail: `step=${step.id}` },
  );
  if (!stored) throw new PivotError('TOKEN_REPLAYED');
  return { outcome, noticeId };
}
