import { describe, expect, it } from 'vitest';
import type { ClientFrame, ConversationEvent, ServerFrame } from '../../../protocol/chat.ts';
import { ChatSync } from '../../../widget/shared/chat-sync.ts';

const CNV = 'cnv_abcdefgh1234';

function message(seq: number, text: string, clientMsgId: string | null = null, conversationId = CNV): ConversationEvent {
  return {
    kind: 'message',
    conversationId,
    seq,
    at: '2025-01-01T00:00:00.000Z',
    author: { role: clientMsgId ? 'customer' : 'agent', name: clientMsgId ? 'Robert' : 'Alice' },
    clientMsgId,
    text,
  };
}
const event = (e: ConversationEvent): ServerFrame => ({ type: 'event', event: e });
const replayed = (lastSeq: number, conversationId = CNV): ServerFrame => ({ type: 'replayed', conversationId, lastSeq });

function setup(options: ConstructorParameters<typeof ChatSync>[1] = {}) {
  const sent: ClientFrame[] = [];
  let n = 0;
  const sync = new ChatSync((frame) => sent.push(frame), { newId: () => `client-id-${++n}`, ...options });
  return { sync, sent };
}

describe('ChatSync', () => {
  it('asks to resume after the last seq it holds when a socket opens', () => {
    const { sync, sent } = setup();
    sync.opened();
    expect(sent).toEqual([{ type: 'resume', after: 0 }]);
    sync.receive(event(message(1, 'hi')));
    sync.receive(event(message(2, 'there')));
    sync.closed();
    sync.opened();
    expect(sent.at(-1)).toEqual({ type: 'resume', after: 2 });
  });

  it('starts from the seq given by the caller (history fetched over REST)', () => {
    const { sync, sent } = setup({ after: 41 });
    sync.opened();
    expect(sent).toEqual([{ type: 'resume', after: 41 }]);
  });

  it('reports each event once however often it is replayed', () => {
    const { sync } = setup();
    sync.opened();
    expect(sync.receive(event(message(1, 'a'))).events).toHaveLength(1);
    expect(sync.receive(event(message(1, 'a'))).events).toHaveLength(0);
    sync.receive(event(message(3, 'c')));
    sync.receive(event(message(2, 'b')));
    expect(sync.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(sync.lastSeq).toBe(3);
  });

  it('holds sends typed before the replay ends and sends them once it has', () => {
    const { sync, sent } = setup();
    sync.send('early');
    expect(sent).toEqual([]);
    sync.opened();
    sync.send('during replay');
    expect(sent).toEqual([{ type: 'resume', after: 0 }]);
    expect(sync.receive(replayed(0)).replayed).toBe(true);
    expect(sent.slice(1)).toEqual([
      { type: 'send', clientMsgId: 'client-id-1', text: 'early' },
      { type: 'send', clientMsgId: 'client-id-2', text: 'during replay' },
    ]);
    sync.send('live');
    expect(sent.at(-1)).toEqual({ type: 'send', clientMsgId: 'client-id-3', text: 'live' });
  });

  it('resends an unacked message after a reconnect with the same client message id', () => {
    const { sync, sent } = setup();
    sync.opened();
    sync.receive(replayed(0));
    sync.send('hello');
    sync.closed();
    sent.length = 0;
    sync.opened();
    sync.receive(replayed(0));
    expect(sent).toEqual([
      { type: 'resume', after: 0 },
      { type: 'send', clientMsgId: 'client-id-1', text: 'hello' },
    ]);
  });

  it('does not resend a message whose stored event shows up in the replay', () => {
    const { sync, sent } = setup();
    sync.opened();
    sync.receive(replayed(0));
    sync.send('hello');
    sync.closed(); // the ack was lost with the socket
    sent.length = 0;
    sync.opened();
    const update = sync.receive(event(message(1, 'hello', 'client-id-1')));
    expect(update.pendingChanged).toBe(true);
    sync.receive(replayed(1));
    expect(sent).toEqual([{ type: 'resume', after: 0 }]);
    expect(sync.pending).toEqual([]);
  });

  it('does not resend an acked message, and keeps showing it until its event arrives', () => {
    const { sync, sent } = setup();
    sync.opened();
    sync.receive(replayed(0));
    sync.send('hello');
    sync.receive({ type: 'ack', clientMsgId: 'client-id-1', seq: 5 });
    expect(sync.outbox).toEqual([]);
    expect(sync.pending).toEqual([{ clientMsgId: 'client-id-1', text: 'hello', seq: 5 }]);
    sync.closed();
    sent.length = 0;
    sync.opened();
    sync.receive(replayed(0));
    expect(sent).toEqual([{ type: 'resume', after: 0 }]);
    sync.receive(event(message(5, 'hello', 'client-id-1')));
    expect(sync.pending).toEqual([]);
  });

  it('handles an ack that arrives after the stored event', () => {
    const { sync } = setup();
    sync.opened();
    sync.receive(replayed(0));
    sync.send('hello');
    sync.receive(event(message(1, 'hello', 'client-id-1')));
    sync.receive({ type: 'ack', clientMsgId: 'client-id-1', seq: 1 });
    expect(sync.pending).toEqual([]);
  });

  it('drops a message the server refused and reports it with the error code', () => {
    const { sync } = setup();
    sync.opened();
    sync.receive(replayed(0));
    sync.send('x'.repeat(10));
    const update = sync.receive({ type: 'error', code: 'MESSAGE_TOO_LONG', message: 'too long', clientMsgId: 'client-id-1' });
    expect(update.error?.code).toBe('MESSAGE_TOO_LONG');
    expect(update.error?.failed?.clientMsgId).toBe('client-id-1');
    expect(sync.outbox).toEqual([]);
  });

  it('reports an error that names no message without touching the outbox', () => {
    const { sync } = setup();
    sync.send('queued');
    const update = sync.receive({ type: 'error', code: 'RATE_LIMITED', message: 'slow down' });
    expect(update.error).toEqual({ code: 'RATE_LIMITED', message: 'slow down' });
    expect(sync.outbox).toHaveLength(1);
  });

  it('for an agent, names the conversation in every frame and ignores other conversations', () => {
    const { sync, sent } = setup({ conversationId: CNV });
    sync.opened();
    sync.receive(replayed(0, 'cnv_otherconversation'));
    sync.send('hi');
    expect(sent).toEqual([{ type: 'resume', after: 0, conversationId: CNV }]);
    sync.receive(replayed(0));
    expect(sent.at(-1)).toEqual({ type: 'send', clientMsgId: 'client-id-1', text: 'hi', conversationId: CNV });
    expect(sync.receive(event(message(1, 'elsewhere', null, 'cnv_otherconversation'))).events).toEqual([]);
  });

  it('ignores frames that are not about delivery', () => {
    const { sync, sent } = setup();
    for (const frame of [
      { type: 'pong' },
      { type: 'hello', role: 'customer', conversationId: CNV, acr: 'none' },
      { type: 'session', acr: 'bank' },
    ] satisfies ServerFrame[]) {
      expect(sync.receive(frame)).toEqual({ events: [], replayed: false, pendingChanged: false });
    }
    expect(sent).toEqual([]);
  });
});
