/**
 * The customer-facing sentences of the frame. A short table instead of the whole error catalog
 * (protocol/errors.ts), which would cost the bundle ~1.4 KB gz; the `code` sent outward is
 * always the catalog's. The sentences hold for every step kind (card payment, address change,
 * transfer): a token failure is known before the kind is.
 *
 * @module
 */

const TEXT: Readonly<Record<string, string>> = {
  TOKEN_EXPIRED: 'This request has expired; ask for a new one.',
  TOKEN_REPLAYED: 'This request has already been used.',
  TOKEN_ORIGIN_MISMATCH: 'This request was issued for another website.',
  FRAME_ALREADY_BEGUN: 'begin() may be called once per frame.',
  FRAME_NOT_ALLOWED: 'This secure form can only be opened from your bank’s chat.',
  BAD_REQUEST: 'The request does not match the schema.',
  CARD_NUMBER_INVALID: 'Enter a valid card number.',
  CARD_BRAND_UNSUPPORTED: 'This card type is not accepted.',
  CARD_EXPIRY_INVALID: 'Enter the expiry date as MM / YY.',
  CARD_EXPIRED: 'This card has expired.',
  CARD_CVC_INVALID: 'Enter the security code from your card.',
  RATE_LIMITED: 'Too many attempts; wait a moment and try again.',
  ADDRESS_LINE_INVALID: 'Enter the street address.',
  ADDRESS_POSTCODE_INVALID: 'Enter a valid postcode.',
  ADDRESS_CITY_INVALID: 'Enter the city.',
  ADDRESS_COUNTRY_INVALID: 'Enter a two-letter country code, e.g. FR.',
  PASSKEY_REQUIRED: 'To answer, first add a passkey below.',
  PASSKEY_ASSERTION_INVALID: 'Your passkey could not be verified. Press the button again.',
  PASSKEY_PROMPT_FAILED: 'No passkey was used. Press the button again, or add a passkey on this device.',
  PASSKEY_USER_NOT_VERIFIED: 'Your device did not verify you. Press the button again to retry.',
  PASSKEY_CHALLENGE_INVALID: 'That passkey request has expired. Press the button again.',
  PASSKEY_CREDENTIAL_UNKNOWN: 'This passkey is not registered with us. Use the passkey you created for this chat.',
};

/** Codes after which the customer may simply try again. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'UPSTREAM_UNAVAILABLE',
  'INTERNAL_ERROR',
  'JWKS_UNAVAILABLE',
  'RATE_LIMITED',
  'PASSKEY_ASSERTION_INVALID',
  'PASSKEY_PROMPT_FAILED',
  'PASSKEY_USER_NOT_VERIFIED',
  'PASSKEY_CHALLENGE_INVALID',
  'PASSKEY_CREDENTIAL_UNKNOWN',
]);

/** A short sentence for the customer about `code`. */
export function messageFor(code: string): string {
  if (TEXT[code]) return TEXT[code];
  if (RETRYABLE_CODES.has(code)) return 'The secure vault is not reachable right now. Please try again.';
  if (code.startsWith('TOKEN_')) return 'This request could not be verified; ask for a new one.';
  return 'Something went wrong; ask for a new request.';
}
