import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaJson, metaSignatureOf, twilioSignatureOf, DEMO_USER, type Platform } from '../../demo/platforms/server.ts';
import { twilioSignature, verifyTwilioSignature } from '../../server/channels/signatures.ts';
import { WEBHOOK_MAX_BODY_BYTES } from '../../server/routes/webhooks.ts';
import { issueSession } from '../../server/auth/sessions.ts';
import { agentSession, call, CHAT, removeDir, tempDir, startChat } from '../server/helpers.ts';
import { rows, SECRETS, settle, startHarness, TWILIO_URL, type Harness } from './helpers.ts';

const USERS: Record<Platform, string> = { messenger: DEMO_USER.psid, whatsapp: DEMO_USER.waId, sms: DEMO_USER.phone };
const PATHS: Record<Platform, string> = { messenger: '/webhooks/messenger', whatsapp: '/webhooks/whatsapp', sms: '/webhooks/twilio/sms' };

let dir: string;
let h: Harness;

beforeEach(async () => {
  dir = tempDir();
  h = await startHarness(dir);
});
afterEach(async () => {
  await h.close();
  removeDir(dir);
});

/** A webhook body for `platform` with the given messages (id, text), as the platform builds it. */
function webhookBody(platform: Platform, messages: Array<{ id: string; text: string; user?: string }>): { body: string; type: string } {
  if (platform === 'messenger') {
    return {
      type: 'application/json',
      body: metaJson({
        object: 'page',
        entry: messages.map((m) => ({
          id: SECRETS.MESSENGER_PAGE_ID,
          time: 1,
          messaging: [{ sender: { id: m.user ?? USERS.messenger }, recipient: { id: SECRETS.MESSENGER_PAGE_ID }, timestamp: 1, message: { mid: m.id, text: m.text } }],
        })),
      }),
    };
  }
  if (platform === 'whatsapp') {
    return {
      type: 'application/json',
      body: metaJson({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: 'WABA',
            changes: messages.map((m) => ({
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { phone_number_id: SECRETS.WHATSAPP_PHONE_NUMBER_ID },
                contacts: [{ profile: { name: 'Robert Doe' }, wa_id: m.user ?? USERS.whatsapp }],
                messages: [{ from: m.user ?? USERS.whatsapp, id: m.id, timestamp: '1', type: 'text', text: { body: m.text } }],
              },
            })),
          },
        ],
      }),
    };
  }
  const [m] = messages;
  return {
    type: 'application/x-www-form-urlencoded',
    body: new URLSearchParams({ MessageSid: m!.id as string, AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: m!.user ?? USERS.sms, To: SECRETS.TWILIO_FROM_NUMBER, Body: m!.text }).toString(),
  };
}

function sign(platform: Platform, body: string): Record<string, string> {
  if (platform === 'messenger') return { 'x-hub-signature-256': metaSignatureOf(SECRETS.MESSENGER_APP_SECRET, body) };
  if (platform === 'whatsapp') return { 'x-hub-signature-256': metaSignatureOf(SECRETS.WHATSAPP_APP_SECRET, body) };
  return { 'x-twilio-signature': twilioSignatureOf(SECRETS.TWILIO_AUTH_TOKEN, TWILIO_URL, Object.fromEntries(new URLSearchParams(body))) };
}

