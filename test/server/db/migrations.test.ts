/**
 * Upgrade path of the chat database: a file created by an earlier release, holding real rows,
 * migrates to the latest schema without losing or altering them, with foreign keys intact.
 */
import BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import * as v from 'valibot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConversationEventSchema } from '../../../protocol/chat.ts';
import { CHAT_DB_FILE } from '../../../server/db/database.ts';
import { MIGRATIONS, migrationProvider } from '../../../server/db/migrations.ts';
import { isoTime } from '../../../server/lib/clock.ts';
import { createSqliteStore } from '../../../server/store/sqlite-store.ts';
import { removeDir, tempDir } from '../helpers.ts';

const CNV = 'cnv_Q2hhdENvbnZlcnNhdGlvbjE';
const T0 = Date.UTC(2029, 5, 1, 10);
const CARD = { token: 'tok_abcdefghijklmnopqrst', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2031 } as const;
const STEP = { id: 'stp_aaaaaaaaaaaaaaaaaa', kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Card replacement fee', reference: 'INV-1' } as const;

/** A database as the release at `target` left it (same pragmas as server/db/database.ts). */
async function databaseAt(dir: string, target: string): Promise<void> {
  const sqlite = new BetterSqlite3(join(dir, CHAT_DB_FILE));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    const { error } = await new Migrator({ db: kysely, provider: migrationProvider }).migrateTo(target);
    if (error) throw error;
  } finally {
    await kysely.destroy();
  }
}

/** Rows written with that release's statements. */
function seedRelease0003(dir: string): void {
  const db = new BetterSqlite3(join(dir, CHAT_DB_FILE));
  db.pragma('foreign_keys = ON');
  db.transaction(() => {
    db.prepare('insert into customers (id, subject, pseudonym, display_name, created_at) values (?, ?, ?, ?, ?)').run(
      'cus_1', 'bank-subject-1', 'psn_1', 'Ada', T0,
    );
    db.prepare(
      'insert into conversations (id, customer_id, acr, last_seq, last_text, created_at, updated_at, channel) values (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(CNV, 'cus_1', 'bank', 3, 'Card provided: Visa •••• 4242', T0, T0 + 3000, 'web');
    db.prepare(
      `insert into steps (id, conversation_id, kind, amount_minor, currency, purpose, reference, required_acr, status, card,
         created_at, completed_at, unused_pivot_flagged_at) values (?, ?, 'card_payment', ?, ?, ?, ?, 'bank', 'completed', ?, ?, ?, null)`,
    ).run(STEP.id, CNV, STEP.amount.minor, STEP.amount.currency, STEP.purpose, STEP.reference, JSON.stringify(CARD), T0 + 2000, T0 + 3000);
    const event = db.prepare(
      'insert into events (conversation_id, seq, kind, author_role, client_msg_id, payload, created_at) values (?, ?, ?, ?, ?, ?, ?)',
    );
    event.run(CNV, 1, 'message', 'customer', 'msg00001', JSON.stringify({ author: { role: 'customer', name: 'Ada' }, clientMsgId: 'msg00001', text: 'I lost my card' }), T0 + 1000);
    event.run(CNV, 2, 'step', 'agent', null, JSON.stringify({ author: { role: 'agent', name: 'agent' }, step: STEP, requiredAcr: 'bank' }), T0 + 2000);
    const { token: _token, ...shown } = CARD;
    event.run(CNV, 3, 'step_completed', null, null, JSON.stringify({ stepId: STEP.id, card: shown, text: 'Card provided: Visa •••• 4242' }), T0 + 3000);
    db.prepare('insert into step_pivot_tokens (jti, step_id, session_id, issued_at, expires_at) values (?, ?, ?, ?, ?)').run(
      'jti_1', STEP.id, 'ses_1', T0 + 2500, T0 + 2500 + 120_000,
    );
  })();
  db.close();
}

describe('migrations: upgrade from 0003_conversation_channel', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('keeps every row, unaltered, and leaves foreign keys intact', async () => {
    expect(Object.keys(MIGRATIONS)).toContain('0003_conversation_channel');
    await databaseAt(dir, '0003_conversation_channel');
    seedRelease0003(dir);

    const store = await createSqliteStore(dir, () => T0 + 10_000);
    try {
      const applied = store.db.sqlite.prepare('select name from kysely_migration order by name').all() as { name: string }[];
      expect(applied.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS).sort());
      expect(store.db.sqlite.pragma('foreign_key_check')).toEqual([]);
      expect(store.db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.db.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');

      expect(await store.customers.get('cus_1')).toEqual({ id: 'cus_1', subject: 'bank-subject-1', pseudonym: 'psn_1', displayName: 'Ada', hasPasskey: false, phone: null });
      expect(await store.conversations.get(CNV)).toEqual({
        id: CNV,
        customerId: 'cus_1',
        acr: 'bank',
        channel: 'web',
        lastSeq: 3,
        createdAt: T0,
        updatedAt: T0 + 3000,
      });
      expect(await store.steps.get(STEP.id)).toEqual({
        ...STEP,
        conversationId: CNV,
        requiredAcr: 'bank',
        status: 'completed',
        card: CARD,
      });
      expect(await store.steps.countPivotTokens(STEP.id)).toBe(1);

      const events = await store.events.list(CNV, 0, 100);
      const { token: _token, ...shown } = CARD;
      expect(events).toEqual([
        { kind: 'message', conversationId: CNV, seq: 1, at: isoTime(T0 + 1000), author: { role: 'customer', name: 'Ada' }, clientMsgId: 'msg00001', text: 'I lost my card' },
        { kind: 'step', conversationId: CNV, seq: 2, at: isoTime(T0 + 2000), author: { role: 'agent', name: 'agent' }, step: STEP, requiredAcr: 'bank' },
        // The only change: the kind the event schema now requires.
        { kind: 'step_completed', conversationId: CNV, seq: 3, at: isoTime(T0 + 3000), stepId: STEP.id, stepKind: 'card_payment', card: shown, text: 'Card provided: Visa •••• 4242' },
      ]);
      for (const event of events) expect(v.is(ConversationEventSchema, event)).toBe(true);

      // The rebuilt table is the one the pivot tokens reference, and it enforces its constraints.
      const fks = store.db.sqlite.pragma('foreign_key_list(step_pivot_tokens)') as { table: string; from: string; to: string }[];
      expect(fks.map((f) => [f.from, f.table, f.to])).toEqual([['step_id', 'steps', 'id']]);
      expect(() =>
        store.db.sqlite.prepare("insert into step_pivot_tokens (jti, step_id, session_id, issued_at, expires_at) values ('jti_2', 'stp_missing_missing00', 's', 1, 2)").run(),
      ).toThrow(/FOREIGN KEY/);
      expect(() => store.db.sqlite.prepare('delete from steps').run()).toThrow(/FOREIGN KEY/);
      const indexes = store.db.sqlite.prepare("select name from sqlite_master where type = 'index' and tbl_name = 'steps' and name not like 'sqlite_%'").all();
      expect(indexes).toEqual([{ name: 'steps_conversation' }]);
    } finally {
      await store.close();
    }
  });
});

