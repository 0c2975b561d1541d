/**
 * The public platforms' own formats, as they document them: the webhook bodies Meta (Messenger,
 * WhatsApp Cloud API) and Twilio send to the chat server, and the send-API bodies the chat server
 * sends them. Objects are loose: platforms add fields without notice, and unknown fields are
 * ignored rather than refused. Only what the chat server reads is required. Also the channels'
 * names as people read them.
 *
 * @module
 */
import * as v from 'valibot';
import type { Channel } from './chat.ts';

/**
 * Each channel's name for people, spelled the same in the agent console and in the chat server's
 * system events ("Secure link sent on WhatsApp").
 */
export const CHANNEL_LABELS: Readonly<Record<Channel, string>> = { web: 'Web', messenger: 'Messenger', whatsapp: 'WhatsApp', sms: 'SMS' };

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(256));

// ---------------------------------------------------------------- Messenger webhook

/** One `messaging` item: a message, or something else (delivery, read, postback) we skip. */
export const MessengerMessagingSchema = v.looseObject({
  sender: v.looseObject({ id }),
  recipient: v.looseObject({ id }),
  timestamp: v.optional(v.number()),
  message: v.optional(
    v.looseObject({
      mid: id,
      text: v.optional(v.string()),
      is_echo: v.optional(v.boolean()),
      attachments: v.optional(v.array(v.looseObject({ type: v.optional(v.string()) }))),
    }),
  ),
});

export const MessengerWebhookSchema = v.looseObject({
  object: v.literal('page'),
  entry: v.array(
    v.looseObject({
      id: v.optional(id),
      time: v.optional(v.number()),
      messaging: v.optional(v.array(MessengerMessagingSchema)),
    }),
  ),
});
export type MessengerWebhook = v.InferOutput<typeof MessengerWebhookSchema>;

// ---------------------------------------------------------------- WhatsApp webhook

export const WhatsAppInboundMessageSchema = v.looseObject({
  from: id,
  id,
  timestamp: v.optional(v.string()),
  type: v.string(),
  text: v.optional(v.looseObject({ body: v.string() })),
});

export const WhatsAppWebhookSchema = v.looseObject({
  object: v.literal('whatsapp_business_account'),
  entry: v.array(
    v.looseObject({
      id: v.optional(id),
      changes: v.array(
        v.looseObject({
          field: v.string(),
          value: v.looseObject({
            messaging_product: v.optional(v.literal('whatsapp')),
            metadata: v.optional(v.looseObject({ phone_number_id: v.optional(id) })),
            contacts: v.optional(v.array(v.looseObject({ wa_id: v.optional(id), profile: v.optional(v.looseObject({ name: v.optional(v.string()) })) }))),
            messages: v.optional(v.array(WhatsAppInboundMessageSchema)),
            statuses: v.optional(v.array(v.unknown())),
          }),
        }),
      ),
    }),
  ),
});
export type WhatsAppWebhook = v.InferOutput<typeof WhatsAppWebhookSchema>;

// ---------------------------------------------------------------- Twilio SMS webhook

/** Form parameters of Twilio's incoming-message request (those we read). */
export const TwilioSmsWebhookSchema = v.looseObject({
  MessageSid: v.pipe(v.string(), v.regex(/^(SM|MM)[0-9a-fA-F]{32}$/)),
  AccountSid: v.pipe(v.string(), v.regex(/^AC[0-9a-zA-Z]{1,64}$/)),
  From: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  To: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  Body: v.optional(v.string(), ''),
  NumMedia: v.optional(v.string()),
});
export type TwilioSmsWebhook = v.InferOutput<typeof TwilioSmsWebhookSchema>;

// ---------------------------------------------------------------- send APIs

const url = v.pipe(v.string(), v.url());

export const MessengerSendSchema = v.strictObject({
  recipient: v.strictObject({ id }),
  messaging_type: v.literal('RESPONSE'),
  message: v.union([
    v.strictObject({ text: v.pipe(v.string(), v.minLength(1), v.maxLength(2000)) }),
    v.strictObject({
      attachment: v.strictObject({
        type: v.literal('template'),
        payload: v.strictObject({
          template_type: v.literal('button'),
          text: v.pipe(v.string(), v.minLength(1), v.maxLength(640)),
          buttons: v.pipe(
            v.array(v.strictObject({ type: v.literal('web_url'), url, title: v.pipe(v.string(), v.minLength(1), v.maxLength(20)) })),
            v.minLength(1),
            v.maxLength(3),
          ),
        }),
      }),
    }),
  ]),
});
export type MessengerSend = v.InferOutput<typeof MessengerSendSchema>;

const waBase = { messaging_product: v.literal('whatsapp'), recipient_type: v.literal('individual'), to: id };

export const WhatsAppSendSchema = v.variant('type', [
  v.strictObject({ ...waBase, type: v.literal('text'), text: v.strictObject({ body: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)), preview_url: v.optional(v.boolean()) }) }),
  v.strictObject({
    ...waBase,
    type: v.literal('interactive'),
    interactive: v.strictObject({
      type: v.literal('cta_url'),
      body: v.strictObject({ text: v.pipe(v.string(), v.minLength(1), v.maxLength(1024)) }),
      action: v.strictObject({
        name: v.literal('cta_url'),
        parameters: v.strictObject({ display_text: v.pipe(v.string(), v.minLength(1), v.maxLength(20)), url }),
      }),
    }),
  }),
  v.strictObject({
    ...waBase,
    type: v.literal('template'),
    template: v.strictObject({
      name: v.string(),
      language: v.strictObject({ code: v.string() }),
      components: v.array(
        v.strictObject({ type: v.literal('body'), parameters: v.array(v.strictObject({ type: v.literal('text'), text: v.string() })) }),
      ),
    }),
  }),
]);
export type WhatsAppSend = v.InferOutput<typeof WhatsAppSendSchema>;

/** Form fields of Twilio's Create Message request. */
export const TwilioSendSchema = v.looseObject({
  To: v.pipe(v.string(), v.minLength(1)),
  From: v.pipe(v.string(), v.minLength(1)),
  Body: v.pipe(v.string(), v.minLength(1), v.maxLength(1600)),
});
