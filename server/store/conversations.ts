/**
 * SQLite conversations and the summaries agents list.
 *
 * A conversation on the bank's site exists only once its customer wrote: a session starts without
 * one, and its first message creates it ({@link SqliteConversationStore.startForSession}). Agents
 * list, and are told of, only conversations with a customer message (or from a public channel,
 * which always starts with one), so sessions nobody writes in never reach them.
 *
 * @module
 */
import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import {
  CHANNELS,
  CONVERSATION_CURSOR_MAX_CHARS,
  CONVERSATION_PAGE_SIZE,
  type Channel,
  type ConversationList,
  type ConversationSummary,
} from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { ACR_LEVELS, acrAtLeast, type Acr } from '../../protocol/pivot-token.ts';
import type { ChatDatabase, ConversationsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import { isoTime, type Clock } from '../lib/clock.ts';
import { randomId } from '../lib/ids.ts';
import type { ConversationRecord, ConversationStore, StartedConversation } from './store.ts';
import { SqliteTable } from './sqlite-table.ts';

/** Name agents see for a customer who gave none. */
export const ANONYMOUS_CUSTOMER_NAME = 'Guest';

export class SqliteConversationStore extends SqliteTable implements ConversationStore {
  readonly #q;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock) {
    super(db, sync, clock);
    this.#q = {
      get: sync.prepare(['id'], (p) => db.selectFrom('conversations').selectAll().where('id', '=', p.id)),
      summary: sync.prepare(['id'], (p) => this.#summaries().where('conversations.id', '=', p.id)),
      session: sync.prepare(['id'], (p) =>
        db.selectFrom('sessions').select(['role', 'acr', 'customer_id', 'conversation_id']).where('id', '=', p.id),
      ),
    };
  }

  async startForSession(sessionId: string, id: string = randomId('cnv')): Promise<StartedConversation | undefined> {
    return this.sync.transaction(() => {
      const session = this.#q.session.first({ id: sessionId });
      if (!session || session.role !== 'customer' || session.customer_id === null) return undefined;
      if (session.conversation_id !== null) {
        const row = this.#q.get.first({ id: session.conversation_id });
        return row && { conversation: toConversation(row), created: false };
      }
      // Same transaction as the read above: two sockets of one session racing here create one.
      const conversation = this.#insert(id, session.customer_id, parseAcr(session.acr), 'web');
      this.sync.run(
        this.db.updateTable('sessions').set({ conversation_id: conversation.id }).where('id', '=', sessionId).where('conversation_id', 'is', null),
      );
      return { conversation, created: true };
    });
  }

  async create(customerId: string, acr: Acr, channel: Channel = 'web'): Promise<ConversationRecord> {
    return this.#insert(randomId('cnv'), customerId, acr, channel);
  }

  #insert(id: string, customerId: string, acr: Acr, channel: Channel): ConversationRecord {
    const now = this.clock();
    const row = {
      id,
      customer_id: customerId,
      acr,
      channel,
      last_seq: 0,
      last_text: null,
      created_at: now,
      updated_at: now,
      verified_by: null,
    };
    this.sync.run(this.db.insertInto('conversations').values(row));
    return toConversation(row);
  }

  async get(id: string): Promise<ConversationRecord | undefined> {
    const row = this.#q.get.first({ id });
    return row && toConversation(row);
  }

  async hasCustomerActivity(id: string): Promise<boolean> {
    const row = this.sync.first(
      this.db
        .selectFrom('events')
        .select('seq')
        .where('conversation_id', '=', id)
        .where((eb) => eb.or([eb('author_role', '=', 'customer'), eb('kind', '=', 'step')]))
        .limit(1),
    );
    return row !== undefined;
  }

  async latestForCustomer(customerId: string): Promise<ConversationRecord | undefined> {
    const row = this.sync.first(
      this.db
        .selectFrom('conversations')
        .selectAll()
        .where('customer_id', '=', customerId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1),
    );
    return row && toConversation(row);
  }

  async markVerifiedByPasskey(id: string): Promise<void> {
    this.sync.run(this.db.updateTable('conversations').set({ verified_by: 'passkey', updated_at: this.clock() }).where('id', '=', id));
  }

  async raiseAcr(id: string, acr: Acr, customerId?: string): Promise<void> {
    this.sync.transaction(() => {
      const row = this.sync.first(this.db.selectFrom('conversations').select(['acr']).where('id', '=', id));
      if (!row) return;
      const next = acrAtLeast(parseAcr(row.acr), acr) ? parseAcr(row.acr) : acr;
      this.sync.run(
        this.db
          .updateTable('conversations')
          .set({ acr: next, updated_at: this.clock(), ...(customerId ? { customer_id: customerId } : {}) })
          .where('id', '=', id),
      );
    });
  }

  async summary(id: string): Promise<ConversationSummary | undefined> {
    const row = this.#q.summary.first({ id });
    return row && toSummary(row);
  }

  async listPage(cursor?: string, limit: number = CONVERSATION_PAGE_SIZE): Promise<ConversationList> {
    const after = cursor === undefined ? undefined : decodeConversationCursor(cursor);
    let query = this.#summaries();
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('conversations.updated_at', '<', after.updatedAt),
          eb.and([eb('conversations.updated_at', '=', after.updatedAt), eb('conversations.id', '<', after.id)]),
        ]),
      );
    }
    // One more than the page: whether a next page exists, without a second query.
    const rows = this.sync.all(query.orderBy('conversations.updated_at', 'desc').orderBy('conversations.id', 'desc').limit(limit + 1));
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      conversations: page.map(toSummary),
      nextCursor: rows.length > limit && last ? encodeConversationCursor({ updatedAt: last.updatedAt, id: last.id }) : null,
    };
  }

  /** Conversations agents may see: a customer wrote in it, or it came from a public channel. */
  #summaries() {
    return this.db
      .selectFrom('conversations')
      .innerJoin('customers', 'customers.id', 'conversations.customer_id')
      .where((eb) => eb.or([eb('conversations.channel', '!=', 'web'), customerWrote(eb)]))
      .select([
        'conversations.id as id',
        'conversations.acr as acr',
        'conversations.channel as channel',
        'conversations.last_seq as lastSeq',
        'conversations.last_text as lastText',
        'conversations.updated_at as updatedAt',
        'customers.display_name as displayName',
        'customers.subject as subject',
        'conversations.verified_by as verifiedBy',
      ]);
  }
}

