/**
 * SMS through Twilio Programmable Messaging.
 *
 *   inbound:  POST application/x-www-form-urlencoded (From, To, Body, MessageSid, AccountSid...),
 *             signed with `X-Twilio-Signature` over TWILIO_WEBHOOK_URL + the sorted parameters.
 *             A delivery whose AccountSid is not TWILIO_ACCOUNT_SID, or whose To is not
 *             TWILIO_FROM_NUMBER, is not stored.
 *   outbound: POST {TWILIO_API_BASE}/2010-04-01/Accounts/{SID}/Messages.json, form To/From/Body,
 *             HTTP Basic SID:auth token. A link is plain text followed by the URL.
 *
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import * as v from 'valibot';
import { PivotError } from '../../protocol/errors.ts';
import { TwilioSmsWebhookSchema } from '../../protocol/platforms.ts';
import type { TwilioConfig } from './config.ts';
import type { OutboundLink } from './gateway.ts';
import { MalformedDelivery, chunks, headerValue, lastFour, postToPlatform, type ChannelAdapter, type InboundMessage } from './adapter.ts';
import { maskForm, TWILIO_ID_PARAMS, type AdmittedDelivery } from './redact.ts';
import { verifyTwilioSignature } from './signatures.ts';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
/** Twilio's limit on one message body, in characters (longer text is sent as several). */
export const TWILIO_BODY_MAX_CHARS = 1600;

/** The form parameters of a raw urlencoded body, in order, repeated names kept. */
export function formParams(raw: Buffer): Array<[string, string]> {
  return [...new URLSearchParams(raw.toString('utf8')).entries()];
}

export class TwilioSmsAdapter implements ChannelAdapter {
  readonly channel = 'sms' as const;
  readonly verifyToken = null;
  readonly #config: TwilioConfig;

  constructor(config: TwilioConfig) {
    this.#config = config;
  }

  verifySignature(headers: IncomingHttpHeaders, raw: Buffer): void {
    const header = headerValue(headers, TWILIO_SIGNATURE_HEADER);
    if (header === undefined || header.trim() === '') throw new PivotError('WEBHOOK_SIGNATURE_MISSING');
    if (!verifyTwilioSignature(this.#config.authToken, this.#config.webhookUrl, formParams(raw), header)) {
      throw new PivotError('WEBHOOK_SIGNATURE_INVALID');
    }
  }

  admitDelivery(raw: Buffer): AdmittedDelivery {
    const params = formParams(raw);
    // Another account, or a message to another number of this account (another service of the
    // bank, or a number this chat does not answer for): not the chat's to store.
    const foreign = params
      .filter(([name, value]) => (name === 'AccountSid' && value !== this.#config.accountSid) || (name === 'To' && value !== this.#config.fromNumber))
      .map(([, value]) => value);
    if (foreign.length > 0) return { kind: 'foreign', foreign };
    return { kind: 'store', body: maskForm(params, TWILIO_ID_PARAMS), foreign: [] };
  }

  parseDelivery(raw: Buffer): InboundMessage[] {
    const parsed = v.safeParse(TwilioSmsWebhookSchema, Object.fromEntries(formParams(raw)));
    if (!parsed.success) throw new MalformedDelivery(`not a Twilio incoming message (${v.getDotPath(parsed.issues[0]) ?? 'root'})`);
    if (parsed.output.AccountSid !== this.#config.accountSid) throw new MalformedDelivery('AccountSid is not this account');
    if (parsed.output.To !== this.#config.fromNumber) throw new MalformedDelivery('To is not this number');
    const body = parsed.output.Body;
    return [
      {
        platformMessageId: parsed.output.MessageSid,
        platformUserId: parsed.output.From,
        profileName: null,
        text: body === '' ? null : body,
        type: body === '' ? 'media' : 'text',
      },
    ];
  }

  displayName(message: InboundMessage): string {
    return `SMS customer ${lastFour(message.platformUserId)}`;
  }

  async sendText(to: string, text: string): Promise<void> {
    for (const part of chunks(text, TWILIO_BODY_MAX_CHARS)) await this.#send(to, part);
  }

  async sendLink(to: string, link: OutboundLink): Promise<void> {
    await this.#send(to, `${link.text}\n${link.url}`);
  }

  async #send(to: string, body: string): Promise<void> {
    const { apiBase, accountSid, authToken, fromNumber } = this.#config;
    await postToPlatform(`${apiBase}/2010-04-01/Accounts/${accountSid}/Messages.json`, {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
      },
      body: new URLSearchParams({ To: to, From: fromNumber, Body: body }).toString(),
    });
  }
}