describe('migrations: upgrade from 0006_step_kinds', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('keeps the platform message dedupe rows, which then outlive the purged delivery', async () => {
    await databaseAt(dir, '0006_step_kinds');
    const db = new BetterSqlite3(join(dir, CHAT_DB_FILE));
    db.pragma('foreign_keys = ON');
    db.prepare("insert into customers (id, subject, pseudonym, display_name, created_at) values ('cus_1', null, 'psn_1', 'Robert', ?)").run(T0);
    db.prepare("insert into conversations (id, customer_id, acr, last_seq, last_text, created_at, updated_at, channel) values (?, 'cus_1', 'none', 1, 'hi', ?, ?, 'messenger')").run(CNV, T0, T0);
    db.prepare("insert into channel_inbox (platform, body_sha256, body, status, reason, received_at, processed_at) values ('messenger', 'abc', ?, 'processed', null, ?, ?)").run(Buffer.from('{}'), T0, T0);
    db.prepare("insert into channel_messages (platform, platform_message_id, inbox_id, conversation_id, seq, created_at) values ('messenger', 'm_1', 1, ?, 1, ?)").run(CNV, T0);
    db.close();

    const store = await createSqliteStore(dir, () => T0 + 10_000);
    try {
      expect(await store.channels.findMessage('messenger', 'm_1')).toEqual({ conversationId: CNV, seq: 1 });
      expect(store.db.sqlite.prepare('select inbox_id from channel_messages').all()).toEqual([{ inbox_id: 1 }]);
      expect(await store.channels.purgeDeliveries({ processedBefore: T0 + 1, failedBefore: 0 })).toBe(1);
      expect(store.db.sqlite.prepare('select platform_message_id, inbox_id from channel_messages').all()).toEqual([{ platform_message_id: 'm_1', inbox_id: null }]);
      expect(store.db.sqlite.pragma('foreign_key_check')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('migrations: 0010_step_kinds_from_registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('stores a step of a kind that 0006 did not list (a payee confirmation: a payee, no amount), read back through its schema', async () => {
    const store = await createSqliteStore(dir, () => T0);
    try {
      const customer = await store.customers.create({ subject: null, displayName: 'Ada' });
      const conversation = await store.conversations.create(customer.id, 'bank');
      const step = { id: 'stp_payee0123456789abcd', kind: 'payee_confirmation', payee: { name: 'B. Okafor', accountLast4: '9876' }, purpose: 'New payee', reference: 'PAY-1' } as const;
      await store.steps.create({ ...step, conversationId: conversation.id, requiredAcr: 'bank' }, { role: 'agent', name: 'agent' });
      expect(await store.steps.get(step.id)).toEqual({ ...step, conversationId: conversation.id, requiredAcr: 'bank', status: 'open', card: null });
      // What every kind must satisfy still holds: an amount comes with its currency.
      expect(() =>
        store.db.sqlite
          .prepare("update steps set amount_minor = 100 where id = ?")
          .run(step.id),
      ).toThrow(/CHECK/);
    } finally {
      await store.close();
    }
  });
});
