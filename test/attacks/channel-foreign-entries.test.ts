/**
 * Attack: a correctly signed delivery meant for ANOTHER page (Messenger), phone number
 * (WhatsApp) or account (Twilio). One app secret may serve several pages and one business
 * account several numbers, so the signature alone does not say the delivery is the bank's.
 * It is acknowledged (a non-2xx answer would make the platform retry, then disable the webhook
 * for the bank's own messages too), NOT stored, and logged once as a warning naming the foreign
 * id, never the message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaJson, metaSignatureOf, twilioSignatureOf, DEMO_USER, type Platform } from '../../demo/platforms/server.ts';
import { FOREIGN_IDS_LOGGED_MAX } from '../../server/channels/redact.ts';
import { maskCardNumbers } from '../../server/conversations/mask.ts';
import { removeDir, tempDir } from '../server/helpers.ts';
import { rows, SECRETS, settle, startHarness, TWILIO_URL, type Harness } from '../channels/helpers.ts';

const PATHS: Record<Platform, string> = { messenger: '/webhooks/messenger', whatsapp: '/webhooks/whatsapp', sms: '/webhooks/twilio/sms' };
const SECRET_TEXT = 'transfer my savings please';

let dir: string;
let h: Harness;
let logs: Array<Record<string, unknown>>;

beforeEach(async () => {
  dir = tempDir();
  logs = [];
  h = await startHarness(dir, { LOG_LEVEL: 'info' }, {}, { logStream: { write: (line) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
});
afterEach(async () => {
  await h.close();
  removeDir(dir);
});

async function post(platform: Platform, body: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> =
    platform === 'sms'
      ? { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignatureOf(SECRETS.TWILIO_AUTH_TOKEN, TWILIO_URL, Object.fromEntries(new URLSearchParams(body))) }
      : { 'content-type': 'application/json', 'x-hub-signature-256': metaSignatureOf(platform === 'messenger' ? SECRETS.MESSENGER_APP_SECRET : SECRETS.WHATSAPP_APP_SECRET, body) };
  const res = await fetch(`${h.chat.httpBase}${PATHS[platform]}`, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

function messengerEntry(pageId: string, mid: string, recipient = pageId) {
  return { id: pageId, time: 1, messaging: [{ sender: { id: DEMO_USER.psid }, recipient: { id: recipient }, timestamp: 1, message: { mid, text: SECRET_TEXT } }] };
}

function whatsappChange(phoneNumberId: string, id: string) {
  return {
    field: 'messages',
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550009999', phone_number_id: phoneNumberId },
      contacts: [{ profile: { name: 'Robert' }, wa_id: DEMO_USER.waId }],
      messages: [{ from: DEMO_USER.waId, id, timestamp: '1', type: 'text', text: { body: SECRET_TEXT } }],
    },
  };
}

const warnings = () => logs.filter((l) => l['msg'] === 'webhook parts for another page, number or account dropped');

/** Nothing of the foreign delivery anywhere: no inbox row, no customer, no conversation, no event. */
function expectNothingStored(): void {
  expect(rows(h.chat, 'select id from channel_inbox')).toEqual([]);
  expect(rows(h.chat, 'select id from channel_identities')).toEqual([]);
  expect(rows(h.chat, 'select id from conversations')).toEqual([]);
  expect(rows(h.chat, 'select id from events')).toEqual([]);
}

