/**
 * Random identifiers and secret tokens.
 *
 * Ids are public handles (`cnv_…`, `stp_…`); tokens are bearer secrets (sessions, WS tickets)
 * that are only ever stored as their SHA-256 hash, so a copy of the database grants nothing.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';

/** Bytes of randomness in a bearer token (256 bits). */
export const TOKEN_BYTES = 32;

/** A prefixed random id, e.g. `randomId('cnv')` -> `cnv_3q2…` (base64url, 128 bits by default). */
export function randomId(prefix: string, bytes = 16): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

/** A fresh 256-bit bearer secret, base64url. */
export function randomToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The only form in which a bearer secret is stored or compared. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
