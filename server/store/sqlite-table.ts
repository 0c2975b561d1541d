/**
 * What every SQLite store of the chat server holds: the Kysely handle (to build queries), the
 * synchronous executor that runs them on better-sqlite3 (so one store method is one synchronous
 * transaction), and the server's clock.
 *
 * @module
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.ts';
import type { ChatDatabase } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';

export abstract class SqliteTable {
  protected readonly db: Kysely<ChatDatabase>;
  protected readonly sync: SyncExecutor;
  protected readonly clock: Clock;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock) {
    this.db = db;
    this.sync = sync;
    this.clock = clock;
  }
}
