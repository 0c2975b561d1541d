/**
 * Amounts typed by an agent in major units ("12.50") to minor units (1250) without floats.
 *
 * @module
 */
import { MAX_AMOUNT_MINOR, currencyDigits } from '../../protocol/values.ts';

/** Largest amount an agent may request, in minor units (AmountSchema's maximum). */
export { MAX_AMOUNT_MINOR };

/** Currencies offered by the console's currency select. */
export const CONSOLE_CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'JPY'] as const;

/**
 * "12.50" (or "12,50", "12.5", "12") in `currency` -> 1250. Returns null for anything that is not
 * a plain positive amount with at most the currency's number of decimals, or is out of range.
 */
export function toMinorUnits(input: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const match = /^(\d{1,12})(?:[.,](\d*))?$/.exec(input.trim());
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  const minor = Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) && minor >= 1 && minor <= MAX_AMOUNT_MINOR ? minor : null;
}
