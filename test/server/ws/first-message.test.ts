/**
 * A session starts without a conversation; the customer's first message creates it, once, even
 * when two sockets of the session race, and every socket of the session ends up following it.
 * The frame budget is the customer's, across their sockets and sessions. The clock stands still.
 */
import { afterEach, describe, expect } from 'vitest';
import { MESSAGE_MAX_CHARS, WS_MAX_MESSAGES_PER_SECOND } from '../../../protocol/chat.ts';
import { hashToken } from '../../../server/lib/ids.ts';
import {
  CHAT,
  agentSession,
  call,
  customerSession,
  customerSocket,
  msgId,
  newSession,
  schemaViolations,
  signIn,
  chatTest,
  type Running,
} from '../helpers.ts';

const now = Date.UTC(2030, 6, 1, 12);
const it = chatTest.override('chatSetup', { options: { clock: () => now } });

afterEach(() => expect(schemaViolations).toEqual([]));

function conversationsCount(run: Running): number {
  const { sqlite } = (run.server.context.store as unknown as { db: { sqlite: import('better-sqlite3').Database } }).db;
  return (sqlite.prepare('select count(*) as n from conversations').get() as { n: number }).n;
}

const sessionOf = async (run: Running, token: string) => run.server.context.store.sessions.findByTokenHash(hashToken(token));

describe("the customer's first message", () => {
  it('creates the conversation at the session’s acr and customer, binds it to the session, and the socket follows it', async ({ run }) => {
    const { token } = await newSession(run);
    const socket = await customerSocket(run, token);
    expect(socket.frames[0]).toMatchObject({ type: 'hello', conversationId: null });
    expect(conversationsCount(run)).toBe(0);

    socket.send({ type: 'send', clientMsgId: msgId(1), text: 'hello' });
    expect(await socket.waitFor('ack')).toEqual({ type: 'ack', clientMsgId: msgId(1), seq: 1 });
    const { event } = await socket.waitFor('event');
    const session = await sessionOf(run, token);
    expect(session?.conversationId).toBe(event.conversationId);
    expect(await run.server.context.store.conversations.get(event.conversationId)).toMatchObject({ acr: 'none', customerId: session?.customerId, channel: 'web' });

    // The agent's answer reaches the socket live.
    const agent = await agentSession(run);
    await call(run, 'POST', `/v1/agent/conversations/${event.conversationId}/messages`, { origin: CHAT, token: agent, body: { clientMsgId: msgId(2), text: 'Hello, how can I help?' } });
    expect((await socket.waitFor('event', (f) => f.event.seq === 2)).event).toMatchObject({ author: { role: 'agent' } });
    socket.close();
  });

  it('two sockets of one session racing their first messages create ONE conversation, and each sees both messages', async ({ run }) => {
    const { token } = await newSession(run);
    const a = await customerSocket(run, token);
    const b = await customerSocket(run, token);
    a.send({ type: 'send', clientMsgId: msgId('a1'), text: 'from the first tab' });
    b.send({ type: 'send', clientMsgId: msgId('b1'), text: 'from the second tab' });
    const acks = [await a.waitFor('ack'), await b.waitFor('ack')];
    expect(acks.map((f) => f.seq).sort()).toEqual([1, 2]);
    expect(conversationsCount(run)).toBe(1);
    for (const socket of [a, b]) {
      await socket.waitFor('event', () => new Set(socket.ofType('event').map((f) => f.event.seq)).size === 2);
    }
    const conversationId = (await sessionOf(run, token))?.conversationId;
    expect(new Set([...a.ofType('event'), ...b.ofType('event')].map((f) => f.event.conversationId))).toEqual(new Set([conversationId]));
    a.close();
    b.close();
  });

  it('another socket of the session (another tab) picks the conversation up on its next frame, with what it missed', async ({ run }) => {
    const { token } = await newSession(run);
    const writer = await customerSocket(run, token);
    const other = await customerSocket(run, token);
    other.send({ type: 'resume', after: 0 });
    expect(await other.waitFor('replayed')).toEqual({ type: 'replayed', conversationId: null, lastSeq: 0 });

    writer.send({ type: 'send', clientMsgId: msgId(1), text: 'I lost my card' });
    const { event } = await writer.waitFor('event');
    // The widget pings every 25 s: that frame finds the conversation and replays it.
    other.send({ type: 'ping' });
    expect(await other.waitFor('replayed', (f) => f.conversationId !== null)).toEqual({ type: 'replayed', conversationId: event.conversationId, lastSeq: 1 });
    expect(other.ofType('event').map((f) => f.event)).toEqual([event]);
    await other.waitFor('pong');

    const agent = await agentSession(run);
    await call(run, 'POST', `/v1/agent/conversations/${event.conversationId}/messages`, { origin: CHAT, token: agent, body: { clientMsgId: msgId(2), text: 'On it.' } });
    await other.waitFor('event', (f) => f.event.seq === 2);
    writer.close();
    other.close();
  });

  it(`a first message that is refused (over MESSAGE_MAX_CHARS, ${MESSAGE_MAX_CHARS}, or blank) creates no conversation`, async ({ run }) => {
    const { token } = await newSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(1), text: 'y'.repeat(MESSAGE_MAX_CHARS + 1) });
    socket.send({ type: 'send', clientMsgId: msgId(2), text: '   ' });
    await socket.waitFor('error', () => socket.ofType('error').length === 2);
    expect(socket.ofType('error').map((f) => [f.code, f.clientMsgId])).toEqual([
      ['MESSAGE_TOO_LONG', msgId(1)],
      ['BAD_REQUEST', msgId(2)],
    ]);
    expect(conversationsCount(run)).toBe(0);
    expect((await sessionOf(run, token))?.conversationId).toBeNull();
    socket.close();
  });
});

describe('the frame budget', () => {
  it(`is the customer's: two sessions of one signed-in customer share WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND})`, async ({ run }) => {
    const first = await customerSession(run, 'zoe');
    const second = await customerSession(run, 'zoe');
    expect((await sessionOf(run, second.token))?.customerId).toBe((await sessionOf(run, first.token))?.customerId);
    const a = await customerSocket(run, first.token);
    const b = await customerSocket(run, second.token);
    for (let i = 0; i < WS_MAX_MESSAGES_PER_SECOND; i++) a.send({ type: 'ping' });
    await a.waitFor('pong', () => a.ofType('pong').length === WS_MAX_MESSAGES_PER_SECOND);
    b.send({ type: 'ping' });
    expect((await b.waitFor('error')).code).toBe('RATE_LIMITED');
    expect(b.ofType('pong')).toEqual([]);

    // Another customer's budget is untouched.
    const stranger = await customerSocket(run, (await signInFresh(run, 'yann')).token);
    stranger.send({ type: 'ping' });
    await stranger.waitFor('pong');
    for (const socket of [a, b, stranger]) socket.close();
  });
});

async function signInFresh(run: Running, subject: string) {
  const session = await newSession(run);
  expect((await signIn(run, session.token, subject)).status).toBe(200);
  return session;
}
