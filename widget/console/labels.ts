/**
 * What the agent console says about channels, assurance levels and secure links, in words (never
 * colour alone). Pure functions, so that every label is testable without a browser.
 *
 * @module
 */
import type { Channel, PivotLinkCreated } from '../../protocol/chat.ts';
import { CHANNEL_LABELS } from '../../protocol/platforms.ts';
import type { Acr } from '../../protocol/pivot-token.ts';

/** "Messenger", "WhatsApp", "SMS", "Web"; a channel a newer server added, as it is named. */
export function channelLabel(channel: Channel): string {
  return CHANNEL_LABELS[channel] ?? channel;
}

/** "via WhatsApp" for a message that travelled on a public channel; null for the bank's site. */
export function viaLabel(via: Channel | undefined): string | null {
  return via && via !== 'web' ? `via ${channelLabel(via)}` : null;
}

/** A secure link can be sent only on a public channel: a web conversation is already on the bank's site. */
export function canSendSecureLink(channel: Channel): boolean {
  return channel !== 'web';
}

/**
 * The customer's assurance level for people: "Not verified", "Verified by WhatsApp link" (the
 * customer opened a secure link sent on that channel), "Signed in to the bank", "Verified by
 * passkey" (the customer's passkey answered a step in the vault frame).
 */
export function acrLabel(acr: Acr, channel: Channel, verifiedBy?: 'passkey'): string {
  switch (acr) {
    case 'bank':
      // A passkey answered a step in the vault: the strongest proof, and how the customer got here.
      return verifiedBy === 'passkey' ? 'Verified by passkey' : 'Signed in to the bank';
    case 'channel':
      return canSendSecureLink(channel) ? `Verified by ${channelLabel(channel)} link` : 'Verified by channel link';
    default:
      return 'Not verified';
  }
}

/** "14:05" in the agent's locale (or the given one), in the given time zone (default: the agent's). */
export function timeOfDay(iso: string, locale?: string, timeZone?: string): string | null {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return null;
  try {
    return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', ...(timeZone ? { timeZone } : {}) }).format(at);
  } catch {
    return new Date(at).toISOString().slice(11, 16) + ' UTC';
  }
}

/** "Secure link sent on Messenger, valid until 14:05." */
export function secureLinkSentText(created: PivotLinkCreated, locale?: string, timeZone?: string): string {
  const until = timeOfDay(created.expiresAt, locale, timeZone);
  return `Secure link sent on ${channelLabel(created.channel)}${until ? `, valid until ${until}` : ''}.`;
}

/**
 * Why a secure link could not be sent, for the agent, by catalog code. Codes without a specific
 * explanation show the server's message with the code, so support can find it.
 */
export function secureLinkErrorText(code: string, message: string, channel: Channel): string {
  const name = channelLabel(channel);
  switch (code) {
    case 'CHANNEL_WINDOW_CLOSED':
      return (
        'WhatsApp lets a business send free-form messages only within 24 hours of the customer\'s last message, ' +
        'and no message template is configured. Ask the customer to write on WhatsApp first, then send the link again.'
      );
    case 'CHANNEL_SEND_FAILED':
      return `${name} did not accept the message, so the link was not sent. Try again in a moment.`;
    case 'CHANNEL_NOT_AVAILABLE':
      return 'This conversation has no public channel to send a secure link to.';
    case 'CHANNEL_NOT_CONFIGURED':
      return `${name} is not configured on this server, so no link can be sent on it.`;
    case 'UPSTREAM_UNAVAILABLE':
      return 'The chat server could not be reached. Check the connection and try again.';
    case 'RATE_LIMITED':
      return 'Too many links were requested just now. Wait a moment, then try again.';
    default:
      return `${message} (${code})`;
  }
}

/** Shown after Sign out when the chat server could not be told: the token is forgotten here but still valid there. */
export const SIGNED_OUT_LOCALLY_ONLY =
  'Signed out on this screen only: the chat server could not be reached, so this session stays valid until it expires. Sign in and out again when the connection is back.';
