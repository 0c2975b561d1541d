/**
 * Postal address rules, shared by the vault frame (checks as the customer types) and the vault
 * service (authoritative, before the pivot token's jti is consumed). Each failure is one stable
 * catalog code naming the field; the values themselves never appear in a result or an error.
 *
 * The service additionally checks that the country is an ASSIGNED ISO 3166-1 alpha-2 code
 * (vault/service/steps/countries.ts); the frame only checks the shape, to keep its bundle small.
 *
 * @module
 */
import { ADDRESS_CITY_MAX_CHARS } from '../../protocol/frame.ts';
import { ADDRESS_LINE_MAX_CHARS, ADDRESS_MAX_LINES, POSTCODE_MAX_CHARS, type PostalAddress } from '../../protocol/vault-api.ts';

export type AddressErrorCode = 'ADDRESS_LINE_INVALID' | 'ADDRESS_POSTCODE_INVALID' | 'ADDRESS_CITY_INVALID' | 'ADDRESS_COUNTRY_INVALID';

/** Printable text (no control characters, no markup brackets) with at least one letter or digit. */
const TEXT = /^[^\u0000-\u001f\u007f-\u009f<>]*[\p{L}\p{N}][^\u0000-\u001f\u007f-\u009f<>]*$/u;
/** Letters, digits, inner spaces and hyphens; 3 to POSTCODE_MAX_CHARS characters. */
const POSTCODE = new RegExp(`^[A-Z0-9][A-Z0-9 -]{1,${POSTCODE_MAX_CHARS - 2}}[A-Z0-9]$`);

const ok = (text: string, max: number): boolean => text.length <= max && TEXT.test(text);

/**
 * Normalise (trim, drop empty extra lines, upper-case postcode and country) and check `input`.
 *
 * @example checkAddress({ lines: ['12 rue de la République'], postcode: '69002', city: 'Lyon', country: 'fr' })
 */
export function checkAddress(input: PostalAddress): { ok: true; address: PostalAddress } | { ok: false; code: AddressErrorCode } {
  const lines = input.lines.map((line) => line.trim());
  // The first line is required; later ones are optional and dropped when empty.
  const kept = lines.filter((line, i) => i === 0 || line !== '');
  if (kept.length > ADDRESS_MAX_LINES || !kept.every((line) => ok(line, ADDRESS_LINE_MAX_CHARS))) return { ok: false, code: 'ADDRESS_LINE_INVALID' };
  const postcode = input.postcode.trim().toUpperCase();
  if (!POSTCODE.test(postcode)) return { ok: false, code: 'ADDRESS_POSTCODE_INVALID' };
  const city = input.city.trim();
  if (!ok(city, ADDRESS_CITY_MAX_CHARS)) return { ok: false, code: 'ADDRESS_CITY_INVALID' };
  const country = input.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) return { ok: false, code: 'ADDRESS_COUNTRY_INVALID' };
  return { ok: true, address: { lines: kept, postcode, city, country } };
}
