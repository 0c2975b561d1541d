/**
 * The relay outbox row is stored in the transaction of the agent message it relays: a crash
 * right after the message was stored (before any relay code ran) still relays it, exactly once.
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../demo/platforms/server.ts';
import { removeDir, tempDir } from '../server/helpers.ts';
import { rows, settle, startHarness, type Harness } from './helpers.ts';

let dir: string;
let h: Harness | undefined;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  removeDir(dir);
});

function relayedTexts(harness: Harness): string[] {
  return harness.platforms.sent
    .filter((s) => s.platform === 'messenger' && s.status === 200)
    .map((s) => (s.body as { message?: { text?: string } }).message?.text)
    .filter((t): t is string => typeof t === 'string');
}

describe('relay outbox durability', () => {
  it('relays, after a restart, an agent message stored just before a crash, exactly once', async () => {
    h = await startHarness(dir);
    await h.platforms.deliver('messenger', DEMO_USER.psid, 'Is my card blocked?');
    await settle(h.chat);
    const [identity] = rows<{ conversation_id: string }>(h.chat, 'select conversation_id from channel_identities');
    const cnv = identity!.conversation_id;

    // The crash: the message is stored through the store alone (no service, no relay hook),
    // and the process stops before anything else runs.
    h.time.now += 1000;
    const { event } = await h.chat.server.context.store.events.append(cnv, {
      kind: 'message',
      author: { role: 'agent', name: 'agent' },
      clientMsgId: 'crash0001',
      text: 'Yes, it is blocked: I can send you a new one.',
    });
    await h.close();
    h = undefined;

    const db = new BetterSqlite3(join(dir, 'chat.db'), { readonly: true });
    expect(db.prepare('select seq, status, text from channel_outbox').all()).toEqual([
      { seq: event.seq, status: 'pending', text: 'Yes, it is blocked: I can send you a new one.' },
    ]);
    db.close();

    h = await startHarness(dir);
    h.time.now += 2000; // each harness starts its fake clock at the same instant
    await settle(h.chat);
    expect(relayedTexts(h)).toEqual(['Yes, it is blocked: I can send you a new one.']);
    expect(rows(h.chat, 'select seq, status from channel_outbox')).toEqual([{ seq: event.seq, status: 'sent' }]);

    // A further restart sends nothing again.
    await h.close();
    h = await startHarness(dir);
    h.time.now += 2000;
    await settle(h.chat);
    expect(relayedTexts(h)).toEqual([]);
  });

  it('stores neither the message nor its relay when the transaction fails', async () => {
    h = await startHarness(dir);
    await h.platforms.deliver('messenger', DEMO_USER.psid, 'hello');
    await settle(h.chat);
    const [identity] = rows<{ conversation_id: string }>(h.chat, 'select conversation_id from channel_identities');
    const cnv = identity!.conversation_id;
    const { store } = h.chat.server.context;
    const before = (await store.events.list(cnv, 0, 100)).length;
    // The outbox insert fails (a trigger stands in for a full disk): the event is rolled back with it.
    const sqlite = (store as unknown as { db: { sqlite: BetterSqlite3.Database } }).db.sqlite;
    sqlite.exec("create temp trigger outbox_fails before insert on channel_outbox begin select raise(abort, 'disk full'); end");
    await expect(
      store.events.append(cnv, { kind: 'message', author: { role: 'agent', name: 'agent' }, clientMsgId: 'fail0001', text: 'lost?' }),
    ).rejects.toThrow(/disk full/);
    sqlite.exec('drop trigger outbox_fails');
    expect((await store.events.list(cnv, 0, 100)).length).toBe(before);
    expect(rows(h.chat, 'select count(*) as n from channel_outbox')).toEqual([{ n: 0 }]);
  });

  it('does not queue a reply once the customer continued on the bank site', async () => {
    h = await startHarness(dir);
    await h.platforms.deliver('messenger', DEMO_USER.psid, 'hello');
    await settle(h.chat);
    const [identity] = rows<{ conversation_id: string }>(h.chat, 'select conversation_id from channel_identities');
    const cnv = identity!.conversation_id;
    const { store } = h.chat.server.context;
    h.time.now += 1000;
    await store.events.append(cnv, { kind: 'message', author: { role: 'customer', name: 'Ada' }, clientMsgId: 'web00001', text: 'on the site now' });
    h.time.now += 1000;
    await store.events.append(cnv, { kind: 'message', author: { role: 'agent', name: 'agent' }, clientMsgId: 'web00002', text: 'answered on the site' });
    expect(rows(h.chat, 'select count(*) as n from channel_outbox')).toEqual([{ n: 0 }]);
  });
});
