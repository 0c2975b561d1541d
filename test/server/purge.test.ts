/**
 * The server's purge at the fake clock: pivot links and id_token nonces past PURGE_GRACE_MS,
 * processed deliveries past CHANNEL_INBOX_PROCESSED_RETENTION_MS, failed ones past
 * CHANNEL_INBOX_FAILED_RETENTION_MS; pending deliveries and the message dedupe rows stay.
 */
import { describe, expect } from 'vitest';
import { ID_TOKEN_NONCE_TTL_S, PIVOT_LINK_TTL_S } from '../../protocol/chat.ts';
import { CHANNEL_INBOX_FAILED_RETENTION_MS, CHANNEL_INBOX_PROCESSED_RETENTION_MS, PURGE_GRACE_MS } from '../../server/app.ts';
import { hashToken } from '../../server/lib/ids.ts';
import type { SqliteChatStore } from '../../server/store/sqlite-store.ts';
import { call, chatTest, customerSession, type Running } from './helpers.ts';

const time = { now: Date.UTC(2030, 2, 1, 12) };
const it = chatTest.override('chatSetup', () => {
  time.now = Date.UTC(2030, 2, 1, 12);
  return { options: { clock: () => time.now } };
});

function store(run: Running): SqliteChatStore {
  return run.server.context.store as SqliteChatStore;
}
function count(run: Running, table: string, where = '1 = 1'): number {
  return (store(run).db.sqlite.prepare(`select count(*) as n from ${table} where ${where}`).get() as { n: number }).n;
}

async function channelConversation(run: Running): Promise<{ conversationId: string; customerId: string; identityId: string }> {
  const s = store(run);
  const customer = await s.customers.create({ subject: null, displayName: 'Robert' });
  const conversation = await s.conversations.create(customer.id, 'none', 'messenger');
  const identity = await s.channels.createIdentity({ channel: 'messenger', platformUserId: `psid-${Math.random()}`, customerId: customer.id });
  await s.channels.setIdentityConversation(identity.id, conversation.id);
  return { conversationId: conversation.id, customerId: customer.id, identityId: identity.id };
}

describe('purge', () => {
  it('deletes pivot links (used or not) only once expired for longer than PURGE_GRACE_MS', async ({ run }) => {
    const { conversationId, customerId, identityId } = await channelConversation(run);
    const expiresAt = time.now + PIVOT_LINK_TTL_S * 1000;
    const link = { conversationId, customerId, channel: 'messenger' as const, channelIdentityId: identityId, expiresAt };
    await store(run).pivotLinks.create({ ...link, codeHash: hashToken('used-link') });
    expect(await store(run).pivotLinks.consume(hashToken('used-link'), time.now)).toBe(true);
    await store(run).pivotLinks.create({ ...link, codeHash: hashToken('unused-link'), expiresAt: expiresAt + 1 });
    await store(run).pivotLinks.create({ ...link, codeHash: hashToken('later-link'), expiresAt: expiresAt + PURGE_GRACE_MS });

    time.now = expiresAt + PURGE_GRACE_MS;
    await run.server.purge();
    expect(count(run, 'pivot_links')).toBe(3);
    time.now += 1;
    await run.server.purge();
    expect(await store(run).pivotLinks.find(hashToken('used-link'))).toBeUndefined();
    expect(count(run, 'pivot_links')).toBe(2);
    time.now += 1;
    await run.server.purge();
    expect(count(run, 'pivot_links')).toBe(1);
    expect(await store(run).pivotLinks.find(hashToken('later-link'))).toBeDefined();
  });

  it('deletes id_token nonces used or expired for longer than PURGE_GRACE_MS, keeps fresh ones', async ({ run }) => {
    const { token } = await customerSession(run);
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await call(run, 'POST', '/v1/sessions/nonce', { token });
      expect(res.status).toBe(201);
      nonces.push(res.body['nonce'] as string);
    }
    const [used, unused] = nonces as [string, string];
    const session = await store(run).sessions.findByTokenHash(hashToken(token));
    expect(await store(run).nonces.consume(hashToken(used), session!.id, time.now)).toBe(true);
    const issuedAt = time.now;

    time.now = issuedAt + PURGE_GRACE_MS;
    await run.server.purge();
    expect(count(run, 'id_token_nonces')).toBe(2);
    time.now += 1; // the used one is past the grace period; the unused one expires later
    await run.server.purge();
    expect(store(run).db.sqlite.prepare('select nonce_hash from id_token_nonces').all()).toEqual([{ nonce_hash: hashToken(unused) }]);
    time.now = issuedAt + ID_TOKEN_NONCE_TTL_S * 1000 + PURGE_GRACE_MS + 1;
    await run.server.purge();
    expect(count(run, 'id_token_nonces')).toBe(0);
  });

  it('deletes processed deliveries after their retention, failed ones after a longer one, never pending ones', async ({ run }) => {
    const { conversationId } = await channelConversation(run);
    const s = store(run);
    const processed = await s.channels.insertDelivery('messenger', Buffer.from('{"processed":true}'));
    const failed = await s.channels.insertDelivery('messenger', Buffer.from('{"failed":true}'));
    const pending = await s.channels.insertDelivery('messenger', Buffer.from('{"pending":true}'));
    const settledAt = time.now;
    await s.channels.markDelivery(processed.id, 'processed', null);
    await s.channels.markDelivery(failed.id, 'failed', 'malformed');
    // The message that came in the processed delivery: its dedupe row must outlive the raw bytes.
    const { event } = await s.events.append(conversationId, {
      kind: 'message',
      author: { role: 'customer', name: 'Robert' },
      clientMsgId: 'ch_purge000001',
      via: 'messenger',
      text: 'my card',
    });
    await s.channels.recordMessage({ platform: 'messenger', platformMessageId: 'm_1', inboxId: processed.id, conversationId, seq: event.seq });

    time.now = settledAt + CHANNEL_INBOX_PROCESSED_RETENTION_MS;
    await run.server.purge();
    expect(count(run, 'channel_inbox')).toBe(3);
    time.now += 1;
    await run.server.purge();
    expect(await s.channels.getDelivery(processed.id)).toBeUndefined();
    expect(count(run, 'channel_inbox')).toBe(2);
    expect(await s.channels.findMessage('messenger', 'm_1')).toEqual({ conversationId, seq: event.seq });
    expect(count(run, 'channel_messages', 'inbox_id is null')).toBe(1);
    // A platform message stays a platform message: it is not web activity.
    expect(await s.channels.lastWebActivity(conversationId)).toBeNull();

    time.now = settledAt + CHANNEL_INBOX_FAILED_RETENTION_MS;
    await run.server.purge();
    expect((await s.channels.getDelivery(failed.id))?.status).toBe('failed');
    time.now += 1;
    await run.server.purge();
    expect(await s.channels.getDelivery(failed.id)).toBeUndefined();

    time.now += 365 * 24 * 60 * 60 * 1000;
    await run.server.purge();
    expect((await s.channels.getDelivery(pending.id))?.status).toBe('pending');
    expect(s.db.sqlite.pragma('foreign_key_check')).toEqual([]);
  });

  it('keeps the retention of failed deliveries longer than that of processed ones', () => {
    expect(CHANNEL_INBOX_FAILED_RETENTION_MS).toBeGreaterThan(CHANNEL_INBOX_PROCESSED_RETENTION_MS);
  });
});
