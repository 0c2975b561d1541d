/**
 * SQLite conversations and the summaries agents list.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import { CHANNELS, type Channel, type ConversationSummary } from '../../protocol/chat.ts';
import { ACR_LEVELS, acrAtLeast, type Acr } from '../../protocol/pivot-token.ts';
import type { ChatDatabase, ConversationsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import { isoTime, type Clock } from '../clock.ts';
import { randomId } from '../ids.ts';
import type { ConversationRecord, ConversationStore } from './store.ts';

/** Name agents see for a customer who gave none. */
export const ANONYMOUS_CUSTOMER_NAME = 'Guest';

export class SqliteConversationStore implements ConversationStore {
  readonly #db: Kysely<ChatDatabase>;
  readonly #sync: SyncExecutor;
  readonly #clock: Clock;
  readonly #q;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock) {
    this.#db = db;
    this.#sync = sync;
    this.#clock = clock;
    this.#q = {
      get: sync.prepare(['id'], (p) => db.selectFrom('conversations').selectAll().where('id', '=', p.id)),
      summary: sync.prepare(['id'], (p) => this.#summaries().where('conversations.id', '=', p.id)),
    };
  }

  async create(customerId: string, acr: Acr, channel: Channel = 'web'): Promise<ConversationRecord> {
    const now = this.#clock();
    const row = {
      id: randomId('cnv'),
      customer_id: customerId,
      acr,
      channel,
      last_seq: 0,
      last_text: null,
      created_at: now,
      updated_at: now,
    };
    this.#sync.run(this.#db.insertInto('conversations').values(row));
    return toConversation(row);
  }

  async get(id: string): Promise<ConversationRecord | undefined> {
    const row = this.#q.get.first({ id });
    return row && toConversation(row);
  }

  async hasCustomerActivity(id: string): Promise<boolean> {
    const row = this.#sync.first(
      this.#db
        .selectFrom('events')
        .select('seq')
        .where('conversation_id', '=', id)
        .where((eb) => eb.or([eb('author_role', '=', 'customer'), eb('kind', '=', 'step')]))
        .limit(1),
    );
    return row !== undefined;
  }

  async latestForCustomer(customerId: string): Promise<ConversationRecord | undefined> {
    const row = this.#sync.first(
      this.#db
        .selectFrom('conversations')
        .selectAll()
        .where('customer_id', '=', customerId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1),
    );
    return row && toConversation(row);
  }

  async raiseAcr(id: string, acr: Acr, customerId?: string): Promise<void> {
    this.#sync.transaction(() => {
      const row = this.#sync.first(this.#db.selectFrom('conversations').select(['acr']).where('id', '=', id));
      if (!row) return;
      const next = acrAtLeast(parseAcr(row.acr), acr) ? parseAcr(row.acr) : acr;
      this.#sync.run(
        this.#db
          .updateTable('conversations')
          .set({ acr: next, updated_at: this.#clock(), ...(customerId ? { customer_id: customerId } : {}) })
          .where('id', '=', id),
      );
    });
  }

  async summary(id: string): Promise<ConversationSummary | undefined> {
    const row = this.#q.summary.first({ id });
    return row && toSummary(row);
  }

  async listSummaries(limit: number): Promise<ConversationSummary[]> {
    return this.#sync
      .all(this.#summaries().orderBy('conversations.updated_at', 'desc').orderBy('conversations.id', 'desc').limit(limit))
      .map(toSummary);
  }

  #summaries() {
    return this.#db
      .selectFrom('conversations')
      .innerJoin('customers', 'customers.id', 'conversations.customer_id')
      .select([
        'conversations.id as id',
        'conversations.acr as acr',
        'conversations.channel as channel',
        'conversations.last_seq as lastSeq',
        'conversations.last_text as lastText',
        'conversations.updated_at as updatedAt',
        'customers.display_name as displayName',
        'customers.subject as subject',
      ]);
  }
}

interface SummaryRow {
  id: string;
  acr: string;
  channel: string;
  lastSeq: number;
  lastText: string | null;
  updatedAt: number;
  displayName: string | null;
  subject: string | null;
}

function toSummary(row: SummaryRow): ConversationSummary {
  return {
    id: row.id,
    customerName: row.displayName ?? row.subject ?? ANONYMOUS_CUSTOMER_NAME,
    acr: parseAcr(row.acr),
    channel: parseChannel(row.channel),
    lastSeq: row.lastSeq,
    lastText: row.lastText,
    updatedAt: isoTime(row.updatedAt),
  };
}

function toConversation(row: Selectable<ConversationsTable>): ConversationRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    acr: parseAcr(row.acr),
    channel: parseChannel(row.channel),
    lastSeq: row.last_seq,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A stored channel name; an unknown value reads as `web` (the column has no CHECK). */
export function parseChannel(value: string): Channel {
  return (CHANNELS as readonly string[]).includes(value) ? (value as Channel) : 'web';
}

export function parseAcr(value: string): Acr {
  return (ACR_LEVELS as readonly string[]).includes(value) ? (value as Acr) : 'none';
}
