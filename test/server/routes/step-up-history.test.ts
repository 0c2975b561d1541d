/**
 * A signed-in bank customer who opens the chat afresh (anonymous start, then step-up) continues
 * their latest conversation, unless the start already holds something of theirs or came from a
 * pivot link.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { PIVOT_LINK_CODE_BYTES, PIVOT_LINK_TTL_S } from '../../../protocol/chat.ts';
import { STEP_UP_TEXT } from '../../../server/conversations/chat-service.ts';
import { hashToken } from '../../../server/lib/ids.ts';
import { agentSession, call, chatTest, createStep, customerSession, newSession, signIn, type Running } from '../helpers.ts';

let now = Date.UTC(2030, 3, 1, 9);
const it = chatTest.override('chatSetup', () => ({ options: { clock: () => now } }));

const stepUp = (run: Running, token: string, subject: string) => signIn(run, token, subject);

async function sessionConversation(run: Running, token: string): Promise<string | null | undefined> {
  return (await run.server.context.store.sessions.findByTokenHash(hashToken(token)))?.conversationId;
}

/** A bank customer with a conversation that holds a message of theirs. */
async function bankHistory(run: Running, subject: string): Promise<string> {
  const earlier = await customerSession(run, subject);
  await run.server.context.service.postMessage({
    conversationId: earlier.conversationId,
    author: { role: 'customer', name: subject },
    clientMsgId: 'earlier001',
    text: 'My card was swallowed by the ATM',
  });
  now += 60_000;
  return earlier.conversationId;
}

describe('step-up of a signed-in customer who opened the chat afresh', () => {
  it('moves a fresh anonymous session to the bank customer’s latest conversation and answers its id', async ({ run }) => {
    const latest = await bankHistory(run, 'robert');
    const fresh = await customerSession(run);
    expect(fresh.conversationId).not.toBe(latest);

    const res = await stepUp(run, fresh.token, 'robert');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ conversationId: latest, acr: 'bank' });
    expect(await sessionConversation(run, fresh.token)).toBe(latest);
    // The history is there, with the sign-in announced in it; the empty start got nothing.
    const events = await run.server.context.store.events.list(latest, 0, 100);
    expect(events.map((e) => ('text' in e ? e.text : e.kind))).toEqual(['My card was swallowed by the ATM', STEP_UP_TEXT]);
    expect(await run.server.context.store.events.list(fresh.conversationId, 0, 100)).toEqual([]);
    // The session now opens sockets on that conversation.
    expect((await call(run, 'POST', '/v1/ws-tickets', { token: fresh.token })).status).toBe(201);
  });

  it('moves a fresh session that has no conversation yet (nothing written) to the latest conversation', async ({ run }) => {
    const latest = await bankHistory(run, 'robert');
    const fresh = await newSession(run);
    expect(fresh.conversationId).toBeNull();
    const res = await stepUp(run, fresh.token, 'robert');
    expect(res.body).toMatchObject({ conversationId: latest, acr: 'bank' });
    expect(await sessionConversation(run, fresh.token)).toBe(latest);
  });

  it('keeps a fresh session without a conversation for a customer the bank login is new to; its first message starts one at bank', async ({ run }) => {
    const fresh = await newSession(run);
    const res = await stepUp(run, fresh.token, 'newcomer');
    expect(res.body).toMatchObject({ conversationId: null, acr: 'bank' });
    const session = await run.server.context.store.sessions.findByTokenHash(hashToken(fresh.token));
    const started = await run.server.context.store.conversations.startForSession(session!.id);
    expect(started?.conversation).toMatchObject({ acr: 'bank', customerId: session!.customerId });
  });

  it('keeps the session where it is when the customer already wrote in the anonymous conversation', async ({ run }) => {
    await bankHistory(run, 'robert');
    const fresh = await customerSession(run);
    await run.server.context.service.postMessage({
      conversationId: fresh.conversationId,
      author: { role: 'customer', name: 'Ada' },
      clientMsgId: 'fresh00001',
      text: 'Hello?',
    });
    const res = await stepUp(run, fresh.token, 'robert');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ conversationId: fresh.conversationId, acr: 'bank' });
    expect(await sessionConversation(run, fresh.token)).toBe(fresh.conversationId);
  });

  it('keeps the session where it is when a step was asked in the anonymous conversation', async ({ run }) => {
    await bankHistory(run, 'robert');
    const fresh = await customerSession(run);
    await createStep(run, await agentSession(run), fresh.conversationId);
    const res = await stepUp(run, fresh.token, 'robert');
    expect(res.body).toMatchObject({ conversationId: fresh.conversationId, acr: 'bank' });
  });

  it('keeps the session where it is for a customer the bank login is new to', async ({ run }) => {
    const fresh = await customerSession(run);
    const res = await stepUp(run, fresh.token, 'newcomer');
    expect(res.body).toMatchObject({ conversationId: fresh.conversationId, acr: 'bank' });
    expect(await sessionConversation(run, fresh.token)).toBe(fresh.conversationId);
  });

  it('never moves a session that came from a pivot link', async ({ run }) => {
    await bankHistory(run, 'robert');
    const { store } = run.server.context;
    const customer = await store.customers.create({ subject: null, displayName: 'Robert' });
    const conversation = await store.conversations.create(customer.id, 'none', 'messenger');
    const identity = await store.channels.createIdentity({ channel: 'messenger', platformUserId: 'psid-robert', customerId: customer.id });
    await store.channels.setIdentityConversation(identity.id, conversation.id);
    const code = randomBytes(PIVOT_LINK_CODE_BYTES).toString('base64url');
    await store.pivotLinks.create({
      codeHash: hashToken(code),
      conversationId: conversation.id,
      customerId: customer.id,
      channel: 'messenger',
      channelIdentityId: identity.id,
      expiresAt: now + PIVOT_LINK_TTL_S * 1000,
    });
    const redeemed = await call(run, 'POST', '/v1/pivot-links/redeem', { body: { code } });
    expect(redeemed.status).toBe(201);
    const token = redeemed.body['session'] as string;

    const res = await stepUp(run, token, 'robert');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ conversationId: conversation.id, acr: 'bank' });
    expect(await sessionConversation(run, token)).toBe(conversation.id);
  });
});
