/**
 * WhatsApp Cloud API.
 *
 *   inbound:  {object:'whatsapp_business_account', entry:[{id, changes:[{field:'messages', value:{
 *              messaging_product, metadata:{phone_number_id}, contacts:[{profile:{name}, wa_id}],
 *              messages:[{from, id, timestamp, type, text:{body}}]}}]}]}; `statuses` are skipped.
 *             Only changes whose `metadata.phone_number_id` is WHATSAPP_PHONE_NUMBER_ID are stored
 *             or read: a business account with several numbers gets the others' messages too.
 *   outbound: POST {WHATSAPP_API_BASE}/{WHATSAPP_PHONE_NUMBER_ID}/messages, Bearer WHATSAPP_TOKEN.
 *
 * Customer service window: free-form messages (text, interactive CTA-URL) only within
 * {@link WHATSAPP_WINDOW_MS} of the customer's last message. Outside it a link goes as the
 * configured template (WHATSAPP_LINK_TEMPLATE) — assumed shape: an approved template whose BODY
 * has exactly one variable, `{{1}}`, filled with the link's URL — and anything else is refused
 * with CHANNEL_WINDOW_CLOSED.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import * as v from 'valibot';
import { WhatsAppWebhookSchema, type WhatsAppSend } from '../../protocol/platforms.ts';
import type { WhatsAppConfig } from './config.ts';
import type { OutboundLink } from './gateway.ts';
import {
  ChannelSendError,
  MalformedDelivery,
  lastFour,
  parseJsonDelivery,
  postToPlatform,
  type ChannelAdapter,
  type InboundMessage,
  type SendContext,
} from './adapter.ts';
import { verifyMetaRequest } from './meta.ts';
import { isObject, maskJson, readJson, stringAt, UnreadableDelivery, WHATSAPP_ID_KEYS, type AdmittedDelivery, type Json } from './redact.ts';

/** The `value.metadata.phone_number_id` of one change, or null. */
function phoneNumberIdOf(change: Json): string | null {
  return isObject(change) && isObject(change['value']) ? stringAt(change['value']['metadata'], 'phone_number_id') : null;
}

/** WhatsApp's customer service window, in ms. */
export const WHATSAPP_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Limits of a CTA-URL message: body text and button caption, in characters. */
export const WHATSAPP_CTA_BODY_MAX_CHARS = 1024;
export const WHATSAPP_CTA_DISPLAY_MAX_CHARS = 20;

export function windowOpen(context: SendContext): boolean {
  return context.lastInboundAt !== null && context.now - context.lastInboundAt < WHATSAPP_WINDOW_MS;
}

export class WhatsAppAdapter implements ChannelAdapter {
  readonly channel = 'whatsapp' as const;
  readonly #config: WhatsAppConfig;

  constructor(config: WhatsAppConfig) {
    this.#config = config;
  }

  get verifyToken(): string {
    return this.#config.verifyToken;
  }

  verifySignature(headers: IncomingHttpHeaders, raw: Buffer): void {
    verifyMetaRequest(this.#config.appSecret, headers, raw);
  }

  admitDelivery(raw: Buffer): AdmittedDelivery {
    let tree: Json;
    try {
      tree = readJson(raw);
    } catch (err) {
      if (err instanceof UnreadableDelivery) return { kind: 'unreadable', reason: err.message };
      throw err;
    }
    const { phoneNumberId } = this.#config;
    const foreign: string[] = [];
    if (isObject(tree) && Array.isArray(tree['entry'])) {
      const ours: Json[] = [];
      for (const entry of tree['entry']) {
        const changes = isObject(entry) ? entry['changes'] : undefined;
        if (!isObject(entry) || !Array.isArray(changes)) {
          // Nothing to attribute: kept (masked) for the processor to mark failed.
          ours.push(entry);
          continue;
        }
        const kept = changes.filter((change) => {
          const id = phoneNumberIdOf(change);
          if (id !== phoneNumberId) foreign.push(id ?? '(no phone number id)');
          return id === phoneNumberId;
        });
        if (kept.length === 0 && changes.length > 0) continue;
        entry['changes'] = kept;
        ours.push(entry);
      }
      if (ours.length === 0 && foreign.length > 0) return { kind: 'foreign', foreign };
      tree['entry'] = ours;
    }
    return { kind: 'store', body: Buffer.from(JSON.stringify(maskJson(tree, WHATSAPP_ID_KEYS)), 'utf8'), foreign };
  }

  parseDelivery(raw: Buffer): InboundMessage[] {
    const parsed = v.safeParse(WhatsAppWebhookSchema, parseJsonDelivery(raw));
    if (!parsed.success) throw new MalformedDelivery(`not a WhatsApp webhook (${v.getDotPath(parsed.issues[0]) ?? 'root'})`);
    const messages: InboundMessage[] = [];
    for (const entry of parsed.output.entry) {
      for (const change of entry.changes) {
        if (change.field !== 'messages') continue;
        // Rows stored before deliveries were admitted may hold other numbers' changes.
        if (change.value.metadata?.phone_number_id !== this.#config.phoneNumberId) continue;
        const contacts = change.value.contacts ?? [];
        for (const message of change.value.messages ?? []) {
          const contact = contacts.find((c) => c.wa_id === message.from) ?? (contacts.length === 1 ? contacts[0] : undefined);
          const text = message.type === 'text' && message.text ? message.text.body : null;
          messages.push({
            platformMessageId: message.id,
            platformUserId: message.from,
            profileName: contact?.profile?.name?.trim() || null,
            text,
            type: message.type,
          });
        }
      }
    }
    return messages;
  }

  displayName(message: InboundMessage): string {
    return message.profileName ?? `WhatsApp customer ${lastFour(message.platformUserId)}`;
  }

  async sendText(to: string, text: string, context: SendContext): Promise<void> {
    if (!windowOpen(context)) throw new ChannelSendError(null, false, 'CHANNEL_WINDOW_CLOSED');
    await this.#send({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body: text } });
  }

  async sendLink(to: string, link: OutboundLink, context: SendContext): Promise<void> {
    if (windowOpen(context)) {
      await this.#send({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to,
        type: 'interactive',
        interactive: {
          type: 'cta_url',
          body: { text: link.text.slice(0, WHATSAPP_CTA_BODY_MAX_CHARS) },
          action: { name: 'cta_url', parameters: { display_text: link.title.slice(0, WHATSAPP_CTA_DISPLAY_MAX_CHARS), url: link.url } },
        },
      });
      return;
    }
    const template = this.#config.linkTemplate;
    if (template === null) throw new ChannelSendError(null, false, 'CHANNEL_WINDOW_CLOSED');
    await this.#send({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type: 'template',
      template: {
        name: template.name,
        language: { code: template.language },
        components: [{ type: 'body', parameters: [{ type: 'text', text: link.url }] }],
      },
    });
  }

  async #send(body: WhatsAppSend): Promise<void> {
    await postToPlatform(`${this.#config.apiBase}/${this.#config.phoneNumberId}/messages`, {
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#config.token}` },
      body: JSON.stringify(body),
    });
  }
}