async function post(platform: Platform, body: string, type: string, headers: Record<string, string>) {
  return fetch(`${h.chat.httpBase}${PATHS[platform]}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
}

function msgId(platform: Platform, n: number): string {
  if (platform === 'sms') return `SM${String(n).padStart(32, '0')}`;
  return platform === 'messenger' ? `m_test_${n}` : `wamid.TEST${n}`;
}

const customerMessages = () =>
  rows<{ payload: string; conversation_id: string }>(h.chat, "select payload, conversation_id from events where kind = 'message' and author_role = 'customer' order by id").map((r) => ({
    ...(JSON.parse(r.payload) as { text: string; via: string; author: { name: string } }),
    conversationId: r.conversation_id,
  }));

describe.each(['messenger', 'whatsapp', 'sms'] as const)('%s webhook', (platform) => {
  it('stores a validly signed delivery and turns it into a customer message of a channel conversation', async () => {
    const { body, type } = webhookBody(platform, [{ id: msgId(platform, 1), text: 'Hello, card 4242 4242 4242 4242 lost' }]);
    const res = await post(platform, body, type, sign(platform, body));
    expect(res.status).toBe(200);
    if (platform === 'sms') {
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      expect(await res.text()).toContain('<Response/>');
    }
    await settle(h.chat);
    const messages = customerMessages();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.via).toBe(platform);
    expect(messages[0]!.text).toBe('Hello, card •••• •••• •••• 4242 lost');
    const [conversation] = rows<{ channel: string }>(h.chat, 'select channel from conversations where id = ?', messages[0]!.conversationId);
    expect(conversation!.channel).toBe(platform);
    const [identity] = rows<{ platform_user_id: string }>(h.chat, 'select platform_user_id from channel_identities');
    expect(identity!.platform_user_id).toBe(USERS[platform]);
    if (platform === 'whatsapp') expect(messages[0]!.author.name).toBe('Robert Doe');
    if (platform === 'messenger') expect(messages[0]!.author.name).toBe(`Messenger customer …${USERS.messenger.slice(-4)}`);
    expect(rows(h.chat, "select * from channel_inbox where status = 'processed'")).toHaveLength(1);
  });

  it('refuses a wrong signature with 403 and a missing one with 401, storing nothing', async () => {
    const { body, type } = webhookBody(platform, [{ id: msgId(platform, 2), text: 'forged' }]);
    const wrongKey: Record<string, string> = platform === 'sms' ? { 'x-twilio-signature': createHmac('sha1', 'wrong').update(TWILIO_URL).digest('base64') } : { 'x-hub-signature-256': metaSignatureOf('wrong-secret', body) };
    const bad = await post(platform, body, type, wrongKey);
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    // A valid signature of another body does not fit this one.
    const other = webhookBody(platform, [{ id: msgId(platform, 3), text: 'other' }]).body;
    expect((await post(platform, body, type, sign(platform, other))).status).toBe(403);
    const missing = await post(platform, body, type, {});
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_SIGNATURE_MISSING');
    await settle(h.chat);
    expect(rows(h.chat, 'select id from channel_inbox')).toHaveLength(0);
    expect(customerMessages()).toHaveLength(0);
  });

  it('stores a replayed delivery once, even when its bytes differ', async () => {
    const { body, type } = webhookBody(platform, [{ id: msgId(platform, 4), text: 'once' }]);
    for (let i = 0; i < 3; i++) expect((await post(platform, body, type, sign(platform, body))).status).toBe(200);
    // The platform retries with a re-encoded body (same message id).
    const again = platform === 'sms' ? `${body}&Extra=1` : body.replace('{', '{"retry":1,');
    expect((await post(platform, again, type, sign(platform, again))).status).toBe(200);
    await settle(h.chat);
    expect(rows(h.chat, 'select id from channel_inbox')).toHaveLength(2);
    expect(customerMessages().map((m) => m.text)).toEqual(['once']);
    expect(rows(h.chat, 'select * from channel_messages')).toHaveLength(1);
  });

  it('refuses a body larger than WEBHOOK_MAX_BODY_BYTES with 413 and stores nothing', async () => {
    const { body, type } = webhookBody(platform, [{ id: msgId(platform, 5), text: 'x'.repeat(WEBHOOK_MAX_BODY_BYTES) }]);
    const res = await post(platform, body, type, sign(platform, body));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
    // Just under the limit is accepted.
    const fits = webhookBody(platform, [{ id: msgId(platform, 6), text: 'y'.repeat(WEBHOOK_MAX_BODY_BYTES - 2048) }]);
    expect((await post(platform, fits.body, fits.type, sign(platform, fits.body))).status).toBe(200);
    await settle(h.chat);
    expect(rows(h.chat, 'select id from channel_inbox')).toHaveLength(1);
  });

  it('relays an agent message to the platform in its documented format', async () => {
    await h.platforms.deliver(platform, USERS[platform], 'Hi there');
    await settle(h.chat);
    const { conversationId } = customerMessages()[0]!;
    const agent = await agentSession(h.chat);
    const sent = await call(h.chat, 'POST', `/v1/agent/conversations/${conversationId}/messages`, {
      origin: CHAT,
      token: agent,
      body: { clientMsgId: 'agentmsg01', text: 'How can I help?' },
    });
    expect(sent.status).toBe(200);
    await settle(h.chat);
    const out = h.platforms.sent.filter((s) => s.platform === platform);
    expect(out).toHaveLength(1);
    expect(out[0]!.status).toBe(platform === 'sms' ? 201 : 200);
    const expected = {
      messenger: { recipient: { id: USERS.messenger }, messaging_type: 'RESPONSE', message: { text: 'How can I help?' } },
      whatsapp: { messaging_product: 'whatsapp', recipient_type: 'individual', to: USERS.whatsapp, type: 'text', text: { body: 'How can I help?' } },
      sms: { To: USERS.sms, From: SECRETS.TWILIO_FROM_NUMBER, Body: 'How can I help?' },
    }[platform];
    expect(out[0]!.body).toEqual(expected);
    expect(rows(h.chat, "select status, attempts from channel_outbox")).toEqual([{ status: 'sent', attempts: 1 }]);
  });

  it('stops relaying once the customer continued on the bank site, and resumes when they write on the platform again', async () => {
    await h.platforms.deliver(platform, USERS[platform], 'Hello');
    await settle(h.chat);
    const { conversationId } = customerMessages()[0]!;
    const agent = await agentSession(h.chat);
    const say = async (clientMsgId: string, text: string) => {
      const sent = await call(h.chat, 'POST', `/v1/agent/conversations/${conversationId}/messages`, {
        origin: CHAT,
        token: agent,
        body: { clientMsgId, text },
      });
      expect(sent.status).toBe(200);
      await settle(h.chat);
    };
    const relayedTexts = () => h.platforms.sent.filter((s) => s.platform === platform).map((s) => JSON.stringify(s.body));

    // The customer continues on the bank's site: a customer session for this conversation.
    h.time.now += 1000;
    const { context } = h.chat.server;
    const conversation = await context.store.conversations.get(conversationId);
    await issueSession(context.store, context.clock, {
      role: 'customer',
      acr: 'channel',
      customerId: conversation!.customerId,
      agentId: null,
      conversationId,
    });
    h.time.now += 1000;
    await say('agentmsg10', 'Your IBAN ends in 1234');
    expect(relayedTexts().some((t) => t.includes('IBAN'))).toBe(false);

    // Back on the platform: replies follow the customer there again.
    h.time.now += 1000;
    await h.platforms.deliver(platform, USERS[platform], 'I am back on the app');
    await settle(h.chat);
    await say('agentmsg11', 'Welcome back');
    expect(relayedTexts().filter((t) => t.includes('Welcome back'))).toHaveLength(1);
  });

  it('sends a link as the platform documents it (button, CTA URL, or text + URL)', async () => {
    await h.platforms.deliver(platform, USERS[platform], 'I want to pay');
    await settle(h.chat);
    const { conversationId } = customerMessages()[0]!;
    const link = { url: 'http://bank.localhost:8080/#pivot=abc', title: 'Continue securely', text: 'Continue on our site' };
    await h.chat.server.context.channels.sendLink(conversationId, link);
    const out = h.platforms.sent.filter((s) => s.platform === platform);
    const expected = {
      messenger: {
        recipient: { id: USERS.messenger },
        messaging_type: 'RESPONSE',
        message: { attachment: { type: 'template', payload: { template_type: 'button', text: link.text, buttons: [{ type: 'web_url', url: link.url, title: link.title }] } } },
      },
      whatsapp: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: USERS.whatsapp,
        type: 'interactive',
        interactive: { type: 'cta_url', body: { text: link.text }, action: { name: 'cta_url', parameters: { display_text: link.title, url: link.url } } },
      },
      sms: { To: USERS.sms, From: SECRETS.TWILIO_FROM_NUMBER, Body: `${link.text}\n${link.url}` },
    }[platform];
    expect(out.at(-1)!.body).toEqual(expected);
    expect(h.platforms.thread.filter((m) => m.from === 'business').at(-1)!.link!.url).toBe(link.url);
    const identity = await h.chat.server.context.channels.identityFor(conversationId);
    expect(identity?.channel).toBe(platform);
  });

  it('keeps a signed but malformed delivery as failed with a reason, and goes on', async () => {
    const body = platform === 'sms' ? 'From=%2B1&Body=hi' : '{"object":"page"';
    expect((await post(platform, body, platform === 'sms' ? 'application/x-www-form-urlencoded' : 'application/json', sign(platform, body))).status).toBe(200);
    const good = webhookBody(platform, [{ id: msgId(platform, 7), text: 'after the bad one' }]);
    expect((await post(platform, good.body, good.type, sign(platform, good.body))).status).toBe(200);
    await settle(h.chat);
    const inbox = rows<{ status: string; reason: string | null }>(h.chat, 'select status, reason from channel_inbox order by id');
    expect(inbox[0]!.status).toBe('failed');
    expect(inbox[0]!.reason).toMatch(/not/);
    expect(inbox[1]!.status).toBe('processed');
    expect(customerMessages().map((m) => m.text)).toEqual(['after the bad one']);
  });
});

describe.each(['messenger', 'whatsapp'] as const)('%s (Meta) specifics', (platform) => {
  const verifyToken = platform === 'messenger' ? SECRETS.MESSENGER_VERIFY_TOKEN : SECRETS.WHATSAPP_VERIFY_TOKEN;

  it('answers the verify handshake with the challenge, and 403 for a wrong token', async () => {
    const ok = await fetch(`${h.chat.httpBase}${PATHS[platform]}?hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1158201444');
    const bad = await fetch(`${h.chat.httpBase}${PATHS[platform]}?hub.mode=subscribe&hub.verify_token=${verifyToken}x&hub.challenge=1`);
    expect(bad.status).toBe(403);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_VERIFY_FAILED');
    const mode = await fetch(`${h.chat.httpBase}${PATHS[platform]}?hub.mode=unsubscribe&hub.verify_token=${verifyToken}&hub.challenge=1`);
    expect(mode.status).toBe(403);
  });

  it('verifies the signature over the raw bytes, with Meta escaping (\\u00e9, \\/)', async () => {
    const { body, type } = webhookBody(platform, [{ id: msgId(platform, 8), text: 'Café à 10/12' }]);
    expect(body).toContain('Caf\\u00e9');
    expect(body).toContain('10\\/12');
    expect((await post(platform, body, type, sign(platform, body))).status).toBe(200);
    // The same content re-serialised differently is NOT what was signed.
    const reserialised = JSON.stringify(JSON.parse(body));
    expect((await post(platform, reserialised, type, sign(platform, body))).status).toBe(403);
    await settle(h.chat);
    expect(customerMessages().map((m) => m.text)).toEqual(['Café à 10/12']);
  });

  it('stores each message of a batched delivery', async () => {
    const { body, type } = webhookBody(platform, [
      { id: msgId(platform, 10), text: 'one' },
      { id: msgId(platform, 11), text: 'two' },
      { id: msgId(platform, 12), text: 'three', user: '1111222233334444' },
    ]);
    expect((await post(platform, body, type, sign(platform, body))).status).toBe(200);
    await settle(h.chat);
    const messages = customerMessages();
    expect(messages.map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(new Set(messages.map((m) => m.conversationId)).size).toBe(2);
  });
});

