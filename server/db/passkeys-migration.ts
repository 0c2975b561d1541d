/**
 * Migration 0012, in a file of its own like 0010 and 0011 (the list of migrations stays in
 * migrations.ts).
 *
 * @module
 */
import type { Kysely, Migration } from 'kysely';

/**
 * Passkeys: the vault tells this server when a customer added one (so a session verified by a
 * pivot link may be offered a step that the passkey will prove), and that a step was answered
 * with one (the agent sees "Verified by passkey"); the phone the bank verified, where the
 * enrolment code of a customer who came from no messaging app goes by SMS.
 */
export const passkeys: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('customers').addColumn('passkey_at', 'integer').execute();
    await db.schema.alterTable('customers').addColumn('phone', 'text').execute();
    await db.schema.alterTable('conversations').addColumn('verified_by', 'text').execute();
  },
};
