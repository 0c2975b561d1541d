/**
 * The step kinds: what an agent may ask of a customer inside the vault frame. Each kind is one
 * module of this folder (its definition and schemas); this index lists them once, and every realm
 * looks a kind up here instead of switching on it.
 *
 * Adding a kind: `docs/adding-a-step-kind.md`.
 *
 * @module
 */
import * as v from 'valibot';
import {
  ADDRESS_CHANGE_FRAME_TITLE,
  addressChange,
  addressChangeCustomer,
  AddressChangeDisplaySchema,
  AddressChangeFields,
  AddressChangeStepRequestSchema,
  AddressChangeStepSchema,
} from './address-change.ts';
import {
  CARD_PAYMENT_FRAME_TITLE,
  cardPayment,
  cardPaymentCustomer,
  CardPaymentDisplaySchema,
  CardPaymentFields,
  CardPaymentStepRequestSchema,
  CardPaymentStepSchema,
} from './card-payment.ts';
import {
  PAYEE_CONFIRMATION_FRAME_TITLE,
  payeeConfirmation,
  payeeConfirmationCustomer,
  PayeeConfirmationDisplaySchema,
  PayeeConfirmationFields,
  PayeeConfirmationStepRequestSchema,
  PayeeConfirmationStepSchema,
} from './payee-confirmation.ts';
import { TRANSFER_FRAME_TITLE, transfer, transferCustomer, TransferDisplaySchema, TransferFields, TransferStepRequestSchema, TransferStepSchema } from './transfer.ts';

export * from './definition.ts';
export * from './card-payment.ts';
export * from './address-change.ts';
export * from './transfer.ts';
export * from './decision.ts';
export * from './payee-confirmation.ts';

/**
 * Every kind, in the order the console offers them (card payment first: the default). Literals,
 * not reads of the definitions: the vault frame's bundle keeps only what it uses.
 */
export const STEP_KINDS = ['card_payment', 'address_change', 'transfer', 'payee_confirmation'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Each kind's definition, by kind. */
export const STEP_DEFINITIONS = {
  card_payment: cardPayment,
  address_change: addressChange,
  transfer,
  payee_confirmation: payeeConfirmation,
} as const satisfies { readonly [K in StepKind]: { readonly kind: K } };

/**
 * What the customer's widget shows of each kind, by kind: the same objects as the definitions'
 * `customer`, listed apart so that the widget's bundle does not carry the agent's words.
 */
export const CUSTOMER_VIEWS = {
  card_payment: cardPaymentCustomer,
  address_change: addressChangeCustomer,
  transfer: transferCustomer,
  payee_confirmation: payeeConfirmationCustomer,
} as const satisfies { readonly [K in StepKind]: unknown };

/** The vault frame's title of each kind: the frame document names its step as the iframe does. */
export const FRAME_TITLES = {
  card_payment: CARD_PAYMENT_FRAME_TITLE,
  address_change: ADDRESS_CHANGE_FRAME_TITLE,
  transfer: TRANSFER_FRAME_TITLE,
  payee_confirmation: PAYEE_CONFIRMATION_FRAME_TITLE,
} as const satisfies { readonly [K in StepKind]: string };

export function stepDefinition<K extends StepKind>(kind: K): (typeof STEP_DEFINITIONS)[K] {
  return STEP_DEFINITIONS[kind];
}

/** What a step asks of the customer. Carried inside the signed token, shown by the vault. */
export const StepSchema = v.variant('kind', [CardPaymentStepSchema, AddressChangeStepSchema, TransferStepSchema, PayeeConfirmationStepSchema]);
export type Step = v.InferOutput<typeof StepSchema>;
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** What the agent asks of the customer, one shape per kind (`POST /v1/agent/conversations/:id/steps`). */
export const StepRequestSchema = v.variant('kind', [
  CardPaymentStepRequestSchema,
  AddressChangeStepRequestSchema,
  TransferStepRequestSchema,
  PayeeConfirmationStepRequestSchema,
]);
export type StepRequest = v.InferOutput<typeof StepRequestSchema>;

/** The agent's fields of each kind (the console's form derives its inputs from them). */
export const STEP_FIELDS = {
  card_payment: CardPaymentFields,
  address_change: AddressChangeFields,
  transfer: TransferFields,
  payee_confirmation: PayeeConfirmationFields,
} as const;

/** What the frame will show, taken from the SIGNED token only; one shape per step kind. */
export const DisplayInfoSchema = v.variant('kind', [
  CardPaymentDisplaySchema,
  AddressChangeDisplaySchema,
  TransferDisplaySchema,
  PayeeConfirmationDisplaySchema,
]);
export type DisplayInfo = v.InferOutput<typeof DisplayInfoSchema>;
