/**
 * Step kind `transfer`: the agent prepares a transfer (amount, payee); the customer confirms or
 * declines it inside the vault frame, which shows it from the signed token. The vault records the
 * consent; it moves no money.
 *
 * @module
 */
import * as v from 'valibot';
import { AuthenticationResponseSchema } from '../passkeys.ts';
import {
  AmountSchema,
  PayeeSchema,
  PivotTokenFieldSchema,
  STEP_PURPOSE_MAX_CHARS,
  STEP_REFERENCE_MAX_CHARS,
  StepIdSchema,
  boundedText,
  type Amount,
  type Payee,
} from '../values.ts';
import { DECISION_MAX_REFUSED_PER_TOKEN, DECISION_OUTCOMES, DECISIONS, type Decision, type DecisionOutcome } from './decision.ts';
import type { AgentWords, CustomerView, StepDefinition } from './definition.ts';

export const TransferFields = {
  kind: v.literal('transfer'),
  amount: AmountSchema,
  payee: PayeeSchema,
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
} as const;

/** The agent's request for a step of this kind (`POST /v1/agent/conversations/:id/steps`); no unknown keys. */
export const TransferStepRequestSchema = v.strictObject({ ...TransferFields, payee: v.strictObject(PayeeSchema.entries) });

export const TransferStepSchema = v.object({ id: StepIdSchema, ...TransferFields });

export const TransferDisplaySchema = v.strictObject({
  kind: v.literal('transfer'),
  stepId: v.string(),
  amount: AmountSchema,
  formattedAmount: v.string(),
  payee: PayeeSchema,
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
});

export const TRANSFER_DECISIONS = DECISIONS;
export type TransferDecision = Decision;
export const TRANSFER_OUTCOMES = DECISION_OUTCOMES;
export type TransferOutcome = DecisionOutcome;

/** Same-origin vault path of the transfer confirm/decline endpoint. */
export const TRANSFER_CONFIRMATIONS_PATH = '/v1/transfer-confirmations';
/** Largest body `POST /v1/transfer-confirmations` accepts, in bytes (a pivot token + the answer). */
export const TRANSFER_CONFIRMATION_MAX_BODY_BYTES = 5 * 1024;

export const TransferConfirmationRequestSchema = v.strictObject({
  pivotToken: PivotTokenFieldSchema,
  /** The customer's passkey assertion for this step's challenge (protocol/passkeys.ts). */
  assertion: v.optional(AuthenticationResponseSchema),
  decision: v.picklist(DECISIONS),
});
export type TransferConfirmationRequest = v.InferOutput<typeof TransferConfirmationRequestSchema>;

export const TransferConfirmationResponseSchema = v.strictObject({ outcome: v.picklist(DECISION_OUTCOMES) });
export type TransferConfirmationResponse = v.InferOutput<typeof TransferConfirmationResponseSchema>;

/** The transfer as signed in the pivot token; the chat server checks the notice's copy against its step. */
export const TransferNoticeSchema = v.object({ amount: AmountSchema, payee: PayeeSchema });

export interface TransferStepView {
  readonly amount: Amount;
  readonly payee: Payee;
}

/** The vault frame's title for this kind (the iframe's and the frame document's). */
export const TRANSFER_FRAME_TITLE = 'Secure transfer confirmation';

/** What the customer's widget shows of a transfer step. */
export const transferCustomer: CustomerView<TransferStepView, { readonly outcome: DecisionOutcome } & Partial<TransferStepView>> = {
  heading: (step, money) => `Confirm transfer: ${money(step.amount)} to ${step.payee.name}`,
  action: 'Review and confirm',
  frameTitle: TRANSFER_FRAME_TITLE,
  done: (result) => `Transfer ${result.outcome}`,
  resultOf: (event) => {
    const outcome = event.outcome ?? event.transfer?.outcome;
    return outcome ? { outcome } : null;
  },
};

/** What the console and the chat server show of a transfer step. */
export const transferAgent: AgentWords<TransferStepView, { readonly outcome: DecisionOutcome } & Partial<TransferStepView>> = {
  label: 'Transfer confirmation',
  requestAction: 'Request transfer confirmation',
  requested: (step, money) => `Confirmation of a ${money(step.amount)} transfer to ${step.payee.name} requested.`,
  logLine: (step, money) => `Transfer confirmation requested: ${money(step.amount)} to ${step.payee.name} (account …${step.payee.accountLast4})`,
  listLine: (step, money) => `Transfer confirmation requested: ${money(step.amount)} to ${step.payee.name}`,
  completed: (result, money) =>
    result.amount && result.payee
      ? `Transfer of ${money(result.amount)} to ${result.payee.name} (…${result.payee.accountLast4}) ${result.outcome}`
      : `Transfer ${result.outcome}`,
  unusedForm: 'a secure transfer confirmation',
  unusedNothing: 'no answer',
};

export const transfer: StepDefinition<'transfer', TransferStepView, { readonly outcome: DecisionOutcome } & Partial<TransferStepView>> = {
  kind: 'transfer',
  requiredAcr: 'bank',
  withoutPasskey: 'refuse',
  vaultPath: TRANSFER_CONFIRMATIONS_PATH,
  maxBodyBytes: TRANSFER_CONFIRMATION_MAX_BODY_BYTES,
  maxRefusedPerToken: DECISION_MAX_REFUSED_PER_TOKEN,
  agent: transferAgent,
  customer: transferCustomer,
};
