/**
 * Display strings shared by the widget and the console.
 *
 * @module
 */
import { formatAmount, type Amount } from '../../protocol/values.ts';

/** The brand names and "Visa •••• 4242" are protocol's, shared with the chat server and the vault frame. */
export { cardLabel } from '../../protocol/values.ts';

/** "€12.50" in the given locale, falling back to English for a locale Intl does not know. */
export function money(amount: Amount, locale?: string | null): string {
  try {
    return formatAmount(amount, locale || 'en');
  } catch {
    return formatAmount(amount, 'en');
  }
}
