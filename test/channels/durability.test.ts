import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USER, metaJson } from '../../demo/platforms/server.ts';
import { OUTBOX_MAX_ATTEMPTS, outboxBackoffMs } from '../../server/channels/service.ts';
import { WHATSAPP_WINDOW_MS } from '../../server/channels/whatsapp.ts';
import { PivotError } from '../../protocol/errors.ts';
import { agentSession, call, CHAT, removeDir, tempDir } from '../server/helpers.ts';
import { rows, SECRETS, settle, startHarness, type Harness } from './helpers.ts';

let dir: string;
let h: Harness;
const link = { url: 'http://bank.localhost:8080/#pivot=abc', title: 'Continue securely', text: 'Continue on our site' };

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await h?.close();
  removeDir(dir);
});

async function conversationOf(harness: Harness): Promise<string> {
  await settle(harness.chat);
  const [row] = rows<{ conversation_id: string }>(harness.chat, 'select conversation_id from channel_identities');
  return row!.conversation_id;
}

describe('durable inbox', () => {
  it('processes a delivery left pending by a restart', async () => {
    h = await startHarness(dir);
    const body = Buffer.from(
      metaJson({
        object: 'page',
        entry: [{ id: SECRETS.MESSENGER_PAGE_ID, time: 1, messaging: [{ sender: { id: DEMO_USER.psid }, recipient: { id: SECRETS.MESSENGER_PAGE_ID }, timestamp: 1, message: { mid: 'm_restart', text: 'still here?' } }] }],
      }),
    );
    await h.chat.server.context.store.channels.insertDelivery('messenger', body);
    await h.close();
    const db = new BetterSqlite3(join(dir, 'chat.db'), { readonly: true });
    expect(db.prepare('select status from channel_inbox').all()).toEqual([{ status: 'pending' }]);
    db.close();

    h = await startHarness(dir);
    await settle(h.chat);
    expect(rows(h.chat, 'select status from channel_inbox')).toEqual([{ status: 'processed' }]);
    const texts = rows<{ payload: string }>(h.chat, "select payload from events where kind = 'message'").map((r) => (JSON.parse(r.payload) as { text: string }).text);
    expect(texts).toEqual(['still here?']);
  });
});

describe('whatsapp 24-hour window', () => {
  it('sends a CTA link inside the window, and refuses outside it without a template', async () => {
    h = await startHarness(dir);
    await h.platforms.deliver('whatsapp', DEMO_USER.waId, 'hello');
    const cnv = await conversationOf(h);
    h.time.now += WHATSAPP_WINDOW_MS - 1000;
    await h.chat.server.context.channels.sendLink(cnv, link);
    expect((h.platforms.sent.at(-1)!.body as { type: string }).type).toBe('interactive');
    h.time.now += 2000;
    const err = await h.chat.server.context.channels.sendLink(cnv, link).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PivotError);
    expect((err as PivotError).code).toBe('CHANNEL_WINDOW_CLOSED');
    expect(h.platforms.sent).toHaveLength(1);

    // An agent message outside the window is not sent and the agent is told.
    const agent = await agentSession(h.chat);
    await call(h.chat, 'POST', `/v1/agent/conversations/${cnv}/messages`, { origin: CHAT, token: agent, body: { clientMsgId: 'late0001', text: 'Are you there?' } });
    await settle(h.chat);
    expect(rows(h.chat, 'select status from channel_outbox')).toEqual([{ status: 'failed' }]);
    const system = rows<{ payload: string }>(h.chat, "select payload from events where kind = 'system'").map((r) => (JSON.parse(r.payload) as { text: string }).text);
    expect(system.at(-1)).toMatch(/24-hour window/);
  });

  it('sends the configured template outside the window', async () => {
    h = await startHarness(dir, { WHATSAPP_LINK_TEMPLATE: 'secure_link:en_GB' });
    await h.platforms.deliver('whatsapp', DEMO_USER.waId, 'hello');
    const cnv = await conversationOf(h);
    h.time.now += WHATSAPP_WINDOW_MS + 1;
    await h.chat.server.context.channels.sendLink(cnv, link);
    expect(h.platforms.sent.at(-1)!.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: DEMO_USER.waId,
      type: 'template',
      template: { name: 'secure_link', language: { code: 'en_GB' }, components: [{ type: 'body', parameters: [{ type: 'text', text: link.url }] }] },
    });
  });
});

describe('outbound failures', () => {
  it('sendLink throws CHANNEL_SEND_FAILED when the platform refuses, and CHANNEL_NOT_AVAILABLE for a web conversation', async () => {
    h = await startHarness(dir, {}, { MESSENGER_PAGE_TOKEN: 'the-double-knows-another-token' });
    await h.platforms.deliver('messenger', DEMO_USER.psid, 'hello');
    const cnv = await conversationOf(h);
    const err = await h.chat.server.context.channels.sendLink(cnv, link).catch((e: unknown) => e);
    expect((err as PivotError).code).toBe('CHANNEL_SEND_FAILED');
    expect(h.platforms.sent.at(-1)!.status).toBe(401);
    const web = await call(h.chat, 'POST', '/v1/sessions', { body: { displayName: 'Ada' } });
    const webErr = await h.chat.server.context.channels.sendLink(web.body['conversationId'] as string, link).catch((e: unknown) => e);
    expect((webErr as PivotError).code).toBe('CHANNEL_NOT_AVAILABLE');
  });

  it('retries a relay with backoff while the platform is unreachable, then tells the agent', async () => {
    h = await startHarness(dir, { TWILIO_API_BASE: 'http://127.0.0.1:9' });
    await h.platforms.deliver('sms', DEMO_USER.phone, 'hello');
    const cnv = await conversationOf(h);
    const agent = await agentSession(h.chat);
    await call(h.chat, 'POST', `/v1/agent/conversations/${cnv}/messages`, { origin: CHAT, token: agent, body: { clientMsgId: 'retry0001', text: 'Reply' } });
    await settle(h.chat);
    for (let attempt = 1; attempt < OUTBOX_MAX_ATTEMPTS; attempt++) {
      expect(rows(h.chat, 'select status, attempts from channel_outbox')).toEqual([{ status: 'pending', attempts: attempt }]);
      h.time.now += outboxBackoffMs(attempt) - 1;
      await settle(h.chat);
      expect(rows<{ attempts: number }>(h.chat, 'select attempts from channel_outbox')[0]!.attempts).toBe(attempt);
      h.time.now += 1;
      await settle(h.chat);
    }
    expect(rows(h.chat, 'select status, attempts from channel_outbox')).toEqual([{ status: 'failed', attempts: OUTBOX_MAX_ATTEMPTS }]);
    const system = rows<{ payload: string }>(h.chat, "select payload from events where kind = 'system'").map((r) => (JSON.parse(r.payload) as { text: string }).text);
    expect(system).toEqual(['A message was not delivered on SMS: SMS did not accept it.']);
  });
});
