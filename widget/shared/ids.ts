/**
 * Client message ids: random, URL-safe, matching `ClientMsgIdSchema` (8..64 of `[A-Za-z0-9_-]`).
 * The same id is reused for every resend of one message, so the server can deduplicate.
 *
 * @module
 */

export function newClientMsgId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let out = 'm';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
