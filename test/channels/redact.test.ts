import { describe, expect, it } from 'vitest';
import { loadChannelsConfig, type MessengerConfig, type TwilioConfig, type WhatsAppConfig } from '../../server/channels/config.ts';
import { MessengerAdapter } from '../../server/channels/messenger.ts';
import { maskJson, readJson, WEBHOOK_MAX_JSON_DEPTH, type Json } from '../../server/channels/redact.ts';
import { TwilioSmsAdapter } from '../../server/channels/sms.ts';
import { WhatsAppAdapter } from '../../server/channels/whatsapp.ts';
import { SECRETS } from './helpers.ts';

const PAGE = SECRETS.MESSENGER_PAGE_ID;
const messenger = new MessengerAdapter({ appSecret: 's', verifyToken: 'v', pageToken: 't', pageId: PAGE, apiBase: 'http://127.0.0.1:9' } satisfies MessengerConfig);
const whatsapp = new WhatsAppAdapter({ appSecret: 's', verifyToken: 'v', token: 't', phoneNumberId: SECRETS.WHATSAPP_PHONE_NUMBER_ID, apiBase: 'http://127.0.0.1:9', linkTemplate: null } satisfies WhatsAppConfig);
const sms = new TwilioSmsAdapter({ accountSid: SECRETS.TWILIO_ACCOUNT_SID, authToken: 'a', fromNumber: '+1', apiBase: 'http://127.0.0.1:9', webhookUrl: 'http://chat.localhost/x' } satisfies TwilioConfig);

/** A Luhn-valid 16-digit value used as a PLATFORM ID: it must be stored exactly as sent. */
const LUHN_ID = '4242424242424242';

function stored(admitted: ReturnType<MessengerAdapter['admitDelivery']>): string {
  if (admitted.kind !== 'store') throw new Error(`not stored: ${admitted.kind}`);
  return admitted.body.toString('utf8');
}

describe('admitting a delivery', () => {
  it('masks customer text but keeps platform ids exactly, even ids that pass Luhn', () => {
    const body = JSON.stringify({
      object: 'page',
      entry: [{ id: PAGE, time: 1, messaging: [{ sender: { id: LUHN_ID }, recipient: { id: PAGE }, timestamp: 1, message: { mid: `m_${LUHN_ID}`, text: `card ${LUHN_ID}` } }] }],
    });
    const kept = stored(messenger.admitDelivery(Buffer.from(body)));
    const [message] = messenger.parseDelivery(Buffer.from(kept));
    expect(message).toMatchObject({ platformUserId: LUHN_ID, platformMessageId: `m_${LUHN_ID}`, text: 'card ••••••••••••4242' });

    const wa = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { metadata: { phone_number_id: SECRETS.WHATSAPP_PHONE_NUMBER_ID }, contacts: [{ wa_id: LUHN_ID, profile: { name: `Rob ${LUHN_ID}` } }], messages: [{ from: LUHN_ID, id: 'wamid.1', type: 'text', text: { body: LUHN_ID } }] } }] }],
    });
    const [waMessage] = whatsapp.parseDelivery(Buffer.from(stored(whatsapp.admitDelivery(Buffer.from(wa)))));
    expect(waMessage).toMatchObject({ platformUserId: LUHN_ID, profileName: 'Rob ••••••••••••4242', text: '••••••••••••4242' });

    const form = new URLSearchParams({ MessageSid: `SM${'a'.repeat(32)}`, AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: `+${LUHN_ID}`, To: '+1', Body: `${LUHN_ID} 123`, FromCity: LUHN_ID });
    const admitted = sms.admitDelivery(Buffer.from(form.toString()));
    const [smsMessage] = sms.parseDelivery(Buffer.from(stored(admitted)));
    expect(smsMessage).toMatchObject({ platformUserId: `+${LUHN_ID}`, text: expect.stringMatching(/^•{12}[•4][•2][•4]2 •••$/) });
    expect(stored(admitted)).not.toContain(`FromCity=${LUHN_ID}`);
  });

  it(`reads JSON nested up to WEBHOOK_MAX_JSON_DEPTH (${WEBHOOK_MAX_JSON_DEPTH}) levels; deeper is unreadable and kept without content`, () => {
    const nest = (depth: number): string => '['.repeat(depth - 1) + '{"text":"4242424242424242"}' + ']'.repeat(depth - 1);
    expect(() => readJson(Buffer.from(nest(WEBHOOK_MAX_JSON_DEPTH)))).not.toThrow();
    expect(messenger.admitDelivery(Buffer.from(nest(WEBHOOK_MAX_JSON_DEPTH))).kind).toBe('store');
    expect(messenger.admitDelivery(Buffer.from(nest(WEBHOOK_MAX_JSON_DEPTH + 1)))).toEqual({
      kind: 'unreadable',
      reason: `body is nested deeper than ${WEBHOOK_MAX_JSON_DEPTH} levels`,
    });
    expect(whatsapp.admitDelivery(Buffer.from('{"object":'))).toEqual({ kind: 'unreadable', reason: 'body is not JSON' });
  });

  it('keeps a "__proto__" key a plain key', () => {
    const tree = readJson(Buffer.from('{"__proto__":{"polluted":"4242424242424242"}}'));
    const masked = maskJson(tree, new Set()) as { [key: string]: Json };
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(JSON.stringify(masked)).toBe('{"__proto__":{"polluted":"••••••••••••4242"}}');
  });
});

describe('channel configuration', () => {
  const messengerEnv = { MESSENGER_APP_SECRET: 's', MESSENGER_VERIFY_TOKEN: 'v', MESSENGER_PAGE_TOKEN: 't' };

  it('needs MESSENGER_PAGE_ID with the other Messenger variables', () => {
    expect(() => loadChannelsConfig(messengerEnv, 'http://chat.localhost')).toThrow(/MESSENGER_PAGE_ID/);
    expect(loadChannelsConfig({ ...messengerEnv, MESSENGER_PAGE_ID: PAGE }, 'http://chat.localhost').messenger?.pageId).toBe(PAGE);
    expect(() => loadChannelsConfig({ ...messengerEnv, MESSENGER_PAGE_ID: '../me' }, 'http://chat.localhost')).toThrow(/MESSENGER_PAGE_ID/);
  });
});
