/**
 * What Messenger and the WhatsApp Cloud API share: Meta's `X-Hub-Signature-256` webhook
 * signature and the GET verify handshake.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import { PivotError } from '../../protocol/errors.ts';
import { headerValue } from './adapter.ts';
import { safeEqual, verifyMetaSignature } from './signatures.ts';

export const META_SIGNATURE_HEADER = 'x-hub-signature-256';

export function verifyMetaRequest(appSecret: string, headers: IncomingHttpHeaders, raw: Buffer): void {
  const header = headerValue(headers, META_SIGNATURE_HEADER);
  if (header === undefined || header.trim() === '') throw new PivotError('WEBHOOK_SIGNATURE_MISSING');
  if (!verifyMetaSignature(appSecret, raw, header)) throw new PivotError('WEBHOOK_SIGNATURE_INVALID');
}

/** The challenge to echo for a valid `hub.mode=subscribe` + `hub.verify_token`; throws otherwise. */
export function verifyHandshake(verifyToken: string, query: Readonly<Record<string, unknown>>): string {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (
    mode !== 'subscribe' ||
    typeof token !== 'string' ||
    typeof challenge !== 'string' ||
    challenge.length === 0 ||
    challenge.length > 256 ||
    !safeEqual(token, verifyToken)
  ) {
    throw new PivotError('WEBHOOK_VERIFY_FAILED');
  }
  return challenge;
}
