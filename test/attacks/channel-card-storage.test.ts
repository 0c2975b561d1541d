/**
 * Attack: a customer types their card number (and its security code) on a public platform.
 * Everything the chat server writes (chat.db, its WAL and shared-memory files, every log line)
 * is scanned afterwards for the number however it is spelled: the inbox holds deliveries as
 * admitted (decoded, masked, re-encoded), never the raw bytes received, and that includes
 * deliveries kept as failed, agent replies queued for relay and display names.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaJson, metaSignatureOf, twilioSignatureOf, DEMO_USER, type Platform } from '../../demo/platforms/server.ts';
import { agentSession, call, CHAT, removeDir, tempDir } from '../server/helpers.ts';
import { rows, SECRETS, settle, startHarness, TWILIO_URL, type Harness } from '../channels/helpers.ts';
import { bytesHoldPan, dbFilesHoldingPan, holdsPan } from '../channels/pan-scan.ts';

const PAN = '4210960631889196';
const GROUPED = '4210 9606 3188 9196';
const USERS: Record<Platform, string> = { messenger: DEMO_USER.psid, whatsapp: DEMO_USER.waId, sms: DEMO_USER.phone };
const PATHS: Record<Platform, string> = { messenger: '/webhooks/messenger', whatsapp: '/webhooks/whatsapp', sms: '/webhooks/twilio/sms' };

let dir: string;
let h: Harness;
let logs: string[];

beforeEach(async () => {
  dir = tempDir();
  logs = [];
  h = await startHarness(dir, { LOG_LEVEL: 'debug' }, {}, { logStream: { write: (line) => void logs.push(line) } });
});
afterEach(async () => {
  await h.close();
  removeDir(dir);
});

async function postSigned(platform: Platform, body: string, params?: Record<string, string>): Promise<number> {
  const headers: Record<string, string> =
    platform === 'sms'
      ? { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignatureOf(SECRETS.TWILIO_AUTH_TOKEN, TWILIO_URL, params ?? Object.fromEntries(new URLSearchParams(body))) }
      : {
          'content-type': 'application/json',
          'x-hub-signature-256': metaSignatureOf(platform === 'messenger' ? SECRETS.MESSENGER_APP_SECRET : SECRETS.WHATSAPP_APP_SECRET, body),
        };
  const res = await fetch(`${h.chat.httpBase}${PATHS[platform]}`, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return res.status;
}

/** Every spelling of the card number the chat server must not keep, with its code. */
const SPELLINGS = [
  `card ${GROUPED} exp 11/29 cvc 737`,
  `${PAN}737`,
  '4210.9606.3188.9196',
  '4210\u00a09606\u202f3188\u20099196',
  [...PAN].join('\u200b'),
  String.fromCodePoint(...[...PAN].map((d) => 0xff10 + Number(d))),
  '4210\n9606\n3188\n9196',
];

/** A Messenger body whose text digits are JSON escapes (`\u0034`...): what a byte search misses. */
function messengerEscapedBody(mid: string): string {
  const body = metaJson({
    object: 'page',
    entry: [{ id: SECRETS.MESSENGER_PAGE_ID, time: 1, messaging: [{ sender: { id: DEMO_USER.psid }, recipient: { id: SECRETS.MESSENGER_PAGE_ID }, timestamp: 1, message: { mid, text: `escaped ${PAN}` } }] }],
  });
  return body.replace(PAN, [...PAN].map((d) => `\\u00${(0x30 + Number(d)).toString(16)}`).join(''));
}

