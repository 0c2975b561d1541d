/**
 * Schema migrations, provided in code (no migration folder to ship) and run by Kysely's
 * Migrator at start-up. Append new migrations; never edit one that has shipped.
 *
 * @module
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { channelInboxAdmitted } from './inbox-admitted-migration.ts';
import { stepKindsFromRegistry } from './step-kinds-migration.ts';
import { passkeys } from './passkeys-migration.ts';

const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('customers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('subject', 'text', (c) => c.unique())
      .addColumn('pseudonym', 'text', (c) => c.notNull().unique())
      .addColumn('display_name', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('conversations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
      .addColumn('acr', 'text', (c) => c.notNull())
      .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_text', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('conversations_customer').on('conversations').columns(['customer_id', 'created_at']).execute();
    await db.schema.createIndex('conversations_updated').on('conversations').column('updated_at').execute();

    await db.schema
      .createTable('events')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('author_role', 'text')
      .addColumn('client_msg_id', 'text')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addUniqueConstraint('events_conversation_seq', ['conversation_id', 'seq'])
      .addUniqueConstraint('events_idempotency', ['conversation_id', 'author_role', 'client_msg_id'])
      .execute();

    await db.schema
      .createTable('agents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('customer', 'agent')`))
      .addColumn('acr', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text', (c) => c.references('customers.id'))
      .addColumn('agent_id', 'text', (c) => c.references('agents.id'))
      .addColumn('conversation_id', 'text', (c) => c.references('conversations.id'))
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

    await db.schema
      .createTable('ws_tickets')
      .addColumn('ticket_hash', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .addColumn('used_at', 'integer')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ws_tickets_expires').on('ws_tickets').column('expires_at').execute();

    await db.schema
      .createTable('steps')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('amount_minor', 'integer', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('purpose', 'text', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull())
      .addColumn('required_acr', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'completed')`))
      .addColumn('card', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('completed_at', 'integer')
      .execute();
    await db.schema.createIndex('steps_conversation').on('steps').column('conversation_id').execute();

    await db.schema
      .createTable('step_pivot_tokens')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('step_id', 'text', (c) => c.notNull().references('steps.id'))
      .addColumn('session_id', 'text', (c) => c.notNull())
      .addColumn('issued_at', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('step_pivot_tokens_step').on('step_pivot_tokens').column('step_id').execute();

    await db.schema
      .createTable('notices_seen')
      .addColumn('jti', 'text', (c) => c.primaryKey())
      .addColumn('step_id', 'text', (c) => c.notNull())
      .addColumn('received_at', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .execute();
  },
};

/** Steps flagged to the agent because their pivot tokens all expired unused (see conversations/chat-service.ts). */
const stepUnusedPivotFlag: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('steps').addColumn('unused_pivot_flagged_at', 'integer').execute();
    await db.schema.createIndex('step_pivot_tokens_expires').on('step_pivot_tokens').columns(['step_id', 'expires_at']).execute();
  },
};

/** Where each conversation started: the bank's site (`web`) or a public messaging platform. */
const conversationChannel: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('conversations').addColumn('channel', 'text', (c) => c.notNull().defaultTo('web')).execute();
  },
};

/**
 * One-time pivot links (a code sent on a public channel, redeemed on the bank's site) and OIDC
 * nonces (one per id_token a session asks for). Both store only SHA-256 hashes of the secrets.
 */
const pivotLinksAndNonces: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('pivot_links')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('channel_identity_id', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .addColumn('used_at', 'integer')
      .addColumn('revoked_at', 'integer')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('pivot_links_conversation').on('pivot_links').column('conversation_id').execute();

    await db.schema
      .createTable('id_token_nonces')
      .addColumn('nonce_hash', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .addColumn('used_at', 'integer')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('id_token_nonces_expires').on('id_token_nonces').column('expires_at').execute();
  },
};

