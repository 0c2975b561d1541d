/**
 * SQLite agents (console users). Passwords are stored as scrypt hashes (auth/passwords.ts).
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { AgentsTable, ChatDatabase } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import type { Clock } from '../clock.ts';
import { randomId } from '../ids.ts';
import type { AgentRecord, AgentStore } from './store.ts';

export class SqliteAgentStore implements AgentStore {
  readonly #db: Kysely<ChatDatabase>;
  readonly #sync: SyncExecutor;
  readonly #clock: Clock;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock) {
    this.#db = db;
    this.#sync = sync;
    this.#clock = clock;
  }

  async findByName(name: string): Promise<AgentRecord | undefined> {
    const row = this.#sync.first(this.#db.selectFrom('agents').selectAll().where('name', '=', name));
    return row && toAgent(row);
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const row = this.#sync.first(this.#db.selectFrom('agents').selectAll().where('id', '=', id));
    return row && toAgent(row);
  }

  async createIfMissing(name: string, passwordHash: string): Promise<boolean> {
    const changes = this.#sync.run(
      this.#db
        .insertInto('agents')
        .values({ id: randomId('agt'), name, password_hash: passwordHash, created_at: this.#clock() })
        .onConflict((oc) => oc.column('name').doNothing()),
    );
    return changes > 0;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    this.#sync.run(this.#db.updateTable('agents').set({ password_hash: passwordHash }).where('id', '=', id));
  }

  async list(): Promise<AgentRecord[]> {
    return this.#sync.all(this.#db.selectFrom('agents').selectAll().orderBy('name')).map(toAgent);
  }
}

function toAgent(row: Selectable<AgentsTable>): AgentRecord {
  return { id: row.id, name: row.name, passwordHash: row.password_hash };
}