describe('attack: a card number typed on a public platform', () => {
  it('is in none of chat.db, chat.db-wal, chat.db-shm or the logs after deliveries on Messenger, WhatsApp and Twilio SMS', async () => {
    // Every spelling, on every platform, through the platform doubles (signed as the platforms sign).
    for (const platform of ['messenger', 'whatsapp', 'sms'] as const) {
      for (const text of SPELLINGS) {
        const { status } = await h.platforms.deliver(platform, USERS[platform], text, `Robert ${GROUPED}`);
        expect(status).toBe(200);
      }
    }
    // Escaped digits: JSON `\u0034` (Messenger) and form `%34` (Twilio).
    const escaped = messengerEscapedBody('m_escaped');
    expect(escaped).not.toContain(PAN);
    expect(await postSigned('messenger', escaped)).toBe(200);
    const smsParams = { MessageSid: `SM${'e'.repeat(32)}`, AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: DEMO_USER.phone, To: SECRETS.TWILIO_FROM_NUMBER, Body: `escaped ${PAN}` };
    const smsBody = Object.entries(smsParams)
      .map(([k, v]) => `${k}=${k === 'Body' ? `escaped+${[...PAN].map((d) => `%3${d}`).join('')}` : encodeURIComponent(v)}`)
      .join('&');
    expect(smsBody).not.toContain(PAN);
    expect(await postSigned('sms', smsBody, smsParams)).toBe(200);

    // Signed deliveries kept as failed: JSON that is no webhook, a form without a message id,
    // and a body that is not JSON at all.
    expect(await postSigned('messenger', JSON.stringify({ object: 'page', entry: `card ${GROUPED}` }))).toBe(200);
    expect(await postSigned('whatsapp', `not json: card ${GROUPED} cvc 737`)).toBe(200);
    expect(await postSigned('sms', new URLSearchParams({ AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: DEMO_USER.phone, Body: `card ${GROUPED}` }).toString())).toBe(200);
    await settle(h.chat);

    // An agent repeats it in a reply relayed to the platform (the outbox row).
    const [conversation] = rows<{ conversation_id: string }>(h.chat, "select conversation_id from channel_identities where channel = 'sms'");
    const agent = await agentSession(h.chat);
    const reply = await call(h.chat, 'POST', `/v1/agent/conversations/${conversation!.conversation_id}/messages`, {
      origin: CHAT,
      token: agent,
      body: { clientMsgId: 'agentpan01', text: `Please never send ${GROUPED} here` },
    });
    expect(reply.status).toBe(200);
    await settle(h.chat);

    // What was stored is what the chat shows: masked, last four kept, code hidden.
    const texts = rows<{ payload: string }>(h.chat, "select payload from events where kind = 'message'").map((r) => (JSON.parse(r.payload) as { text: string }).text);
    expect(texts).toContain('card •••• •••• •••• 9196 exp 11/29 cvc •••');
    expect(texts.filter((t) => t.startsWith('escaped '))).toEqual(['escaped ••••••••••••9196', 'escaped ••••••••••••9196']);
    expect(rows(h.chat, 'select display_name from customers where display_name like ?', '%9196%')).toEqual([{ display_name: 'Robert •••• •••• •••• 9196' }]);
    const inbox = rows<{ status: string; body: Buffer; reason: string | null }>(h.chat, 'select status, body, reason from channel_inbox order by id');
    expect(inbox.filter((r) => r.status === 'failed')).toHaveLength(3);
    expect(inbox.find((r) => r.reason === 'body is not JSON')?.body).toHaveLength(0);
    expect(rows(h.chat, 'select text from channel_outbox')).toEqual([{ text: 'Please never send •••• •••• •••• 9196 here' }]);

    // The scanner does find the number in what was sent (so the scans below can fail).
    expect(holdsPan(escaped, PAN)).toBe(true);
    expect(holdsPan(smsBody, PAN)).toBe(true);
    for (const text of SPELLINGS) expect(holdsPan(text, PAN), text).toBe(true);

    // Every byte of every database file, while the server runs (WAL present) and after it stopped.
    const running = dbFilesHoldingPan(dir, PAN);
    expect(running.scanned.length).toBeGreaterThanOrEqual(2);
    expect(running.holding).toEqual([]);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.filter((line) => bytesHoldPan(Buffer.from(line), PAN) || line.includes('cvc 737'))).toEqual([]);
    await h.chat.close();
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
  });
});
