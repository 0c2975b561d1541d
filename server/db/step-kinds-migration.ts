/**
 * Migration 0010, in a file of its own like the other table rebuilds after 0007 (the list of
 * migrations stays in migrations.ts).
 *
 * @module
 */
import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Steps of any registered kind (protocol/steps/). 0006 listed the kinds in CHECK constraints, so
 * every new kind would have needed another rebuild of this table; the kinds are now one registry,
 * and the store writes only a step that passed its kind's schema and reads each back through it
 * (server/store/steps.ts), so the table keeps only the checks that hold for every kind.
 */
export const stepKindsFromRegistry: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`PRAGMA foreign_keys = OFF`.execute(db);
    try {
      await db.transaction().execute(async (tx) => {
        await sql`
          CREATE TABLE steps_new (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations (id),
            kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
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
            CHECK ((amount_minor IS NULL) = (currency IS NULL))
          )`.execute(tx);
        await sql`
          INSERT INTO steps_new (id, conversation_id, kind, amount_minor, currency, payee, purpose, reference,
            required_acr, status, card, result, created_at, completed_at, unused_pivot_flagged_at)
          SELECT id, conversation_id, kind, amount_minor, currency, payee, purpose, reference,
            required_acr, status, card, result, created_at, completed_at, unused_pivot_flagged_at
          FROM steps`.execute(tx);
        await sql`DROP TABLE steps`.execute(tx);
        await sql`ALTER TABLE steps_new RENAME TO steps`.execute(tx);
        await sql`CREATE INDEX steps_conversation ON steps (conversation_id)`.execute(tx);
        const broken = await sql`PRAGMA foreign_key_check`.execute(tx);
        if (broken.rows.length > 0) throw new Error('steps rebuild left dangling foreign keys');
      });
    } finally {
      await sql`PRAGMA foreign_keys = ON`.execute(db);
    }
  },
};
