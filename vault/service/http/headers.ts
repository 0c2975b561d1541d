/**
 * The headers on EVERY vault response (an `onSend` hook, so errors and 404s carry them too).
 *
 * - CSP: nothing by default; scripts, styles, images and fetches from the vault origin only;
 *   `frame-ancestors` = the configured bank origins (this, not X-Frame-Options, governs
 *   framing, so X-Frame-Options is never sent); no forms, no `<base>`; Trusted Types required
 *   with no policy allowed, so no HTML/script sink can be used at all.
 * - CORP same-origin, no referrer, a Permissions-Policy that grants only `payment` and the two
 *   passkey features (`publickey-credentials-get`, `-create`) to itself,
 *   nosniff, no-store, and HSTS when the vault's public origin is https.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';

/** The Content-Security-Policy of the vault for the given bank origins. */
export function contentSecurityPolicy(allowedParentOrigins: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self'",
    `frame-ancestors ${allowedParentOrigins.join(' ')}`,
    "form-action 'none'",
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

export const PERMISSIONS_POLICY = [
  'payment=(self)',
  'camera=()',
  'microphone=()',
  'geolocation=()',
  'usb=()',
  'serial=()',
  'hid=()',
  'display-capture=()',
  'clipboard-read=()',
  // Passkeys run in the frame, for the vault's own origin only (protocol/passkeys.ts).
  'publickey-credentials-get=(self)',
  'publickey-credentials-create=(self)',
].join(', ');

/** HSTS value sent when the vault origin is https. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/** Every security header, by name. */
export function securityHeaders(vaultOrigin: string, allowedParentOrigins: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {
    'content-security-policy': contentSecurityPolicy(allowedParentOrigins),
    'cross-origin-resource-policy': 'same-origin',
    'referrer-policy': 'no-referrer',
    'permissions-policy': PERMISSIONS_POLICY,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  };
  if (new URL(vaultOrigin).protocol === 'https:') headers['strict-transport-security'] = HSTS;
  return headers;
}

/** Add the headers to every response of `app`. */
export function registerSecurityHeaders(app: FastifyInstance, vaultOrigin: string, allowedParentOrigins: readonly string[]): void {
  const headers = securityHeaders(vaultOrigin, allowedParentOrigins);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(headers);
    reply.removeHeader('x-frame-options');
    reply.removeHeader('x-powered-by');
    return payload;
  });
}