describe('whatsapp', () => {
  it('ignores status-only deliveries', async () => {
    const body = metaJson({
      object: 'whatsapp_business_account',
      entry: [{ id: 'W', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { phone_number_id: SECRETS.WHATSAPP_PHONE_NUMBER_ID }, statuses: [{ id: 'wamid.X', status: 'read' }] } }] }],
    });
    expect((await post('whatsapp', body, 'application/json', sign('whatsapp', body))).status).toBe(200);
    await settle(h.chat);
    expect(rows(h.chat, 'select status from channel_inbox')).toEqual([{ status: 'processed' }]);
    expect(customerMessages()).toHaveLength(0);
  });
});

describe('twilio signature', () => {
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  it("matches the worked examples of Twilio's security documentation", () => {
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
    expect(twilioSignature('12345', url, Object.entries(params))).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    const older = { ...params, Caller: '+14158675310', From: '+14158675310' };
    expect(twilioSignature('12345', url, Object.entries(older))).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
    expect(verifyTwilioSignature('12345', url, Object.entries(params), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).toBe(true);
    expect(verifyTwilioSignature('12345', url, Object.entries({ ...params, Digits: '9999' }), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).toBe(false);
    expect(verifyTwilioSignature('12345', url.replace('https', 'http'), Object.entries(params), '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).toBe(false);
  });
});

describe('unconfigured platforms', () => {
  it('answer 404 CHANNEL_NOT_CONFIGURED on every webhook', async () => {
    const d = tempDir();
    const bare = await startChat(d);
    try {
      for (const path of Object.values(PATHS)) {
        const res = await fetch(`${bare.httpBase}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CHANNEL_NOT_CONFIGURED');
      }
      const get = await fetch(`${bare.httpBase}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`);
      expect(get.status).toBe(404);
    } finally {
      await bare.close();
      removeDir(d);
    }
  });
});
