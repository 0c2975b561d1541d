/**
 * The embedded {@link ChatStore}: one SQLite file, `DATA_DIR/chat.db`.
 *
 * @module
 */
import { openChatDb, type ChatDb } from '../db/database.ts';
import type { Clock } from '../lib/clock.ts';
import { SqliteAgentLoginStore } from './agent-logins.ts';
import { SqliteAgentStore } from './agents.ts';
import { SqliteChannelStore } from './channels.ts';
import { SqliteConversationStore } from './conversations.ts';
import { SqliteCustomerStore } from './customers.ts';
import { SqliteEventStore } from './events.ts';
import { SqliteNonceStore, SqlitePivotLinkStore } from './pivot-links.ts';
import { SqliteSessionStore } from './sessions.ts';
import { SqliteStepStore } from './steps.ts';
import type { ChatStore } from './store.ts';

export interface SqliteChatStore extends ChatStore {
  /** The underlying handles, for tests and maintenance only. */
  readonly db: ChatDb;
}

export async function createSqliteStore(dataDir: string, clock: Clock): Promise<SqliteChatStore> {
  const db = await openChatDb(dataDir);
  const { kysely, sync } = db;
  const channels = new SqliteChannelStore(kysely, sync, clock);
  // Agent messages are queued for their platform in the transaction that stores them.
  const events = new SqliteEventStore(kysely, sync, clock, (event) => channels.queueRelaySync(event));
  return {
    db,
    customers: new SqliteCustomerStore(kysely, sync, clock),
    conversations: new SqliteConversationStore(kysely, sync, clock),
    events,
    sessions: new SqliteSessionStore(kysely, sync, clock),
    agents: new SqliteAgentStore(kysely, sync, clock),
    agentLogins: new SqliteAgentLoginStore(kysely, sync),
    steps: new SqliteStepStore(kysely, sync, clock, events),
    channels,
    pivotLinks: new SqlitePivotLinkStore(kysely, sync, clock),
    nonces: new SqliteNonceStore(kysely, sync, clock),
    close: () => db.close(),
  };
}