/** Public channels: identities, the durable webhook inbox, message dedupe, the outbound relay outbox. */
const channels: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('channel_identities')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('platform_user_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
      .addColumn('conversation_id', 'text', (c) => c.references('conversations.id'))
      .addColumn('last_inbound_at', 'integer')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addUniqueConstraint('channel_identities_user', ['channel', 'platform_user_id'])
      .execute();
    await db.schema.createIndex('channel_identities_conversation').on('channel_identities').column('conversation_id').execute();

    await db.schema
      .createTable('channel_inbox')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('body_sha256', 'text', (c) => c.notNull())
      .addColumn('body', 'blob', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'processed', 'failed')`))
      .addColumn('reason', 'text')
      .addColumn('received_at', 'integer', (c) => c.notNull())
      .addColumn('processed_at', 'integer')
      .addUniqueConstraint('channel_inbox_delivery', ['platform', 'body_sha256'])
      .execute();
    await db.schema.createIndex('channel_inbox_status').on('channel_inbox').columns(['status', 'id']).execute();

    await db.schema
      .createTable('channel_messages')
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('platform_message_id', 'text', (c) => c.notNull())
      .addColumn('inbox_id', 'integer', (c) => c.notNull().references('channel_inbox.id'))
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('channel_messages_pk', ['platform', 'platform_message_id'])
      .execute();

    await db.schema
      .createTable('channel_outbox')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('identity_id', 'text', (c) => c.notNull().references('channel_identities.id'))
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'sent', 'failed')`))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('sent_at', 'integer')
      .addUniqueConstraint('channel_outbox_event', ['conversation_id', 'seq'])
      .execute();
    await db.schema.createIndex('channel_outbox_due').on('channel_outbox').columns(['status', 'next_attempt_at']).execute();
  },
};

/**
 * Step kinds beyond card payments (address changes, transfer confirmations).
 *
 * An address change has no amount, and SQLite cannot drop the NOT NULL of `amount_minor` and
 * `currency` in place. A placeholder amount (0, or a made-up currency) would give money columns
 * a value that means "no money": so the table is REBUILT (SQLite's documented procedure: new
 * table, copy, drop, rename, with foreign keys off for the swap and checked before they are
 * turned back on), with:
 * - `amount_minor` / `currency` nullable, both or neither, positive, and NULL exactly for
 *   `address_change` (CHECK constraints, so no row can be a transfer without an amount);
 * - `payee` (JSON `{name, accountLast4}`), present exactly for `transfer`;
 * - `result` (JSON, once completed): `{city, country}` of an address change, `{outcome}` of a
 *   transfer; card payments keep their `card` column;
 * - `kind` limited to the known kinds.
 * Rows are copied unchanged (every existing step is a card payment). `step_completed` events
 * recorded before this migration gain `stepKind: 'card_payment'`, which the event schema requires.
 * The Migrator does not wrap SQLite migrations in a transaction, so the PRAGMAs take effect.
 */
const stepKinds: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`PRAGMA foreign_keys = OFF`.execute(db);
    try {
      await db.transaction().execute(async (tx) => {
        await sql`
          CREATE TABLE steps_new (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations (id),
            kind TEXT NOT NULL CHECK (kind IN ('card_payment', 'address_change', 'transfer')),
            amount_minor INTEGER CHECK (amount_minor > 0),
            currency TEXT,
            payee TEXT,
            purpose TEXT NOT NULL,
            reference TEXT NOT NULL,
            required_acr TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'completed')),
            card TEXT,
            result TEXT,
            created_at INTEGER NOT NULL,
            completed_at INTEGER,
            unused_pivot_flagged_at INTEGER,
            CHECK ((amount_minor IS NULL) = (currency IS NULL)),
            CHECK ((kind = 'address_change') = (amount_minor IS NULL)),
            CHECK ((kind = 'transfer') = (payee IS NOT NULL))
          )`.execute(tx);
        await sql`
          INSERT INTO steps_new (id, conversation_id, kind, amount_minor, currency, payee, purpose, reference,
            required_acr, status, card, result, created_at, completed_at, unused_pivot_flagged_at)
          SELECT id, conversation_id, kind, amount_minor, currency, NULL, purpose, reference,
            required_acr, status, card, NULL, created_at, completed_at, unused_pivot_flagged_at
          FROM steps`.execute(tx);
        await sql`DROP TABLE steps`.execute(tx);
        await sql`ALTER TABLE steps_new RENAME TO steps`.execute(tx);
        await sql`CREATE INDEX steps_conversation ON steps (conversation_id)`.execute(tx);
        await sql`
          UPDATE events SET payload = json_set(payload, '$.stepKind', 'card_payment')
          WHERE kind = 'step_completed' AND json_extract(payload, '$.stepKind') IS NULL`.execute(tx);
        const broken = await sql`PRAGMA foreign_key_check`.execute(tx);
        if (broken.rows.length > 0) throw new Error('steps rebuild left dangling foreign keys');
      });
    } finally {
      await sql`PRAGMA foreign_keys = ON`.execute(db);
    }
  },
};

