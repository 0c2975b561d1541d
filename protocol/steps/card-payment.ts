/**
 * Step kind `card_payment`: the agent asks for an amount; the customer types a card inside the
 * vault frame; the vault tokenizes it and tells the chat server "Visa •••• 4242".
 *
 * @module
 */
import * as v from 'valibot';
import { AuthenticationResponseSchema } from '../passkeys.ts';
import {
  AmountSchema,
  CARD_BRANDS,
  PivotTokenFieldSchema,
  STEP_PURPOSE_MAX_CHARS,
  STEP_REFERENCE_MAX_CHARS,
  StepIdSchema,
  boundedText,
  cardLabel,
  type Amount,
} from '../values.ts';
import type { AgentWords, CustomerView, StepDefinition } from './definition.ts';

/** The fields an agent supplies (the step id is added by the chat server). */
export const CardPaymentFields = {
  kind: v.literal('card_payment'),
  amount: AmountSchema,
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
} as const;

/** The agent's request for a step of this kind (`POST /v1/agent/conversations/:id/steps`); no unknown keys. */
export const CardPaymentStepRequestSchema = v.strictObject({ ...CardPaymentFields });

/** The step as the signed pivot token carries it. */
export const CardPaymentStepSchema = v.object({ id: StepIdSchema, ...CardPaymentFields });
export type CardPaymentStep = v.InferOutput<typeof CardPaymentStepSchema>;

/** What the frame shows, from the signed token only. */
export const CardPaymentDisplaySchema = v.strictObject({
  kind: v.literal('card_payment'),
  stepId: v.string(),
  amount: AmountSchema,
  formattedAmount: v.string(),
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
});

/** Card result as displayed outside the vault: never more than brand, last 4 and expiry. */
export const CardDisplaySchema = v.strictObject({
  token: v.pipe(v.string(), v.regex(/^tok_[A-Za-z0-9_-]{16,64}$/)),
  brand: v.picklist(CARD_BRANDS),
  last4: v.pipe(v.string(), v.regex(/^[0-9]{4}$/)),
  expMonth: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)),
  expYear: v.pipe(v.number(), v.integer(), v.minValue(2000), v.maxValue(2100)),
});
export type CardDisplay = v.InferOutput<typeof CardDisplaySchema>;

/** Same-origin vault path of the tokenize endpoint. */
export const TOKENS_PATH = '/v1/tokens';
/** Largest body `POST /v1/tokens` accepts, in bytes. */
export const TOKENIZE_MAX_BODY_BYTES = 8 * 1024;
/** Refused cards allowed per pivot token before the token itself is refused (card testing). */
export const MAX_REFUSED_CARDS_PER_TOKEN = 5;

export const TokenizeRequestSchema = v.strictObject({
  pivotToken: PivotTokenFieldSchema,
  /** The customer's passkey assertion for this step's challenge (protocol/passkeys.ts). */
  assertion: v.optional(AuthenticationResponseSchema),
  card: v.strictObject({
    number: v.pipe(v.string(), v.regex(/^[0-9 ]{12,23}$/)),
    expMonth: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)),
    expYear: v.pipe(v.number(), v.integer(), v.minValue(2000), v.maxValue(2100)),
    cvc: v.pipe(v.string(), v.regex(/^[0-9]{3,4}$/)),
    name: v.optional(v.pipe(v.string(), v.maxLength(100))),
  }),
});
export type TokenizeRequest = v.InferOutput<typeof TokenizeRequestSchema>;
export const TokenizeResponseSchema = CardDisplaySchema;

/** The outward result of a card payment: what the widget, the console and the agent may see. */
export interface CardPaymentResult {
  readonly brand: CardDisplay['brand'];
  readonly last4: string;
}

/** The vault frame's title for this kind (the iframe's and the frame document's). */
export const CARD_PAYMENT_FRAME_TITLE = 'Secure card payment';

/** What the customer's widget shows of a card_payment step. */
export const cardPaymentCustomer: CustomerView<{ readonly amount: Amount }, CardPaymentResult> = {
  heading: (step, money) => `Card payment requested: ${money(step.amount)}`,
  action: 'Pay securely',
  frameTitle: CARD_PAYMENT_FRAME_TITLE,
  done: (result) => `${cardLabel(result)} provided`,
  resultOf: (event) => (event.card ? { brand: event.card.brand, last4: event.card.last4 } : null),
};

/** What the console and the chat server show of a card_payment step. */
export const cardPaymentAgent: AgentWords<{ readonly amount: Amount }, CardPaymentResult> = {
  label: 'Card payment',
  requestAction: 'Request card payment',
  requested: (step, money) => `Card payment of ${money(step.amount)} requested.`,
  logLine: (step, money) => `Card payment requested: ${money(step.amount)}`,
  listLine: (step, money) => `Payment requested: ${money(step.amount)} for ${step.purpose}`,
  completed: (result) => `Card provided: ${cardLabel(result)}`,
  unusedForm: 'a secure payment form',
  unusedNothing: 'no card',
};

export const cardPayment: StepDefinition<'card_payment', { readonly amount: Amount }, CardPaymentResult> = {
  kind: 'card_payment',
  requiredAcr: 'bank',
  withoutPasskey: 'bank',
  vaultPath: TOKENS_PATH,
  maxBodyBytes: TOKENIZE_MAX_BODY_BYTES,
  maxRefusedPerToken: MAX_REFUSED_CARDS_PER_TOKEN,
  agent: cardPaymentAgent,
  customer: cardPaymentCustomer,
};
