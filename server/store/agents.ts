/**
 * SQLite agents (console users). Passwords are stored as scrypt hashes (auth/passwords.ts).
 *
 * @module
 */
import type { Selectable } from 'kysely';
import type { AgentsTable } from '../db/schema.ts';
import { randomId } from '../lib/ids.ts';
import type { AgentRecord, AgentStore } from './store.ts';
import { SqliteTable } from './sqlite-table.ts';

export class SqliteAgentStore extends SqliteTable implements AgentStore {

  async findByName(name: string): Promise<AgentRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('agents').selectAll().where('name', '=', name));
    return row && toAgent(row);
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('agents').selectAll().where('id', '=', id));
    return row && toAgent(row);
  }

  async createIfMissing(name: string, passwordHash: string): Promise<boolean> {
    const changes = this.sync.run(
      this.db
        .insertInto('agents')
        .values({ id: randomId('agt'), name, password_hash: passwordHash, created_at: this.clock() })
        .onConflict((oc) => oc.column('name').doNothing()),
    );
    return changes > 0;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    this.sync.run(this.db.updateTable('agents').set({ password_hash: passwordHash }).where('id', '=', id));
  }

  async list(): Promise<AgentRecord[]> {
    return this.sync.all(this.db.selectFrom('agents').selectAll().orderBy('name')).map(toAgent);
  }
}

function toAgent(row: Selectable<AgentsTable>): AgentRecord {
  return { id: row.id, name: row.name, passwordHash: row.password_hash };
}