function customerWrote(eb: ExpressionBuilder<ChatDatabase, 'conversations' | 'customers'>) {
  return eb.exists(
    eb
      .selectFrom('events')
      .select('events.seq')
      .whereRef('events.conversation_id', '=', 'conversations.id')
      .where('events.author_role', '=', 'customer'),
  );
}

/** Where a page of the agents' list ends: the last conversation's activity time and id. */
export interface ConversationCursor {
  readonly updatedAt: number;
  readonly id: string;
}

/** Opaque to clients: base64url of `[updatedAt, id]`. */
export function encodeConversationCursor(cursor: ConversationCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAt, cursor.id]), 'utf8').toString('base64url');
}

/** The cursor's position; CURSOR_INVALID for anything this server did not write. */
export function decodeConversationCursor(cursor: string): ConversationCursor {
  if (cursor.length > CONVERSATION_CURSOR_MAX_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new PivotError('CURSOR_INVALID');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new PivotError('CURSOR_INVALID');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    (value[0] as number) < 0 ||
    typeof value[1] !== 'string' ||
    !/^cnv_[A-Za-z0-9_-]{8,64}$/.test(value[1])
  ) {
    throw new PivotError('CURSOR_INVALID');
  }
  return { updatedAt: value[0] as number, id: value[1] };
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
  verifiedBy: string | null;
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
    ...(row.verifiedBy === 'passkey' ? { verifiedBy: 'passkey' as const } : {}),
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
