/**
 * Facebook Messenger (Send API of the Graph API, page webhooks).
 *
 *   inbound:  {object:'page', entry:[{id, time, messaging:[{sender:{id:PSID}, recipient:{id:PAGE_ID},
 *              timestamp, message:{mid, text}}]}]}; echoes, deliveries and reads are skipped.
 *   outbound: POST {MESSENGER_API_BASE}/me/messages?access_token=PAGE_TOKEN
 *             {recipient:{id}, messaging_type:'RESPONSE', message:{text}} or a button template.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import * as v from 'valibot';
import { MessengerWebhookSchema, type MessengerSend } from '../../protocol/platforms.ts';
import type { MessengerConfig } from './config.ts';
import type { OutboundLink } from './gateway.ts';
import {
  MalformedDelivery,
  chunks,
  lastFour,
  parseJsonDelivery,
  postToPlatform,
  type ChannelAdapter,
  type InboundMessage,
} from './adapter.ts';
import { verifyMetaRequest } from './meta.ts';

/** Messenger's limit on a text message, in characters. */
export const MESSENGER_TEXT_MAX_CHARS = 2000;
/** Messenger's limits on a button template's text and a button title. */
export const MESSENGER_BUTTON_TEXT_MAX_CHARS = 640;
export const MESSENGER_BUTTON_TITLE_MAX_CHARS = 20;

export class MessengerAdapter implements ChannelAdapter {
  readonly channel = 'messenger' as const;
  readonly #config: MessengerConfig;

  constructor(config: MessengerConfig) {
    this.#config = config;
  }

  get verifyToken(): string {
    return this.#config.verifyToken;
  }

  verifySignature(headers: IncomingHttpHeaders, raw: Buffer): void {
    verifyMetaRequest(this.#config.appSecret, headers, raw);
  }

  parseDelivery(raw: Buffer): InboundMessage[] {
    const parsed = v.safeParse(MessengerWebhookSchema, parseJsonDelivery(raw));
    if (!parsed.success) throw new MalformedDelivery(`not a Messenger page webhook (${v.getDotPath(parsed.issues[0]) ?? 'root'})`);
    const messages: InboundMessage[] = [];
    for (const entry of parsed.output.entry) {
      for (const item of entry.messaging ?? []) {
        const message = item.message;
        if (!message || message.is_echo) continue;
        const text = message.text ?? null;
        messages.push({
          platformMessageId: message.mid,
          platformUserId: item.sender.id,
          profileName: null,
          text,
          type: text !== null ? 'text' : (message.attachments?.[0]?.type ?? 'attachment'),
        });
      }
    }
    return messages;
  }

  displayName(message: InboundMessage): string {
    return `Messenger customer ${lastFour(message.platformUserId)}`;
  }

  async sendText(to: string, text: string): Promise<void> {
    for (const part of chunks(text, MESSENGER_TEXT_MAX_CHARS)) {
      await this.#send({ recipient: { id: to }, messaging_type: 'RESPONSE', message: { text: part } });
    }
  }

  async sendLink(to: string, link: OutboundLink): Promise<void> {
    await this.#send({
      recipient: { id: to },
      messaging_type: 'RESPONSE',
      message: {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'button',
            text: link.text.slice(0, MESSENGER_BUTTON_TEXT_MAX_CHARS),
            buttons: [{ type: 'web_url', url: link.url, title: link.title.slice(0, MESSENGER_BUTTON_TITLE_MAX_CHARS) }],
          },
        },
      },
    });
  }

  async #send(body: MessengerSend): Promise<void> {
    const url = `${this.#config.apiBase}/me/messages?access_token=${encodeURIComponent(this.#config.pageToken)}`;
    await postToPlatform(url, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }
}
