/**
 * The chat server's step kinds, one module each, looked up by kind or by notice event.
 *
 * @module
 */
import * as v from 'valibot';
import { STEP_DEFINITIONS, StepSchema, type Step, type StepKind } from '../../protocol/steps/index.ts';
import type { Acr } from '../../protocol/values.ts';
import type { VaultNoticeClaims } from '../../protocol/vault-api.ts';
import { addressChangeOnServer, type AddressChangeResult } from './address-change.ts';
import { cardPaymentOnServer, type CardPaymentResult } from './card-payment.ts';
import type { ServerStepKind } from './definition.ts';
import { payeeConfirmationOnServer, type PayeeConfirmationResult } from './payee-confirmation.ts';
import { transferOnServer, type TransferResult } from './transfer.ts';

export type { CompletedFields, ServerStepKind } from './definition.ts';

/** What a vault notice reports, per step kind. */
export type StepResult = CardPaymentResult | AddressChangeResult | TransferResult | PayeeConfirmationResult;

/** Every kind, by kind. */
export const SERVER_STEP_KINDS: { readonly [K in StepKind]: ServerStepKind<K, Extract<StepResult, { kind: K }>> } = {
  card_payment: cardPaymentOnServer,
  address_change: addressChangeOnServer,
  transfer: transferOnServer,
  payee_confirmation: payeeConfirmationOnServer,
};

type AnyServerStepKind = ServerStepKind<StepKind, StepResult>;

/** The kind a step belongs to, typed loosely enough to call with any step and result. */
export function serverStepKind(kind: StepKind): AnyServerStepKind {
  return SERVER_STEP_KINDS[kind] as unknown as AnyServerStepKind;
}

/** The assurance a session needs before a pivot token is signed for a step of `kind` (its protocol definition). */
export function requiredAcrFor(kind: StepKind): Acr {
  return STEP_DEFINITIONS[kind].requiredAcr;
}

/** The kind whose notices include `event`. */
function kindOfNotice(event: VaultNoticeClaims['event']): AnyServerStepKind {
  for (const kind of Object.values(SERVER_STEP_KINDS) as unknown as AnyServerStepKind[]) {
    if (kind.noticeEvents.includes(event)) return kind;
  }
  throw new Error(`no step kind completes on ${event}`);
}

/** The result and the agent's line for a verified notice. */
export function noticeResult(claims: VaultNoticeClaims): { result: StepResult; text: string } {
  const kind = kindOfNotice(claims.event);
  const result = kind.resultOf(claims);
  return { result, text: kind.text(result) };
}

/**
 * A fresh copy of a step's content (its kind's fields only, per the kind's schema), e.g. from a
 * stored step record or an agent's request.
 */
export function copyStep(step: Step): Step {
  return v.parse(StepSchema, step);
}
