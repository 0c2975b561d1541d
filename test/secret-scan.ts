/**
 * Searching logs, database files and traffic for a secret without false alarms.
 *
 * A short number (a CVC, a postcode, a last 4) turns up by chance inside longer numbers and ids:
 * CVC 9183 is in the log timestamp `"time":1796288939183`, in the request id `req-9183`, in a hex
 * hash `…ab9183cd…`, in a duration `12.9183`. So a secret made only of digits and shorter than
 * `STANDALONE_BELOW_DIGITS` is searched as a number of its own: not touching a letter, a digit,
 * `_`, `-`, `+`, `/` (ids, hashes, base64) or `=` after it (base64 padding), not part of a
 * decimal number, and not a JSON number value (`"bytes":9183`: every schema carries CVCs and
 * postcodes as strings). It is still found where a leak would put it: `"cvc":"9183"`,
 * `cvc=9183&`, `CVC 9183.`, `[9183]`. Longer secrets cannot occur by chance and are searched as
 * plain text.
 */

/**
 * A JSON Web Token (or the start of one: its base64url JSON header and the dot after it) where a
 * token can begin. The bare `eyJ` would also turn up by chance inside random base64url ids.
 */
export const JWT_PATTERN = /(?<![\w+/-])eyJ[\w-]*\./;

/** Digit-only secrets shorter than this are matched as a number of their own. */
export const STANDALONE_BELOW_DIGITS = 8;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The pattern `containsSecret` uses for `secret`. */
export function secretPattern(secret: string): RegExp {
  if (!/^\d+$/.test(secret) || secret.length >= STANDALONE_BELOW_DIGITS) return new RegExp(escape(secret));
  return new RegExp(`(?<![\\w+/-])(?<!\\d\\.)(?<!":)${secret}(?![\\w+/=-])(?!\\.\\d)`);
}

/** Whether `text` holds `secret` (a short number only as a number of its own). */
export function containsSecret(text: string, secret: string): boolean {
  return secretPattern(secret).test(text);
}

/** The secrets among `secrets` that `text` holds. */
export function secretsIn(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => containsSecret(text, s));
}
