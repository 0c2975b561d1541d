/**
 * Schema migrations, provided in code (no migration folder to ship) and run by Kysely's
 * Migrator at start-up. Append new migrations; never edit one that has shipped.
 *
 * @module
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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

/** Steps flagged to the agent because their pivot tokens all expired unused (see chat-service.ts). */
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

/** Name-ordered migrations; the Migrator runs those not yet recorded. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_step_unused_pivot_flag': stepUnusedPivotFlag,
  '0003_conversation_channel': conversationChannel,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
