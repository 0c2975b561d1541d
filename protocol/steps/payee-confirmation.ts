/**
 * Step kind `payee_confirmation`: the agent prepares a new payee (name and account ending) for the
 * customer's list of beneficiaries; the customer confirms or declines adding it, inside the vault
 * frame, which shows the payee from the signed token. Banks ask for the customer's own answer
 * here because a payee added by someone else is how account-takeover fraud pays itself. The
 * vault records the consent; adding the payee is the bank's back end's job.
 *
 * @module
 */
import * as v from 'valibot';
import { AuthenticationResponseSchema } from '../passkeys.ts';
import { PayeeSchema, PivotTokenFieldSchema, STEP_PURPOSE_MAX_CHARS, STEP_REFERENCE_MAX_CHARS, StepIdSchema, boundedText, type Payee } from '../values.ts';
import { DECISION_MAX_REFUSED_PER_TOKEN, DECISION_OUTCOMES, DECISIONS, type DecisionOutcome } from './decision.ts';
import type { AgentWords, CustomerView, StepDefinition } from './definition.ts';

export const PayeeConfirmationFields = {
  kind: v.literal('payee_confirmation'),
  payee: PayeeSchema,
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
} as const;

/** The agent's request for a step of this kind (`POST /v1/agent/conversations/:id/steps`); no unknown keys. */
export const PayeeConfirmationStepRequestSchema = v.strictObject({ ...PayeeConfirmationFields, payee: v.strictObject(PayeeSchema.entries) });

export const PayeeConfirmationStepSchema = v.object({ id: StepIdSchema, ...PayeeConfirmationFields });

export const PayeeConfirmationDisplaySchema = v.strictObject({
  kind: v.literal('payee_confirmation'),
  stepId: v.string(),
  payee: PayeeSchema,
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
});

/** Same-origin vault path of the payee confirm/decline endpoint. */
export const PAYEE_CONFIRMATIONS_PATH = '/v1/payee-confirmations';
/** Largest body `POST /v1/payee-confirmations` accepts, in bytes (a pivot token + the answer). */
export const PAYEE_CONFIRMATION_MAX_BODY_BYTES = 5 * 1024;

export const PayeeConfirmationRequestSchema = v.strictObject({
  pivotToken: PivotTokenFieldSchema,
  /** The customer's passkey assertion for this step's challenge (protocol/passkeys.ts). */
  assertion: v.optional(AuthenticationResponseSchema),
  decision: v.picklist(DECISIONS),
});
export type PayeeConfirmationRequest = v.InferOutput<typeof PayeeConfirmationRequestSchema>;

export const PayeeConfirmationResponseSchema = v.strictObject({ outcome: v.picklist(DECISION_OUTCOMES) });
export type PayeeConfirmationResponse = v.InferOutput<typeof PayeeConfirmationResponseSchema>;

/** The payee as signed in the pivot token; the chat server checks the notice's copy against its step. */
export const PayeeNoticeSchema = v.object({ payee: PayeeSchema });

type PayeeResult = { readonly outcome: DecisionOutcome; readonly payee?: Payee };

/** The vault frame's title for this kind (the iframe's and the frame document's). */
export const PAYEE_CONFIRMATION_FRAME_TITLE = 'Secure payee confirmation';

/** What the customer's widget shows of a payee confirmation. */
export const payeeConfirmationCustomer: CustomerView<{ readonly payee: Payee }, PayeeResult> = {
  heading: (step) => `Confirm new payee: ${step.payee.name}`,
  action: 'Review and confirm',
  frameTitle: PAYEE_CONFIRMATION_FRAME_TITLE,
  done: (result) => `New payee ${result.outcome}`,
  resultOf: (event) => {
    const outcome = event.outcome ?? event.payee?.outcome;
    return outcome ? { outcome } : null;
  },
};

/** What the console and the chat server show of a payee confirmation. */
export const payeeConfirmationAgent: AgentWords<{ readonly payee: Payee }, PayeeResult> = {
  label: 'New payee confirmation',
  requestAction: 'Request payee confirmation',
  requested: (step) => `Confirmation of the new payee ${step.payee.name} requested.`,
  logLine: (step) => `New payee confirmation requested: ${step.payee.name} (account …${step.payee.accountLast4})`,
  listLine: (step) => `New payee confirmation requested: ${step.payee.name}`,
  completed: (result) =>
    result.payee ? `New payee ${result.payee.name} (…${result.payee.accountLast4}) ${result.outcome}` : `New payee ${result.outcome}`,
  unusedForm: 'a secure payee confirmation',
  unusedNothing: 'no answer',
};

export const payeeConfirmation: StepDefinition<'payee_confirmation', { readonly payee: Payee }, PayeeResult> = {
  kind: 'payee_confirmation',
  requiredAcr: 'bank',
  withoutPasskey: 'refuse',
  vaultPath: PAYEE_CONFIRMATIONS_PATH,
  maxBodyBytes: PAYEE_CONFIRMATION_MAX_BODY_BYTES,
  maxRefusedPerToken: DECISION_MAX_REFUSED_PER_TOKEN,
  agent: payeeConfirmationAgent,
  customer: payeeConfirmationCustomer,
};
