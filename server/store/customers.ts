/**
 * SQLite customers: anonymous ones (one per anonymous session) and those a verified identity
 * assertion named. Each gets a random pseudonym, the only customer id other services see.
 *
 * @module
 */
import type { Selectable } from 'kysely';
import type { CustomersTable } from '../db/schema.ts';
import { randomId } from '../lib/ids.ts';
import { maskCardNumbers } from '../conversations/mask.ts';
import type { CustomerRecord, CustomerStore } from './store.ts';
import { SqliteTable } from './sqlite-table.ts';

export class SqliteCustomerStore extends SqliteTable implements CustomerStore {

  async get(id: string): Promise<CustomerRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('customers').selectAll().where('id', '=', id));
    return row && toCustomer(row);
  }

  async findBySubject(subject: string): Promise<CustomerRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('customers').selectAll().where('subject', '=', subject));
    return row && toCustomer(row);
  }

  async create(input: { subject: string | null; displayName: string | null }): Promise<CustomerRecord> {
    const row = {
      id: randomId('cus'),
      subject: input.subject,
      pseudonym: randomId('psn'),
      // The name is the customer's own text (typed on the bank's page, a WhatsApp profile name):
      // masked here, where every path that names a customer passes.
      display_name: input.displayName === null ? null : maskCardNumbers(input.displayName),
      created_at: this.clock(),
      passkey_at: null,
      phone: null,
    };
    this.sync.run(this.db.insertInto('customers').values(row));
    return toCustomer(row);
  }

  async attachSubject(customerId: string, subject: string): Promise<void> {
    this.sync.run(
      this.db.updateTable('customers').set({ subject }).where('id', '=', customerId).where('subject', 'is', null),
    );
  }

  async setPhone(customerId: string, phone: string): Promise<void> {
    this.sync.run(this.db.updateTable('customers').set({ phone }).where('id', '=', customerId));
  }

  async markPasskey(customerId: string): Promise<void> {
    this.sync.run(this.db.updateTable('customers').set({ passkey_at: this.clock() }).where('id', '=', customerId));
  }
}

function toCustomer(row: Selectable<CustomersTable>): CustomerRecord {
  return { id: row.id, subject: row.subject, pseudonym: row.pseudonym, displayName: row.display_name, hasPasskey: row.passkey_at !== null, phone: row.phone };
}
