/**
 * The vault database's migrations, in code, run through Kysely's `Migrator` at start (db.ts).
 * What each table holds, and why, is said in db.ts; never rename or edit a migration that has
 * shipped: add one.
 *
 * @module
 */
import { sql, type Kysely, type Migration } from 'kysely';

/** Every migration, in order. Names sort lexically; never rename or edit a shipped one. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_init': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('cards')
        .addColumn('token', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('iv', 'blob', (c) => c.notNull())
        .addColumn('ciphertext', 'blob', (c) => c.notNull())
        .addColumn('auth_tag', 'blob', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('fingerprint_kid', 'text', (c) => c.notNull())
        .addColumn('brand', 'text', (c) => c.notNull())
        .addColumn('last4', 'text', (c) => c.notNull())
        .addColumn('exp_month', 'integer', (c) => c.notNull())
        .addColumn('exp_year', 'integer', (c) => c.notNull())
        // Not unique-indexed: used_jti's primary key already allows one card per pivot token, and
        // every index is one more random page written per card.
        .addColumn('pivot_jti', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('cards_fingerprint').on('cards').column('fingerprint').execute();
      await db.schema
        .createTable('used_jti')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('exp', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'text', (c) => c.notNull())
        .modifyEnd(sql`without rowid`)
        .execute();
      await db.schema.createIndex('used_jti_exp').on('used_jti').column('exp').execute();
      await db.schema
        .createTable('notice_outbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('claims', 'text', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .modifyEnd(sql`without rowid`)
        .execute();
      // No index: delivered notices are deleted, so the table only ever holds the few in flight.
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('notice_outbox').execute();
      await db.schema.dropTable('used_jti').execute();
      await db.schema.dropTable('cards').execute();
    },
  },
  // Steps other than card payments. Like cards, one row per consumed pivot token (used_jti's
  // primary key is the replay guard, so pivot_jti needs no unique index of its own).
  '0002_step_kinds': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('addresses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('iv', 'blob', (c) => c.notNull())
        .addColumn('ciphertext', 'blob', (c) => c.notNull())
        .addColumn('auth_tag', 'blob', (c) => c.notNull())
        .addColumn('pivot_jti', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('transfer_answers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('confirmed', 'declined')`))
        .addColumn('amount_minor', 'integer', (c) => c.notNull().check(sql`amount_minor > 0`))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('payee_name', 'text', (c) => c.notNull())
        .addColumn('payee_last4', 'text', (c) => c.notNull())
        .addColumn('pivot_jti', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('transfer_answers').execute();
      await db.schema.dropTable('addresses').execute();
    },
  },
  // The processor-facing charge API and the audit trail.
  '0003_charges_audit': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('charges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('idempotency_key_hash', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('card_token', 'text', (c) => c.notNull())
        .addColumn('amount_minor', 'integer', (c) => c.notNull().check(sql`amount_minor > 0`))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'approved', 'declined')`))
        .addColumn('processor_reference', 'text')
        .addColumn('with_cvc', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('charges_idempotency').unique().on('charges').columns(['client_id', 'idempotency_key_hash']).execute();
      await db.schema
        .createTable('used_client_jti')
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull())
        .addColumn('exp', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('used_client_jti_pk', ['client_id', 'jti'])
        .modifyEnd(sql`without rowid`)
        .execute();
      await db.schema.createIndex('used_client_jti_exp').on('used_client_jti').column('exp').execute();
      await db.schema
        .createTable('audit_log')
        // The rowid: the last entry is one b-tree step away.
        .addColumn('seq', 'integer', (c) => c.primaryKey().check(sql`seq > 0`))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull().check(sql`actor_kind in ('customer', 'client', 'operator', 'service')`))
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('success', 'failure')`))
        .addColumn('origin', 'text')
        .addColumn('detail', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await sql`DROP TRIGGER IF EXISTS audit_log_no_delete`.execute(db);
      await sql`DROP TRIGGER IF EXISTS audit_log_no_update`.execute(db);
      await db.schema.dropTable('audit_log').execute();
      await db.schema.dropTable('used_client_jti').execute();
      await db.schema.dropTable('charges').execute();
    },
  },
  // The `payee_confirmation` step kind.
  '0004_payee_confirmations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('payee_answers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('confirmed', 'declined')`))
        .addColumn('payee_name', 'text', (c) => c.notNull())
        .addColumn('payee_last4', 'text', (c) => c.notNull())
        .addColumn('pivot_jti', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('step_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('payee_answers').execute();
    },
  },
  // Passkeys: the customer's own authenticator as the proof that the customer answers.
  '0005_passkeys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('passkeys')
        .addColumn('credential_id', 'text', (c) => c.primaryKey())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('public_key', 'blob', (c) => c.notNull())
        .addColumn('counter', 'integer', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('enrolment_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('passkeys_subject').on('passkeys').column('subject').execute();
      await db.schema
        .createTable('passkey_enrolments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'integer')
        .execute();
      await db.schema.createIndex('passkey_enrolments_subject').on('passkey_enrolments').columns(['subject', 'created_at']).execute();
      await db.schema
        .createTable('passkey_challenges')
        .addColumn('challenge', 'text', (c) => c.primaryKey())
        .addColumn('pivot_jti', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'integer', (c) => c.notNull())
        .addColumn('used_at', 'integer')
        .execute();
      await db.schema.createIndex('passkey_challenges_jti').on('passkey_challenges').column('pivot_jti').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('passkey_challenges').execute();
      await db.schema.dropTable('passkey_enrolments').execute();
      await db.schema.dropTable('passkeys').execute();
    },
  },
};
