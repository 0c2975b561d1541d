/**
 * Card data rules shared by the vault frame (live feedback while typing) and the vault service
 * (authoritative check before anything is stored): Luhn, brand detection, per-brand lengths,
 * CVC length, expiry, and the input formatting helpers of the card form.
 *
 * Pure functions over strings and numbers: no DOM, no I/O, nothing logged.
 *
 * @module
 */
import { CARD_BRAND_NAMES, type CardBrand } from '../../protocol/values.ts';

/** Brands the vault accepts (`unknown` is never accepted). */
export type KnownBrand = Exclude<CardBrand, 'unknown'>;

interface BrandRule {
  /** Valid PAN lengths, in digits. */
  readonly lengths: readonly number[];
  /** CVC length, in digits. */
  readonly cvc: number;
  /** Digit groups used to format the number while typing. */
  readonly groups: readonly number[];
}

/** Per-brand rules. Sources: the networks' published IIN ranges and lengths. */
export const BRAND_RULES: Readonly<Record<KnownBrand, BrandRule>> = {
  visa: { lengths: [13, 16, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
  mastercard: { lengths: [16], cvc: 3, groups: [4, 4, 4, 4] },
  amex: { lengths: [15], cvc: 4, groups: [4, 6, 5] },
  discover: { lengths: [16, 17, 18, 19], cvc: 3, groups: [4, 4, 4, 4, 3] },
};

/** Longest PAN any brand allows, in digits. */
export const PAN_MAX_DIGITS = 19;
/** An expiry further in the future than this many years is treated as a typo. */
export const EXPIRY_MAX_YEARS_AHEAD = 20;

/** Card-related error codes (all in protocol/errors.ts). */
export type CardErrorCode =
  | 'CARD_NUMBER_INVALID'
  | 'CARD_BRAND_UNSUPPORTED'
  | 'CARD_EXPIRY_INVALID'
  | 'CARD_EXPIRED'
  | 'CARD_CVC_INVALID';

/** Keep only the digits of user input. */
export function digitsOnly(input: string): string {
  return input.replace(/\D+/g, '');
}

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Brand from the leading digits (works on a partial number while typing).
 *
 * @example detectBrand('4242') // 'visa'
 */
export function detectBrand(digits: string): CardBrand {
  if (/^4/.test(digits)) return 'visa';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^5[1-5]/.test(digits)) return 'mastercard';
  const four = Number(digits.slice(0, 4));
  if (digits.length >= 4 && four >= 2221 && four <= 2720) return 'mastercard';
  if (/^(6011|64[4-9]|65)/.test(digits)) return 'discover';
  const six = Number(digits.slice(0, 6));
  if (digits.length >= 6 && six >= 622126 && six <= 622925) return 'discover';
  return 'unknown';
}

/** How many digits the CVC of this brand has (3 when the brand is not known yet). */
export function cvcLength(brand: CardBrand): number {
  return brand === 'unknown' ? 3 : BRAND_RULES[brand].cvc;
}

/** Largest PAN length for this brand. */
export function maxPanLength(brand: CardBrand): number {
  return brand === 'unknown' ? PAN_MAX_DIGITS : Math.max(...BRAND_RULES[brand].lengths);
}

/** Length at which a number of this brand usually is complete (for live feedback while typing). */
export function typicalPanLength(brand: CardBrand): number {
  return brand === 'amex' ? 15 : brand === 'unknown' ? PAN_MAX_DIGITS : 16;
}

/** Check a complete PAN. Returns `null` when valid, else the error code. */
export function checkPan(digits: string): 'CARD_NUMBER_INVALID' | 'CARD_BRAND_UNSUPPORTED' | null {
  if (!/^[0-9]{12,19}$/.test(digits)) return 'CARD_NUMBER_INVALID';
  const brand = detectBrand(digits);
  if (brand === 'unknown') return 'CARD_BRAND_UNSUPPORTED';
  if (!BRAND_RULES[brand].lengths.includes(digits.length)) return 'CARD_NUMBER_INVALID';
  return luhnValid(digits) ? null : 'CARD_NUMBER_INVALID';
}

/**
 * Check an expiry. A card is valid through the last day of its expiry month.
 * `now` is injectable for tests.
 */
export function checkExpiry(
  month: number,
  year: number,
  now: Date = new Date(),
): 'CARD_EXPIRY_INVALID' | 'CARD_EXPIRED' | null {
  if (!Number.isInteger(month) || month < 1 || month > 12) return 'CARD_EXPIRY_INVALID';
  if (!Number.isInteger(year) || year < 2000 || year > 2100) return 'CARD_EXPIRY_INVALID';
  const thisYear = now.getFullYear();
  const thisMonth = now.getMonth() + 1;
  if (year < thisYear || (year === thisYear && month < thisMonth)) return 'CARD_EXPIRED';
  if (year > thisYear + EXPIRY_MAX_YEARS_AHEAD) return 'CARD_EXPIRY_INVALID';
  return null;
}

/** Check a CVC for the given brand. */
export function checkCvc(cvc: string, brand: CardBrand): 'CARD_CVC_INVALID' | null {
  return new RegExp(`^[0-9]{${cvcLength(brand)}}$`).test(cvc) ? null : 'CARD_CVC_INVALID';
}

export interface CardInput {
  readonly number: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly cvc: string;
}

export type CardCheck =
  | { readonly ok: true; readonly pan: string; readonly brand: KnownBrand; readonly last4: string }
  | { readonly ok: false; readonly code: CardErrorCode; readonly field: 'number' | 'expiry' | 'cvc' };

/**
 * Validate a whole card, first failing field first (number, expiry, CVC). Spaces in the number
 * are ignored; any other non-digit makes it invalid.
 */
export function validateCard(card: CardInput, now: Date = new Date()): CardCheck {
  if (!/^[0-9 ]+$/.test(card.number)) return { ok: false, code: 'CARD_NUMBER_INVALID', field: 'number' };
  const pan = digitsOnly(card.number);
  const panError = checkPan(pan);
  if (panError) return { ok: false, code: panError, field: 'number' };
  const brand = detectBrand(pan) as KnownBrand;
  const expiryError = checkExpiry(card.expMonth, card.expYear, now);
  if (expiryError) return { ok: false, code: expiryError, field: 'expiry' };
  const cvcError = checkCvc(card.cvc, brand);
  if (cvcError) return { ok: false, code: cvcError, field: 'cvc' };
  return { ok: true, pan, brand, last4: pan.slice(-4) };
}

// ---------------------------------------------------------------- input formatting

/**
 * Group the digits of a (partial) PAN for display in the input, per brand.
 *
 * @example formatPan('378282246310005') // '3782 822463 10005'
 */
export function formatPan(input: string): string {
  const brand = detectBrand(digitsOnly(input));
  const digits = digitsOnly(input).slice(0, maxPanLength(brand));
  const groups = brand === 'unknown' ? [4, 4, 4, 4, 3] : BRAND_RULES[brand].groups;
  const out: string[] = [];
  let at = 0;
  for (const size of groups) {
    if (at >= digits.length) break;
    out.push(digits.slice(at, at + size));
    at += size;
  }
  return out.join(' ');
}

/**
 * Format what the customer typed in the expiry field as `MM / YY`. The separator appears once
 * a third digit is typed, so deleting back over it never fights the customer.
 *
 * @example formatExpiry('4') // '04'; formatExpiry('123') // '12 / 3'; formatExpiry('1230') // '12 / 30'
 */
export function formatExpiry(input: string): string {
  let digits = digitsOnly(input);
  // A leading 2-9 can only be a one-digit month.
  if (/^[2-9]/.test(digits)) digits = `0${digits}`;
  digits = digits.slice(0, 4);
  return digits.length <= 2 ? digits : `${digits.slice(0, 2)} / ${digits.slice(2)}`;
}

/** Parse `MM / YY` (or `MMYY`, `MM/YYYY`) into month and four-digit year; `null` if incomplete. */
export function parseExpiry(input: string): { month: number; year: number } | null {
  const m = /^\s*([0-9]{1,2})\s*\/?\s*([0-9]{2}|[0-9]{4})\s*$/.exec(input);
  if (!m) return null;
  const month = Number(m[1]);
  const yy = m[2]!;
  const year = yy.length === 2 ? 2000 + Number(yy) : Number(yy);
  return { month, year };
}

/** Display name of a brand, for messages such as "Visa •••• 4242 saved" (the one list, protocol/values.ts). */
export function brandLabel(brand: CardBrand): string {
  return CARD_BRAND_NAMES[brand];
}
