/**
 * Configuration of the public channels, read from the environment with the rest of ChatConfig.
 *
 * A platform is enabled only when every one of its secrets is set; none has a built-in default.
 * A platform with some but not all of its secrets set is a configuration error (thrown at start
 * rather than guessed). API base URLs default to the real platforms; the demo points them at the
 * local doubles (demo/platforms/server.ts).
 *
 * @module
 */

import { ConfigError, envReader, type Env } from '../../protocol/env.ts';

export const DEFAULT_GRAPH_API_BASE = 'https://graph.facebook.com/v21.0';
export const DEFAULT_TWILIO_API_BASE = 'https://api.twilio.com';
/** Language of the WhatsApp link template when WHATSAPP_LINK_TEMPLATE names none. */
export const DEFAULT_TEMPLATE_LANGUAGE = 'en_US';

export interface MessengerConfig {
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly pageToken: string;
  /** The bank's page: deliveries for any other page (entry id, recipient id) are not stored. */
  readonly pageId: string;
  readonly apiBase: string;
}

export interface WhatsAppTemplate {
  readonly name: string;
  readonly language: string;
}

export interface WhatsAppConfig {
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly token: string;
  /** The bank's number: it sends, and deliveries for any other number are not stored. */
  readonly phoneNumberId: string;
  readonly apiBase: string;
  /** Approved template used for links outside the 24-hour window; null = refuse with CHANNEL_WINDOW_CLOSED. */
  readonly linkTemplate: WhatsAppTemplate | null;
}

export interface TwilioConfig {
  /** The bank's account: deliveries for any other account are not stored. */
  readonly accountSid: string;
  readonly authToken: string;
  readonly fromNumber: string;
  readonly apiBase: string;
  /** The full public URL Twilio posts to (the signature covers it). */
  readonly webhookUrl: string;
}

export interface ChannelsConfig {
  readonly messenger: MessengerConfig | null;
  readonly whatsapp: WhatsAppConfig | null;
  readonly sms: TwilioConfig | null;
}

/** Reads {@link ChannelsConfig}; `chatOrigin` gives the default Twilio webhook URL. */
export function loadChannelsConfig(env: Env, chatOrigin: string): ChannelsConfig {
  const e = envReader(env);
  const { get } = e;
  const group = (platform: string, names: readonly string[]): Record<string, string> | null => {
    const present = names.filter((n) => get(n) !== undefined);
    if (present.length === 0) return null;
    if (present.length < names.length) {
      const missing = names.filter((n) => get(n) === undefined);
      throw new ConfigError(missing[0]!, `set with ${present.join(', ')} (${platform} is partly configured: set ${missing.join(', ')} too, or none of its variables)`);
    }
    return Object.fromEntries(names.map((n) => [n, get(n) as string]));
  };

  const m = group('Messenger', ['MESSENGER_APP_SECRET', 'MESSENGER_VERIFY_TOKEN', 'MESSENGER_PAGE_TOKEN', 'MESSENGER_PAGE_ID']);
  const w = group('WhatsApp', ['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN', 'WHATSAPP_TOKEN', 'WHATSAPP_PHONE_NUMBER_ID']);
  const t = group('Twilio SMS', ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM_NUMBER']);

  return {
    messenger: m && {
      appSecret: m['MESSENGER_APP_SECRET']!,
      verifyToken: m['MESSENGER_VERIFY_TOKEN']!,
      pageToken: m['MESSENGER_PAGE_TOKEN']!,
      pageId: pathSegment(m['MESSENGER_PAGE_ID']!, 'MESSENGER_PAGE_ID'),
      apiBase: e.baseUrl('MESSENGER_API_BASE', DEFAULT_GRAPH_API_BASE),
    },
    whatsapp: w && {
      appSecret: w['WHATSAPP_APP_SECRET']!,
      verifyToken: w['WHATSAPP_VERIFY_TOKEN']!,
      token: w['WHATSAPP_TOKEN']!,
      phoneNumberId: pathSegment(w['WHATSAPP_PHONE_NUMBER_ID']!, 'WHATSAPP_PHONE_NUMBER_ID'),
      apiBase: e.baseUrl('WHATSAPP_API_BASE', DEFAULT_GRAPH_API_BASE),
      linkTemplate: template(get('WHATSAPP_LINK_TEMPLATE')),
    },
    sms: t && {
      accountSid: pathSegment(t['TWILIO_ACCOUNT_SID']!, 'TWILIO_ACCOUNT_SID'),
      authToken: t['TWILIO_AUTH_TOKEN']!,
      fromNumber: t['TWILIO_FROM_NUMBER']!,
      apiBase: e.baseUrl('TWILIO_API_BASE', DEFAULT_TWILIO_API_BASE),
      webhookUrl: e.url('TWILIO_WEBHOOK_URL', `${chatOrigin}/webhooks/twilio/sms`),
    },
  };
}

/** `name` or `name:language` (e.g. `secure_link:en_GB`). */
function template(value: string | undefined): WhatsAppTemplate | null {
  if (value === undefined) return null;
  const [name, language, ...rest] = value.split(':');
  if (!name || !/^[a-z0-9_]{1,512}$/.test(name) || rest.length > 0 || (language !== undefined && !/^[A-Za-z_]{2,15}$/.test(language))) {
    throw new ConfigError('WHATSAPP_LINK_TEMPLATE', 'a template name, optionally followed by :language (e.g. secure_link:en_US)', value);
  }
  return { name, language: language ?? DEFAULT_TEMPLATE_LANGUAGE };
}

function pathSegment(value: string, name: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(value)) throw new ConfigError(name, 'letters, digits, _ or - only', value);
  return value;
}