describe('attack: a signed delivery for another page, number or account', () => {
  it('Messenger, another page id (entry id and recipient id): 200, nothing stored, one warning without content', async () => {
    const body = metaJson({ object: 'page', entry: [messengerEntry('999888777666555', 'm_foreign_1')] });
    expect(await post('messenger', body)).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
    // Ids are logged through the masker like any text from a webhook (this one is no card number).
    expect(warnings()[0]).toMatchObject({ level: 40, channel: 'messenger', dropped: 1, foreignIds: [maskCardNumbers('999888777666555')] });
    expect(maskCardNumbers('999888777666555')).toBe('999888777666555');
    expect(JSON.stringify(logs)).not.toContain(SECRET_TEXT);
  });

  it('Messenger, the bank page id on the entry but another page as recipient: not stored', async () => {
    const body = metaJson({ object: 'page', entry: [messengerEntry(SECRETS.MESSENGER_PAGE_ID, 'm_foreign_2', '999888777666555')] });
    expect((await post('messenger', body)).status).toBe(200);
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
  });

  it('Messenger, a batch mixing the bank page and another: only the bank page entry is stored', async () => {
    const body = metaJson({ object: 'page', entry: [messengerEntry('999888777666555', 'm_theirs'), messengerEntry(SECRETS.MESSENGER_PAGE_ID, 'm_ours')] });
    expect((await post('messenger', body)).status).toBe(200);
    await settle(h.chat);
    const inbox = rows<{ body: Buffer; status: string }>(h.chat, 'select body, status from channel_inbox');
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.status).toBe('processed');
    expect(inbox[0]!.body.toString()).not.toContain('m_theirs');
    expect(inbox[0]!.body.toString()).not.toContain('999888777666555');
    expect(rows(h.chat, 'select platform_message_id from channel_messages')).toEqual([{ platform_message_id: 'm_ours' }]);
    expect(rows(h.chat, 'select id from conversations')).toHaveLength(1);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!['dropped']).toBe(1);
  });

  it(`names at most FOREIGN_IDS_LOGGED_MAX (${FOREIGN_IDS_LOGGED_MAX}) foreign ids in its one warning`, async () => {
    const pages = Array.from({ length: FOREIGN_IDS_LOGGED_MAX + 2 }, (_, i) => `70000000000000${i}`);
    const body = metaJson({ object: 'page', entry: pages.map((p, i) => messengerEntry(p, `m_many_${i}`)) });
    expect((await post('messenger', body)).status).toBe(200);
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!['dropped']).toBe(pages.length);
    expect(warnings()[0]!['foreignIds']).toHaveLength(FOREIGN_IDS_LOGGED_MAX);
  });

  it('WhatsApp, another metadata.phone_number_id: 200, nothing stored, one warning', async () => {
    const body = metaJson({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [whatsappChange('5550001234', 'wamid.FOREIGN')] }] });
    expect(await post('whatsapp', body)).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ channel: 'whatsapp', dropped: 1, foreignIds: ['5550001234'] });
    expect(JSON.stringify(logs)).not.toContain(SECRET_TEXT);
  });

  it('WhatsApp, a change without metadata: not stored', async () => {
    const change = whatsappChange('x', 'wamid.NOMETA');
    const body = metaJson({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ ...change, value: { ...change.value, metadata: undefined } }] }] });
    expect((await post('whatsapp', body)).status).toBe(200);
    await settle(h.chat);
    expectNothingStored();
  });

  it('WhatsApp, a batch mixing the bank number and another: only the bank number change is stored', async () => {
    const body = metaJson({
      object: 'whatsapp_business_account',
      entry: [{ id: 'WABA', changes: [whatsappChange('5550001234', 'wamid.THEIRS'), whatsappChange(SECRETS.WHATSAPP_PHONE_NUMBER_ID, 'wamid.OURS')] }],
    });
    expect((await post('whatsapp', body)).status).toBe(200);
    await settle(h.chat);
    expect(rows(h.chat, 'select platform_message_id from channel_messages')).toEqual([{ platform_message_id: 'wamid.OURS' }]);
    expect(rows<{ body: Buffer }>(h.chat, 'select body from channel_inbox')[0]!.body.toString()).not.toContain('THEIRS');
  });

  it('Twilio, another AccountSid: the empty TwiML answer, nothing stored, one warning', async () => {
    const foreignSid = `AC${'f'.repeat(32)}`;
    const body = new URLSearchParams({ MessageSid: `SM${'1'.repeat(32)}`, AccountSid: foreignSid, From: DEMO_USER.phone, To: SECRETS.TWILIO_FROM_NUMBER, Body: SECRET_TEXT }).toString();
    const res = await post('sms', body);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<Response/>');
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ channel: 'sms', dropped: 1, foreignIds: [foreignSid] });
    expect(JSON.stringify(logs)).not.toContain(SECRET_TEXT);
  });

  it('Twilio, this account but another number (To): nothing stored, one warning', async () => {
    const otherNumber = '+15005559999';
    const body = new URLSearchParams({ MessageSid: `SM${'2'.repeat(32)}`, AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: DEMO_USER.phone, To: otherNumber, Body: SECRET_TEXT }).toString();
    const res = await post('sms', body);
    expect(res.status).toBe(200);
    await settle(h.chat);
    expectNothingStored();
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ channel: 'sms', dropped: 1 });
    expect(JSON.stringify(logs)).not.toContain(SECRET_TEXT);
  });

  it('the bank own deliveries are stored and raise no warning', async () => {
    for (const platform of ['messenger', 'whatsapp', 'sms'] as const) {
      expect((await h.platforms.deliver(platform, platform === 'messenger' ? DEMO_USER.psid : platform === 'whatsapp' ? DEMO_USER.waId : DEMO_USER.phone, 'hello')).status).toBe(200);
    }
    await settle(h.chat);
    expect(rows(h.chat, "select id from channel_inbox where status = 'processed'")).toHaveLength(3);
    expect(warnings()).toEqual([]);
  });
});
