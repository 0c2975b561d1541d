import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MESSAGE_MAX_CHARS, REPLAY_PAGE_SIZE, WS_CLOSE, WS_MAX_FRAME_BYTES, WS_MAX_MESSAGES_PER_SECOND, WS_TICKET_TTL_S } from '../../../protocol/chat.ts';
import {
  BANK,
  CHAT,
  EVIL,
  UpgradeRefused,
  agentSession,
  agentSocket,
  call,
  customerSession,
  customerSocket,
  msgId,
  newSession,
  openSocket,
  schemaViolations,
  startChat,
  wsTicket,
  chatPerTest,
  type Running,
} from '../helpers.ts';

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof UpgradeRefused) return { status: err.status, code: (JSON.parse(err.body) as { error: { code: string } }).error.code };
    throw err;
  }
  throw new Error('the upgrade was accepted');
}

describe('WebSocket /v1/ws', () => {
  let dir: string;
  let run: Running;
  let offsetMs = 0;

  chatPerTest(
    (d) => {
      offsetMs = 0;
      return startChat(d, {}, { clock: () => Date.now() + offsetMs });
    },
    (r, d) => {
      run = r;
      dir = d;
    },
    () => run,
  );
  afterEach(() => expect(schemaViolations).toEqual([]));

  it('says hello with the role, conversation and acr of the session', async () => {
    const { token, conversationId } = await customerSession(run);
    const socket = await customerSocket(run, token);
    expect(socket.frames[0]).toEqual({ type: 'hello', role: 'customer', conversationId, acr: 'none' });
    socket.close();
  });

  it('acks a send with its seq and pushes the event to the sender and the agents following it', async () => {
    const { token, conversationId } = await customerSession(run);
    const agent = await agentSocket(run, await agentSession(run));
    agent.send({ type: 'resume', after: 0, conversationId });
    await agent.waitFor('replayed');
    const customer = await customerSocket(run, token);
    customer.send({ type: 'send', clientMsgId: msgId(1), text: 'hello' });
    expect(await customer.waitFor('ack')).toEqual({ type: 'ack', clientMsgId: msgId(1), seq: 1 });
    const pushed = await agent.waitFor('event');
    expect(pushed.event).toMatchObject({ kind: 'message', seq: 1, text: 'hello', author: { role: 'customer', name: 'Ada' } });
    await customer.waitFor('event', (f) => f.event.seq === 1);
    const summary = await agent.waitFor('conversation', (f) => f.conversation.lastSeq === 1);
    expect(summary.conversation).toMatchObject({ id: conversationId, lastText: 'hello', customerName: 'Ada' });
    customer.close();
    agent.close();
  });

  it('answers a resend with the same clientMsgId with the same seq and stores it once', async () => {
    const { token, conversationId } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(7), text: 'once' });
    const first = await socket.waitFor('ack');
    socket.send({ type: 'send', clientMsgId: msgId(7), text: 'once' });
    await socket.waitFor('ack', (f) => f !== first);
    const acks = socket.ofType('ack');
    expect(acks.map((a) => a.seq)).toEqual([1, 1]);
    const agentToken = await agentSession(run);
    const page = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events?after=0`, { token: agentToken, origin: CHAT });
    expect((page.body['events'] as unknown[]).length).toBe(1);
    socket.close();
  });

  it('replays exactly the events after N, in order, then says replayed', async () => {
    const { token, conversationId } = await customerSession(run);
    const first = await customerSocket(run, token);
    for (let i = 1; i <= 6; i++) {
      first.send({ type: 'send', clientMsgId: msgId(i), text: `m${i}` });
      await first.waitFor('ack', (f) => f.clientMsgId === msgId(i));
    }
    first.close();
    await first.closed;
    const second = await customerSocket(run, token);
    second.send({ type: 'resume', after: 3 });
    const replayed = await second.waitFor('replayed');
    expect(replayed).toEqual({ type: 'replayed', conversationId, lastSeq: 6 });
    const events = second.ofType('event').map((f) => f.event);
    expect(events.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(events.map((e) => (e.kind === 'message' ? e.text : ''))).toEqual(['m4', 'm5', 'm6']);
    const order = second.frames.map((f) => f.type);
    expect(order.lastIndexOf('event')).toBeLessThan(order.indexOf('replayed'));
    second.close();
  });

  it('replays more than one page in order', async () => {
    const { conversationId, token } = await customerSession(run);
    const { store } = run.server.context;
    const total = REPLAY_PAGE_SIZE + 20;
    for (let i = 0; i < total; i++) await store.events.append(conversationId, { kind: 'system', text: `s${i}` });
    const socket = await customerSocket(run, token);
    socket.send({ type: 'resume', after: 10 });
    expect((await socket.waitFor('replayed')).lastSeq).toBe(total);
    const seqs = socket.ofType('event').map((f) => f.event.seq);
    expect(seqs).toEqual(Array.from({ length: total - 10 }, (_, i) => i + 11));
    socket.close();

    const agent = await agentSession(run);
    const page = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events?after=0`, { token: agent, origin: CHAT });
    expect((page.body['events'] as unknown[]).length).toBe(REPLAY_PAGE_SIZE);
    expect(page.body['lastSeq']).toBe(total);
  });

  it('keeps events across a server restart on the same DATA_DIR', async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    for (let i = 1; i <= 3; i++) {
      socket.send({ type: 'send', clientMsgId: msgId(i), text: `before restart ${i}` });
      await socket.waitFor('ack', (f) => f.clientMsgId === msgId(i));
    }
    await run.close();
    await socket.closed;
    run = await startChat(dir);
    const again = await customerSocket(run, token);
    again.send({ type: 'resume', after: 1 });
    expect((await again.waitFor('replayed')).lastSeq).toBe(3);
    expect(again.ofType('event').map((f) => f.event.kind === 'message' && f.event.text)).toEqual(['before restart 2', 'before restart 3']);
    again.send({ type: 'send', clientMsgId: msgId(4), text: 'after restart' });
    expect((await again.waitFor('ack')).seq).toBe(4);
    again.close();
  });

  it('refuses a foreign Origin before the upgrade', async () => {
    const { token } = await customerSession(run);
    expect(await refusal(openSocket(run, await wsTicket(run, token), EVIL))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await refusal(openSocket(run, await wsTicket(run, token), null))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('refuses a customer ticket from the console origin and an agent ticket from a bank origin', async () => {
    const { token } = await customerSession(run);
    expect(await refusal(openSocket(run, await wsTicket(run, token), CHAT))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    const agentToken = await agentSession(run);
    expect(await refusal(openSocket(run, await wsTicket(run, agentToken, CHAT), BANK))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('refuses a missing, unknown, used or expired ticket', async () => {
    const { token } = await customerSession(run);
    expect(await refusal(openSocket(run, null))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
    expect(await refusal(openSocket(run, 'A'.repeat(43)))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });

    const used = await wsTicket(run, token);
    (await openSocket(run, used)).close();
    expect(await refusal(openSocket(run, used))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });

    const stale = await wsTicket(run, token);
    offsetMs = (WS_TICKET_TTL_S + 1) * 1000;
    expect(await refusal(openSocket(run, stale))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
  });

  it('refuses a ticket whose session has expired', async () => {
    const { token } = await customerSession(run);
    const ticket = await wsTicket(run, token);
    offsetMs = 2 * 60 * 60 * 1000;
    // The ticket itself is older than its TTL too; either way no upgrade.
    expect((await refusal(openSocket(run, ticket))).status).toBe(401);
  });

  it(`closes with 1009 on a frame over WS_MAX_FRAME_BYTES (${WS_MAX_FRAME_BYTES})`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(1), text: 'x'.repeat(WS_MAX_FRAME_BYTES) });
    expect((await socket.closed).code).toBe(WS_CLOSE.TOO_BIG);
  });

  it('answers an invalid frame with FRAME_INVALID and keeps the connection', async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send('not json');
    socket.send({ type: 'send', clientMsgId: 'short', text: 'hi' });
    socket.send({ type: 'resume', after: -1 });
    socket.send({ type: 'explode' });
    await socket.waitFor('error', () => socket.ofType('error').length === 4);
    expect(socket.ofType('error').map((e) => e.code)).toEqual(['FRAME_INVALID', 'FRAME_INVALID', 'FRAME_INVALID', 'FRAME_INVALID']);
    socket.send({ type: 'ping' });
    await socket.waitFor('pong');
    socket.close();
  });

  it(`rate limits to WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND}) and closes a sustained flood with 4029`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    for (let i = 0; i < WS_MAX_MESSAGES_PER_SECOND + 5; i++) socket.send({ type: 'ping' });
    const limited = await socket.waitFor('error', (f) => f.code === 'RATE_LIMITED');
    expect(limited.code).toBe('RATE_LIMITED');
    expect(socket.ofType('pong').length).toBeLessThanOrEqual(WS_MAX_MESSAGES_PER_SECOND + 1);
    for (let i = 0; i < 200; i++) socket.send({ type: 'ping' });
    expect((await socket.closed).code).toBe(WS_CLOSE.RATE_LIMITED);
  });

  it(`refuses a message over MESSAGE_MAX_CHARS (${MESSAGE_MAX_CHARS}) with MESSAGE_TOO_LONG`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(1), text: 'y'.repeat(MESSAGE_MAX_CHARS + 1) });
    const error = await socket.waitFor('error');
    expect(error).toMatchObject({ code: 'MESSAGE_TOO_LONG', clientMsgId: msgId(1) });
    socket.send({ type: 'send', clientMsgId: msgId(2), text: 'y'.repeat(MESSAGE_MAX_CHARS) });
    expect((await socket.waitFor('ack')).seq).toBe(1);
    socket.close();
  });

  it('stores a card number typed in chat masked; the full PAN is nowhere in the database files', async () => {
    const pan = '4111111111111111';
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(1), text: `my card is ${pan.replace(/(\d{4})(?=\d)/g, '$1 ')} exp 12/29` });
    const event = await socket.waitFor('event');
    expect(event.event.kind === 'message' && event.event.text).toBe('my card is •••• •••• •••• 1111 exp 12/29');
    socket.send({ type: 'send', clientMsgId: msgId(2), text: pan });
    await socket.waitFor('ack', (f) => f.seq === 2);
    socket.close();
    const files = ['chat.db', 'chat.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(bytes.includes(Buffer.from(pan))).toBe(false);
      expect(bytes.includes(Buffer.from('4111 1111 1111 1111'))).toBe(false);
    }
  });

  it('lets an agent send into a conversation it names, and refuses a customer naming another one', async () => {
    const a = await customerSession(run);
    const b = await customerSession(run);
    const agent = await agentSocket(run, await agentSession(run));
    agent.send({ type: 'send', clientMsgId: msgId(1), text: 'no conversation' });
    expect((await agent.waitFor('error')).code).toBe('FRAME_INVALID');
    agent.send({ type: 'send', clientMsgId: msgId(2), text: 'hi from the bank', conversationId: a.conversationId });
    expect((await agent.waitFor('ack')).seq).toBe(1);

    const customer = await customerSocket(run, b.token);
    customer.send({ type: 'resume', after: 0, conversationId: a.conversationId });
    expect((await customer.waitFor('error')).code).toBe('FORBIDDEN');
    customer.close();
    agent.close();
  });

  it('tells agents about a conversation only once its customer wrote: a session alone announces nothing', async () => {
    const agent = await agentSocket(run, await agentSession(run));
    const { token, conversationId } = await newSession(run);
    expect(conversationId).toBeNull();
    const customer = await customerSocket(run, token);
    customer.send({ type: 'resume', after: 0 });
    expect(await customer.waitFor('replayed')).toEqual({ type: 'replayed', conversationId: null, lastSeq: 0 });
    // A frame published for the session would be on the agent's socket before this pong.
    agent.send({ type: 'ping' });
    await agent.waitFor('pong');
    expect(agent.ofType('conversation')).toEqual([]);

    customer.send({ type: 'send', clientMsgId: msgId(1), text: 'hello' });
    const ack = await customer.waitFor('ack');
    const event = await customer.waitFor('event');
    const frame = await agent.waitFor('conversation', (f) => f.conversation.id === event.event.conversationId);
    expect(frame.conversation).toMatchObject({ acr: 'none', lastSeq: ack.seq, lastText: 'hello', customerName: 'Ada' });
    customer.close();
    agent.close();
  });

  it('closes with 4001 when the session expires', async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    offsetMs = 2 * 60 * 60 * 1000;
    socket.send({ type: 'ping' });
    expect((await socket.closed).code).toBe(WS_CLOSE.SESSION_EXPIRED);
  });
});
