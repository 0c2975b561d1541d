/**
 * GET /v1/agent/conversations: only conversations a customer wrote in (or from a public channel),
 * newest activity first with an id tiebreak, in pages of CONVERSATION_PAGE_SIZE behind an opaque
 * cursor; a malformed cursor is CURSOR_INVALID. The clock stands still unless a test moves it.
 */
import { describe, expect } from 'vitest';
import { CONVERSATION_CURSOR_MAX_CHARS, CONVERSATION_PAGE_SIZE, type ConversationSummary } from '../../../protocol/chat.ts';
import { encodeConversationCursor } from '../../../server/store/conversations.ts';
import { CHAT, call, chatTest, customerSession, msgId, type Running } from '../helpers.ts';

let now: number;
const it = chatTest.override('chatSetup', () => {
  now = Date.UTC(2030, 5, 1, 8);
  return { options: { clock: () => now } };
});

/** A conversation its customer wrote in (started as the first message starts it). */
async function written(run: Running, text = 'hello'): Promise<string> {
  const { conversationId } = await customerSession(run);
  await run.server.context.service.postMessage({ conversationId, author: { role: 'customer', name: 'Ada' }, clientMsgId: msgId(1), text });
  return conversationId;
}

async function page(run: Running, agent: string, cursor?: string) {
  const url = cursor === undefined ? '/v1/agent/conversations' : `/v1/agent/conversations?cursor=${encodeURIComponent(cursor)}`;
  const res = await call(run, 'GET', url, { origin: CHAT, token: agent });
  return res as typeof res & { body: { conversations: ConversationSummary[]; nextCursor: string | null } };
}

describe('the agents’ conversation list', () => {
  it('lists only conversations with a customer message, or from a public channel', async ({ run, agent }) => {
    const { store } = run.server.context;
    const wrote = await written(run);
    const silent = await customerSession(run);
    // An agent greeting alone does not make a conversation worth listing.
    await run.server.context.service.postMessage({ conversationId: silent.conversationId, author: { role: 'agent', name: 'agent' }, clientMsgId: msgId(2), text: 'Hi!' });
    const customer = await store.customers.create({ subject: null, displayName: 'Robert' });
    const messenger = await store.conversations.create(customer.id, 'none', 'messenger');

    const ids = (await page(run, agent)).body.conversations.map((c) => c.id);
    expect(ids.sort()).toEqual([wrote, messenger.id].sort());
    expect(await store.conversations.summary(silent.conversationId)).toBeUndefined();
  });

  it(`pages newest activity first, ties by id, CONVERSATION_PAGE_SIZE (${CONVERSATION_PAGE_SIZE}) at a time, missing and repeating nothing`, async ({ run, agent }) => {
    const ids: string[] = [];
    // Three conversations per instant: the order within one instant is the id's.
    for (let i = 0; i < CONVERSATION_PAGE_SIZE + 7; i++) {
      if (i % 3 === 0) now += 1000;
      ids.push(await written(run, `m${i}`));
    }
    const first = await page(run, agent);
    expect(first.status).toBe(200);
    expect(first.body.conversations).toHaveLength(CONVERSATION_PAGE_SIZE);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await page(run, agent, first.body.nextCursor!);
    expect(second.body.conversations).toHaveLength(7);
    expect(second.body.nextCursor).toBeNull();

    const listed = [...first.body.conversations, ...second.body.conversations];
    const expected = [...listed].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    expect(listed.map((c) => c.id)).toEqual(expected.map((c) => c.id));
    expect(new Set(listed.map((c) => c.id))).toEqual(new Set(ids));
  });

  it('a conversation that moves to the top between pages is not listed twice', async ({ run, agent }) => {
    const ids: string[] = [];
    for (let i = 0; i < CONVERSATION_PAGE_SIZE + 1; i++) {
      now += 1000;
      ids.push(await written(run));
    }
    const first = await page(run, agent);
    // The oldest of the first page gets a new message: it moves ahead of the cursor.
    const moved = first.body.conversations.at(-1)!.id;
    now += 1000;
    await run.server.context.service.postMessage({ conversationId: moved, author: { role: 'customer', name: 'Ada' }, clientMsgId: msgId(9), text: 'again' });
    const second = await page(run, agent, first.body.nextCursor!);
    expect(second.body.conversations.map((c) => c.id)).toEqual([ids[0]]);
  });

  it('answers a malformed cursor with 400 CURSOR_INVALID', async ({ run, agent }) => {
    await written(run);
    const bad = [
      'not a cursor!',
      Buffer.from('{"updatedAt":1}').toString('base64url'),
      Buffer.from('[1,"cnv_x"]').toString('base64url'),
      Buffer.from('[-1,"cnv_abcdefgh12345678"]').toString('base64url'),
      Buffer.from('["1","cnv_abcdefgh12345678"]').toString('base64url'),
      'A'.repeat(CONVERSATION_CURSOR_MAX_CHARS + 1),
      '',
    ];
    for (const cursor of bad) {
      const res = await page(run, agent, cursor);
      expect({ cursor, status: res.status, body: res.body }).toEqual({ cursor, status: 400, body: { error: { code: 'CURSOR_INVALID', message: expect.any(String) } } });
    }
    const twice = await call(run, 'GET', '/v1/agent/conversations?cursor=a&cursor=b', { origin: CHAT, token: agent });
    expect(twice).toMatchObject({ status: 400, body: { error: { code: 'CURSOR_INVALID' } } });
    // A well-formed cursor past everything is simply an empty last page.
    const past = await page(run, agent, encodeConversationCursor({ updatedAt: 0, id: 'cnv_00000000' }));
    expect(past.body).toEqual({ conversations: [], nextCursor: null });
  });
});
