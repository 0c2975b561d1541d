/**
 * Webhook authentication as each platform documents it, always over the raw bytes received and
 * always compared in constant time.
 *
 * - Meta (Messenger, WhatsApp): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
 *   Meta signs its own escaping (`\u00e9`, `\/`), so the body is never re-serialised.
 * - Twilio: `X-Twilio-Signature: base64(HMAC-SHA1(auth token, url + each POST parameter's name
 *   followed by its value, parameters sorted by name))`, where `url` is the full public URL
 *   Twilio requested (configuration: the server cannot know it behind a proxy).
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two strings (different lengths compare unequal, still hashing both). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** `sha256=<hex>` as Meta sends it. */
export function metaSignature(appSecret: string, raw: Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

export function verifyMetaSignature(appSecret: string, raw: Buffer, header: string): boolean {
  return safeEqual(metaSignature(appSecret, raw), header.trim().toLowerCase());
}

/** Twilio's request signature for a form POST to `url` with `params` (repeated names allowed). */
export function twilioSignature(authToken: string, url: string, params: Iterable<readonly [string, string]>): string {
  const byName = new Map<string, string[]>();
  for (const [name, value] of params) {
    const values = byName.get(name) ?? [];
    values.push(value);
    byName.set(name, values);
  }
  let data = url;
  for (const name of [...byName.keys()].sort()) {
    for (const value of byName.get(name)!.sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export function verifyTwilioSignature(authToken: string, url: string, params: Iterable<readonly [string, string]>, header: string): boolean {
  return safeEqual(twilioSignature(authToken, url, params), header.trim());
}