/**
 * Retention of the webhook inbox: its rows hold raw customer messages, so settled ones are deleted
 * by the server's purge (server/app.ts). `channel_messages` (platform message dedupe, and what
 * tells a platform message from one written on the bank's site) must outlive them: its `inbox_id`
 * becomes nullable, ON DELETE SET NULL. SQLite cannot change a column's constraints in place, so
 * the table is rebuilt (no table references it, so foreign keys can stay on). Also indexes the
 * expiry of pivot links for their purge.
 */
const channelInboxRetention: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await sql`
        CREATE TABLE channel_messages_new (
          platform TEXT NOT NULL,
          platform_message_id TEXT NOT NULL,
          inbox_id INTEGER REFERENCES channel_inbox (id) ON DELETE SET NULL,
          conversation_id TEXT NOT NULL REFERENCES conversations (id),
          seq INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          CONSTRAINT channel_messages_pk PRIMARY KEY (platform, platform_message_id)
        )`.execute(tx);
      await sql`
        INSERT INTO channel_messages_new (platform, platform_message_id, inbox_id, conversation_id, seq, created_at)
        SELECT platform, platform_message_id, inbox_id, conversation_id, seq, created_at FROM channel_messages`.execute(tx);
      await sql`DROP TABLE channel_messages`.execute(tx);
      await sql`ALTER TABLE channel_messages_new RENAME TO channel_messages`.execute(tx);
      await sql`CREATE INDEX channel_messages_inbox ON channel_messages (inbox_id)`.execute(tx);
      await sql`CREATE INDEX channel_messages_conversation ON channel_messages (conversation_id, seq)`.execute(tx);
      await sql`CREATE INDEX pivot_links_expires ON pivot_links (expires_at)`.execute(tx);
    });
  },
};

/**
 * Agent sign-in guard and server-side sign-out. `agent_login_guard` holds the failure counters of
 * an account (the name as typed, so unknown names are counted exactly like real ones) and of a
 * client address, which must outlive a restart and be shared by every instance;
 * `agent_login_audit` is the durable trail of failed sign-ins and operator unlocks (never a
 * password). `sessions.revoked_at` marks a session its holder signed out of.
 */
const agentLoginGuard: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await sql`ALTER TABLE sessions ADD COLUMN revoked_at INTEGER`.execute(tx);
      await sql`
        CREATE TABLE agent_login_guard (
          scope TEXT NOT NULL CHECK (scope IN ('account', 'client')),
          key TEXT NOT NULL,
          failures INTEGER NOT NULL,
          last_failure_at INTEGER NOT NULL,
          next_attempt_at INTEGER NOT NULL,
          locked_at INTEGER,
          CONSTRAINT agent_login_guard_pk PRIMARY KEY (scope, key)
        )`.execute(tx);
      await sql`CREATE INDEX agent_login_guard_last_failure ON agent_login_guard (last_failure_at)`.execute(tx);
      await sql`
        CREATE TABLE agent_login_audit (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          at INTEGER NOT NULL,
          outcome TEXT NOT NULL,
          name TEXT NOT NULL,
          name_known INTEGER NOT NULL,
          client TEXT,
          account_failures INTEGER,
          client_failures INTEGER
        )`.execute(tx);
      await sql`CREATE INDEX agent_login_audit_at ON agent_login_audit (at)`.execute(tx);
    });
  },
};

/**
 * Tickets by session: issuing one counts the session's unused, unexpired tickets
 * (WS_MAX_OPEN_TICKETS_PER_SESSION), which must not scan every ticket of the last day.
 */
const wsTicketsBySession: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`CREATE INDEX ws_tickets_session ON ws_tickets (session_id, expires_at)`.execute(db);
  },
};

/** Name-ordered migrations; the Migrator runs those not yet recorded. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_step_unused_pivot_flag': stepUnusedPivotFlag,
  '0003_conversation_channel': conversationChannel,
  '0004_channels': channels,
  '0005_pivot_links_and_nonces': pivotLinksAndNonces,
  '0006_step_kinds': stepKinds,
  '0007_channel_inbox_retention': channelInboxRetention,
  '0008_agent_login_guard': agentLoginGuard,
  '0009_ws_tickets_by_session': wsTicketsBySession,
  '0010_step_kinds_from_registry': stepKindsFromRegistry,
  '0011_channel_inbox_admitted': channelInboxAdmitted,
  '0012_passkeys': passkeys,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
