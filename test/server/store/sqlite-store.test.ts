import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore, type SqliteChatStore } from '../../../server/store/sqlite-store.ts';
import { systemClock } from '../../../server/lib/clock.ts';
import { msgId, removeDir, tempDir } from '../helpers.ts';

describe('chat store (SQLite)', () => {
  let dir: string;
  let store: SqliteChatStore;

  beforeEach(async () => {
    dir = tempDir();
    store = await createSqliteStore(dir, systemClock);
  });
  afterEach(async () => {
    await store.close();
    removeDir(dir);
  });

  async function newConversation(): Promise<string> {
    const customer = await store.customers.create({ subject: null, displayName: null });
    return (await store.conversations.create(customer.id, 'none')).id;
  }

  it('assigns gap-free, unique seqs per conversation under interleaved appends', async () => {
    const a = await newConversation();
    const b = await newConversation();
    const appends = [];
    for (let i = 0; i < 300; i++) {
      const conversationId = i % 3 === 0 ? b : a;
      appends.push(
        store.events.append(conversationId, {
          kind: 'message',
          author: { role: i % 2 ? 'agent' : 'customer', name: 'x' },
          clientMsgId: msgId(i),
          text: `m${i}`,
        }),
      );
      if (i % 7 === 0) appends.push(store.events.append(a, { kind: 'system', text: `s${i}` }));
    }
    const results = await Promise.all(appends);
    for (const conversationId of [a, b]) {
      const seqs = results.filter((r) => r.event.conversationId === conversationId).map((r) => r.event.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      const stored = await store.events.list(conversationId, 0, 1000);
      expect(stored.map((e) => e.seq)).toEqual(seqs);
      expect((await store.conversations.get(conversationId))!.lastSeq).toBe(seqs.length);
    }
  });

  it('keeps seqs unique when two store instances append to the same file', async () => {
    const conversationId = await newConversation();
    const other = await createSqliteStore(dir, systemClock);
    try {
      const appends = [];
      for (let i = 0; i < 100; i++) {
        const target = i % 2 ? store : other;
        appends.push(target.events.append(conversationId, { kind: 'system', text: `s${i}` }));
      }
      const seqs = (await Promise.all(appends)).map((r) => r.event.seq).sort((x, y) => x - y);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    } finally {
      await other.close();
    }
  });

  it('returns the existing seq for a resend with the same clientMsgId and stores it once', async () => {
    const conversationId = await newConversation();
    const message = { kind: 'message' as const, author: { role: 'customer' as const, name: 'Ada' }, clientMsgId: msgId(1), text: 'hello' };
    const first = await store.events.append(conversationId, message);
    await store.events.append(conversationId, { kind: 'system', text: 'between' });
    const again = await store.events.append(conversationId, { ...message, text: 'hello (resent)' });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.event.seq).toBe(first.event.seq);
    const events = await store.events.list(conversationId, 0, 100);
    expect(events.filter((e) => e.kind === 'message')).toHaveLength(1);
    // The same id from the other role is a different message.
    const agent = await store.events.append(conversationId, { ...message, author: { role: 'agent', name: 'agent' } });
    expect(agent.created).toBe(true);
    expect(agent.event.seq).toBe(3);
  });

  it('rejects a second event with the same (conversation, seq) at the database level', () => {
    const { sqlite } = store.db;
    const insert = () =>
      sqlite
        .prepare("insert into events (conversation_id, seq, kind, payload, created_at) values ('cnv_x', 1, 'system', '{}', 0)")
        .run();
    sqlite.pragma('foreign_keys = OFF');
    insert();
    expect(insert).toThrow(/UNIQUE/);
  });

  it('lists events after a seq, in order, one page at a time', async () => {
    const conversationId = await newConversation();
    for (let i = 0; i < 10; i++) await store.events.append(conversationId, { kind: 'system', text: `s${i}` });
    const page = await store.events.list(conversationId, 4, 3);
    expect(page.map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(page[0]).toMatchObject({ kind: 'system', text: 's4', conversationId });
  });

  it('consumes a WS ticket exactly once and never after expiry', async () => {
    const conversationId = await newConversation();
    const session = await store.sessions.create({
      tokenHash: 'h1',
      role: 'customer',
      acr: 'none',
      customerId: null,
      agentId: null,
      conversationId,
      expiresAt: Date.now() + 60_000,
    });
    await store.sessions.createTicket({ ticketHash: 't1', sessionId: session.id, expiresAt: 1000 });
    await store.sessions.createTicket({ ticketHash: 't2', sessionId: session.id, expiresAt: 1000 });
    expect(await store.sessions.consumeTicket('t1', 999)).toBe(session.id);
    expect(await store.sessions.consumeTicket('t1', 999)).toBeUndefined();
    expect(await store.sessions.consumeTicket('t2', 1000)).toBeUndefined();
    expect(await store.sessions.consumeTicket('nope', 0)).toBeUndefined();
  });

  it('migrates idempotently: reopening the same DATA_DIR keeps the data', async () => {
    const conversationId = await newConversation();
    await store.events.append(conversationId, { kind: 'system', text: 'kept' });
    await store.close();
    store = await createSqliteStore(dir, systemClock);
    expect((await store.events.list(conversationId, 0, 10))[0]).toMatchObject({ seq: 1, text: 'kept' });
    expect(store.db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});
