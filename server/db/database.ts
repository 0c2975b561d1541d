/**
 * Opens `DATA_DIR/chat.db` (better-sqlite3, WAL) behind Kysely and brings its schema up to
 * date with the in-code migrations.
 *
 * Queries are BUILT with Kysely and, through {@link SyncExecutor}, EXECUTED synchronously on
 * the same better-sqlite3 handle: a write transaction then cannot interleave with any other
 * statement (JavaScript runs it to completion), which is what makes `seq` assignment atomic.
 * Kysely's own async transactions are used only by the Migrator, before the server serves.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import type { ChatDatabase } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import { SyncExecutor } from './sync.ts';

export const CHAT_DB_FILE = 'chat.db';
/** How long a writer waits for another process's lock before failing, in ms. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export interface ChatDb {
  readonly sqlite: BetterSqlite3.Database;
  readonly kysely: Kysely<ChatDatabase>;
  readonly sync: SyncExecutor;
  close(): Promise<void>;
}

export async function openChatDb(dataDir: string): Promise<ChatDb> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new BetterSqlite3(join(dataDir, CHAT_DB_FILE));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  // Freed pages are zeroed, so deleted rows do not linger in the file.
  sqlite.pragma('secure_delete = ON');

  const kysely = new Kysely<ChatDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({ db: kysely, provider: migrationProvider });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await kysely.destroy();
    throw new Error('chat database migration failed', { cause: error });
  }

  let closed = false;
  return {
    sqlite,
    kysely,
    sync: new SyncExecutor(sqlite),
    async close() {
      if (closed) return;
      closed = true;
      // Fold the WAL back into the main file so a restart (or a copy) sees one file.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      await kysely.destroy();
    },
  };
}
