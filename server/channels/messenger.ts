/**
 * Facebook Messenger (Send API of the Graph API, page webhooks).
 *
 *   inbound:  {object:'page', entry:[{id, time, messaging:[{sender:{id:PSID}, recipient:{id:PAGE_ID},
 *              timestamp, message:{mid, text}}]}]}; echoes, deliveries and reads are skipped.
 *             Only entries whose `id` is MESSENGER_PAGE_ID, and in them only items to or from that
 *             page, are stored or read: an app subscribed to several pages gets theirs too.
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
import { isObject, maskJson, MESSENGER_ID_KEYS, readJson, stringAt, UnreadableDelivery, type AdmittedDelivery, type Json } from './redact.ts';

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

  admitDelivery(raw: Buffer): AdmittedDelivery {
    let tree: Json;
    try {
      tree = readJson(raw);
    } catch (err) {
      if (err instanceof UnreadableDelivery) return { kind: 'unreadable', reason: err.message };
      throw err;
    }
    const { pageId } = this.#config;
    const foreign: string[] = [];
    if (isObject(tree) && Array.isArray(tree['entry'])) {
      const ours: Json[] = [];
      for (const entry of tree['entry']) {
        const id = stringAt(entry, 'id');
        if (id !== pageId || !isObject(entry)) {
          foreign.push(id ?? '(no page id)');
          continue;
        }
        const items = entry['messaging'];
        if (Array.isArray(items)) {
          const kept = items.filter((item) => {
            const ok = this.#forPage(item);
            if (!ok) foreign.push(stringAt(isObject(item) ? item['recipient'] : undefined, 'id') ?? '(no recipient id)');
            return ok;
          });
          if (kept.length === 0 && items.length > 0) continue;
          entry['messaging'] = kept;
        }
        ours.push(entry);
      }
      if (ours.length === 0 && foreign.length > 0) return { kind: 'foreign', foreign };
      tree['entry'] = ours;
    }
    return { kind: 'store', body: Buffer.from(JSON.stringify(maskJson(tree, MESSENGER_ID_KEYS)), 'utf8'), foreign };
  }

  /** A messaging item to the page (a customer's) or from it (an echo). */
  #forPage(item: Json): boolean {
    if (!isObject(item)) return false;
    return stringAt(item['recipient'], 'id') === this.#config.pageId || stringAt(item['sender'], 'id') === this.#config.pageId;
  }

  parseDelivery(raw: Buffer): InboundMessage[] {
    const parsed = v.safeParse(MessengerWebhookSchema, parseJsonDelivery(raw));
    if (!parsed.success) throw new MalformedDelivery(`not a Messenger page webhook (${v.getDotPath(parsed.issues[0]) ?? 'root'})`);
    const messages: InboundMessage[] = [];
    for (const entry of parsed.output.entry) {
      // Rows stored before deliveries were admitted may hold other pages' entries.
      if (entry.id !== this.#config.pageId) continue;
      for (const item of entry.messaging ?? []) {
        if (item.recipient.id !== this.#config.pageId) continue;
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
