/**
 * The one interface every platform adapter implements: authenticate a webhook, admit what of it
 * may be stored, parse a stored delivery into messages, send text, send a link, and name the
 * platform user.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PublicChannel } from '../store/channels.ts';
import type { OutboundLink } from './gateway.ts';
import type { AdmittedDelivery } from './redact.ts';

/** Longest time an outbound platform call may take before it counts as failed, in ms. */
export const CHANNEL_SEND_TIMEOUT_MS = 10_000;

/** One customer message found in a webhook delivery. */
export interface InboundMessage {
  /** Messenger `mid`, WhatsApp `wamid`, Twilio `MessageSid`: the dedupe key. */
  readonly platformMessageId: string;
  /** Messenger PSID, WhatsApp `wa_id`, SMS sender number. */
  readonly platformUserId: string;
  /** The name the platform gives (WhatsApp profile name), if any. */
  readonly profileName: string | null;
  /** The text, or null for a kind of message the chat does not relay (image, sticker...). */
  readonly text: string | null;
  /** The platform's message type (`text`, `image`, ...), for the "unsupported" note. */
  readonly type: string;
}

/** What an outbound send needs to know besides the recipient. */
export interface SendContext {
  /** "Now" (the server's clock). */
  readonly now: number;
  /** When the customer last wrote (WhatsApp's 24-hour window), or null. */
  readonly lastInboundAt: number | null;
}

/** A delivery whose body is signed but cannot be read; kept in the inbox as `failed`. */
export class MalformedDelivery extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedDelivery';
  }
}

/**
 * A platform refused or did not answer. `retryable` is false when retrying cannot help
 * (refused credentials or request, a closed window). Carries no message text or token.
 */
export class ChannelSendError extends Error {
  readonly status: number | null;
  readonly retryable: boolean;
  readonly code: 'CHANNEL_SEND_FAILED' | 'CHANNEL_WINDOW_CLOSED';

  constructor(status: number | null, retryable: boolean, code: ChannelSendError['code'] = 'CHANNEL_SEND_FAILED') {
    super(status === null ? `${code}: no answer` : `${code}: HTTP ${status}`);
    this.name = 'ChannelSendError';
    this.status = status;
    this.retryable = retryable;
    this.code = code;
  }
}

export interface ChannelAdapter {
  readonly channel: PublicChannel;
  /** The token of the GET verify handshake (Meta only). */
  readonly verifyToken: string | null;
  /**
   * Checks the platform's signature over the raw body; throws PivotError
   * WEBHOOK_SIGNATURE_MISSING or WEBHOOK_SIGNATURE_INVALID.
   */
  verifySignature(headers: IncomingHttpHeaders, raw: Buffer): void;
  /**
   * What of a verified delivery may be stored (server/channels/redact.ts): card numbers masked,
   * parts for another page / number / account dropped.
   */
  admitDelivery(raw: Buffer): AdmittedDelivery;
  /** Messages in a delivery (none for status-only deliveries); throws MalformedDelivery. */
  parseDelivery(raw: Buffer): InboundMessage[];
  /** Name for a new customer record. */
  displayName(message: InboundMessage): string;
  sendText(to: string, text: string, context: SendContext): Promise<void>;
  sendLink(to: string, link: OutboundLink, context: SendContext): Promise<void>;
}

/** POSTs to a platform; resolves on 2xx, throws ChannelSendError otherwise (never logs the URL). */
export async function postToPlatform(url: string, init: { headers: Record<string, string>; body: string }): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: AbortSignal.timeout(CHANNEL_SEND_TIMEOUT_MS), redirect: 'error' });
  } catch {
    throw new ChannelSendError(null, true);
  }
  // Drain the body so the connection is reusable; its content is not needed.
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  throw new ChannelSendError(res.status, retryable);
}

/** Splits `text` into parts of at most `max` characters (platform length limits). */
export function chunks(text: string, max: number): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += max) parts.push(text.slice(i, i + max));
  return parts;
}

/** "…1234": the last four characters of a platform id, for a display name. */
export function lastFour(id: string): string {
  return `…${id.slice(-4)}`;
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses JSON text; throws MalformedDelivery (never the content) when it is not JSON. */
export function parseJsonDelivery(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new MalformedDelivery('body is not JSON');
  }
}
