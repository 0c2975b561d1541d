/**
 * Values every contract shares: bounded text, money, payees, step ids, assurance levels, card
 * brands. Imports nothing of ours, so a step kind (`protocol/steps/`) and every realm can build on
 * them without import cycles.
 *
 * @module
 */
import * as v from 'valibot';

/** Printable text without control characters, bounded. */
export const boundedText = (max: number) =>
  v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[^\u0000-\u001f\u007f]*$/));

/** Longest purpose line of a step, in characters. */
export const STEP_PURPOSE_MAX_CHARS = 140;
/** Longest reference of a step, in characters. */
export const STEP_REFERENCE_MAX_CHARS = 64;

/** Assurance levels, weakest first. */
export const ACR_LEVELS = ['none', 'channel', 'bank'] as const;
export type Acr = (typeof ACR_LEVELS)[number];
export const AcrSchema = v.picklist(ACR_LEVELS);

export function acrAtLeast(have: Acr, need: Acr): boolean {
  return ACR_LEVELS.indexOf(have) >= ACR_LEVELS.indexOf(need);
}

/** ISO 4217 code, upper case. */
export const CurrencySchema = v.pipe(v.string(), v.regex(/^[A-Z]{3}$/));

/** Largest amount of any step, in minor units. */
export const MAX_AMOUNT_MINOR = 100_000_000;

/** An amount in minor units (cents) so that no float ever carries money. */
export const AmountSchema = v.object({
  minor: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_AMOUNT_MINOR)),
  currency: CurrencySchema,
});
export type Amount = v.InferOutput<typeof AmountSchema>;

/** Longest payee name, in characters (the SEPA creditor name limit). */
export const PAYEE_NAME_MAX_CHARS = 70;

/** A party paid by the customer: a display name and the last four characters of the account (IBAN tail). */
export const PayeeSchema = v.object({
  name: boundedText(PAYEE_NAME_MAX_CHARS),
  accountLast4: v.pipe(v.string(), v.regex(/^[0-9A-Z]{4}$/)),
});
export type Payee = v.InferOutput<typeof PayeeSchema>;

export const StepIdSchema = v.pipe(v.string(), v.regex(/^stp_[A-Za-z0-9_-]{16,64}$/));

/** Longest pivot token (compact JWS) any request may carry, in characters. */
export const PIVOT_TOKEN_MAX_CHARS = 4096;
/** A pivot token as a request field (its signature is checked by the vault, not by the schema). */
export const PivotTokenFieldSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(PIVOT_TOKEN_MAX_CHARS));

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'unknown'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

/** The one list of brand display names (chat server, widget, console and vault frame). */
export const CARD_BRAND_NAMES: Readonly<Record<CardBrand, string>> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  unknown: 'Card',
};

/** "Visa •••• 4242" */
export function cardLabel(card: { readonly brand: CardBrand; readonly last4: string }): string {
  return `${CARD_BRAND_NAMES[card.brand] ?? 'Card'} •••• ${card.last4}`;
}

/** Minor-unit digits of an ISO 4217 currency (2 when Intl does not know it). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Format an amount for display, e.g. `{minor: 1250, currency: 'EUR'}` -> "€12.50". */
export function formatAmount(amount: Amount, locale = 'en'): string {
  const digits = currencyDigits(amount.currency);
  return new Intl.NumberFormat(locale, { style: 'currency', currency: amount.currency }).format(amount.minor / 10 ** digits);
}
