/**
 * Display strings shared by the widget and the console.
 *
 * @module
 */
import type { CardBrand } from '../../protocol/frame.ts';
import { formatAmount, type Amount } from '../../protocol/pivot-token.ts';

const BRAND_NAMES: Record<CardBrand, string> = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  unknown: 'Card',
};

export function brandName(brand: CardBrand): string {
  return BRAND_NAMES[brand] ?? 'Card';
}

/** "Visa •••• 4242" */
export function cardLabel(card: { readonly brand: CardBrand; readonly last4: string }): string {
  return `${brandName(card.brand)} •••• ${card.last4}`;
}

/** "€12.50" in the given locale, falling back to English for a locale Intl does not know. */
export function money(amount: Amount, locale?: string | null): string {
  try {
    return formatAmount(amount, locale || 'en');
  } catch {
    return formatAmount(amount, 'en');
  }
}
