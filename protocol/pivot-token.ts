/**
 * The pivot token: a JWS the chat server signs, the widget carries, and the vault verifies
 * (in the frame, to decide whether to render; in the vault service, authoritatively).
 *
 * Only the claims set is described here; signature checks live with each verifier.
 *
 * @module
 */
import * as v from 'valibot';

/** JOSE header `typ` of every pivot token. Checked by every verifier. */
export const PIVOT_TOKEN_TYP = 'pivot+jwt';
/** The only algorithms a verifier accepts for pivot tokens. */
export const PIVOT_TOKEN_ALGS = ['ES256'] as const;
/** A pivot token may live at most this long (exp - iat), in seconds. */
export const PIVOT_TOKEN_MAX_LIFETIME_S = 300;
/** The lifetime the chat server gives the tokens it signs, in seconds. */
export const PIVOT_TOKEN_TTL_S = 120;
/** Clock skew tolerated by verifiers, in seconds. */
export const PIVOT_TOKEN_CLOCK_SKEW_S = 30;

/** Assurance levels, weakest first. */
export const ACR_LEVELS = ['none', 'channel', 'bank'] as const;
export type Acr = (typeof ACR_LEVELS)[number];
export const AcrSchema = v.picklist(ACR_LEVELS);

export function acrAtLeast(have: Acr, need: Acr): boolean {
  return ACR_LEVELS.indexOf(have) >= ACR_LEVELS.indexOf(need);
}

/** ISO 4217 code, upper case. */
export const CurrencySchema = v.pipe(v.string(), v.regex(/^[A-Z]{3}$/));

/** An amount in minor units (cents) so that no float ever carries money. */
export const AmountSchema = v.object({
  minor: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000_000)),
  currency: CurrencySchema,
});
export type Amount = v.InferOutput<typeof AmountSchema>;

/** What an agent may ask of a customer inside the vault frame. */
export const STEP_KINDS = ['card_payment', 'address_change', 'transfer'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** Printable text without control characters, bounded. */
export const boundedText = (max: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[^\u0000-\u001f\u007f]*$/));

/** Longest payee name of a transfer, in characters (the SEPA creditor name limit). */
export const PAYEE_NAME_MAX_CHARS = 70;

/** The party a transfer pays: a display name and the last four characters of the account (IBAN tail). */
export const PayeeSchema = v.object({
  name: boundedText(PAYEE_NAME_MAX_CHARS),
  accountLast4: v.pipe(v.string(), v.regex(/^[0-9A-Z]{4}$/)),
});
export type Payee = v.InferOutput<typeof PayeeSchema>;

/** The fields an agent supplies for each step kind (the step id is added by the chat server). */
export const CardPaymentFields = {
  kind: v.literal('card_payment'),
  amount: AmountSchema,
  purpose: boundedText(140),
  reference: boundedText(64),
} as const;
export const AddressChangeFields = {
  kind: v.literal('address_change'),
  purpose: boundedText(140),
  reference: boundedText(64),
} as const;
export const TransferFields = {
  kind: v.literal('transfer'),
  amount: AmountSchema,
  payee: PayeeSchema,
  purpose: boundedText(140),
  reference: boundedText(64),
} as const;

export const StepIdSchema = v.pipe(v.string(), v.regex(/^stp_[A-Za-z0-9_-]{16,64}$/));

/** What a step asks of the customer. Carried inside the signed token, shown by the vault. */
export const StepSchema = v.variant('kind', [
  v.object({ id: StepIdSchema, ...CardPaymentFields }),
  v.object({ id: StepIdSchema, ...AddressChangeFields }),
  v.object({ id: StepIdSchema, ...TransferFields }),
]);
export type Step = v.InferOutput<typeof StepSchema>;
export type StepOf<K extends StepKind> = Extract<Step, { kind: K }>;

/** Claims of a pivot token (after signature verification). */
export const PivotClaimsSchema = v.object({
  iss: v.pipe(v.string(), v.url()),
  aud: v.pipe(v.string(), v.url()),
  sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  jti: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
  iat: v.pipe(v.number(), v.integer()),
  nbf: v.pipe(v.number(), v.integer()),
  exp: v.pipe(v.number(), v.integer()),
  /** Origin of the host page the vault frame must be embedded in. */
  origin: v.pipe(v.string(), v.url()),
  /** Conversation id. */
  cnv: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  step: StepSchema,
  acr: AcrSchema,
});
export type PivotClaims = v.InferOutput<typeof PivotClaimsSchema>;

/** Format an amount for display, e.g. `{minor: 1250, currency: 'EUR'}` -> "€12.50". */
export function formatAmount(amount: Amount, locale = 'en'): string {
  const digits = currencyDigits(amount.currency);
  return new Intl.NumberFormat(locale, { style: 'currency', currency: amount.currency }).format(
    amount.minor / 10 ** digits,
  );
}

function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}
