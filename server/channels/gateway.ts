/**
 * What the rest of the chat server needs from the public channels (Messenger, WhatsApp, SMS),
 * whatever the platform: send a link to a conversation's channel identity, and know who that
 * identity is. Each platform adapter lives beside this file; the gateway picks the adapter by the
 * conversation's channel.
 *
 * @module
 */
import type { Channel } from '../../protocol/chat.ts';

/** A customer's account on one platform (Messenger PSID, WhatsApp number, SMS number). */
export interface ChannelIdentity {
  /** Our id for the identity (`chi_...`). */
  readonly id: string;
  readonly channel: Exclude<Channel, 'web'>;
  /** The customer record this identity belongs to (customers.id). */
  readonly customerId: string;
}

/** A link to send: a button where the platform has one (Messenger, WhatsApp), plain text on SMS. */
export interface OutboundLink {
  /** Absolute https (or, in the demo, http) URL; the secret part is in its fragment. */
  readonly url: string;
  /** Short button caption, e.g. "Continue securely". */
  readonly title: string;
  /** The message text shown with the button (or before the URL on SMS). */
  readonly text: string;
}

export interface ChannelGateway {
  /** The conversation's channel identity, or `null` for a conversation that started on the web. */
  identityFor(conversationId: string): Promise<ChannelIdentity | null>;
  /**
   * Sends `link` to the conversation's channel identity, now (the agent waits for the answer).
   * Throws PivotError CHANNEL_NOT_AVAILABLE (web conversation), CHANNEL_NOT_CONFIGURED,
   * CHANNEL_WINDOW_CLOSED (WhatsApp, outside 24 h and no template) or CHANNEL_SEND_FAILED.
   */
  sendLink(conversationId: string, link: OutboundLink): Promise<void>;
  /**
   * Sends `text` to the conversation's channel identity, now, and stores it nowhere (no event,
   * no outbox row): for a secret meant for the customer's phone only (a passkey enrolment code).
   * Throws as {@link sendLink} does.
   */
  sendPrivateText(conversationId: string, text: string): Promise<void>;
  /** Sends `text` by SMS to `phone` (E.164), now, storing it nowhere. Throws as {@link sendLink}. */
  sendSms(phone: string, text: string): Promise<void>;
}
