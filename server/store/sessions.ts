/**
 * SQLite sessions and WebSocket tickets. Both are bearer secrets held by clients; only their
 * SHA-256 hashes are stored. A ticket is consumed by one conditional UPDATE, so two upgrades
 * racing with the same ticket cannot both win.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { Acr } from '../../protocol/pivot-token.ts';
import type { ChatDatabase, SessionsTable } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';
import type { Clock } from '../lib/clock.ts';
import { randomId } from '../lib/ids.ts';
import { parseAcr } from './conversations.ts';
import type { SessionRecord, SessionStore } from './store.ts';
import { SqliteTable } from './sqlite-table.ts';

export class SqliteSessionStore extends SqliteTable implements SessionStore {
  readonly #q;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor, clock: Clock) {
    super(db, sync, clock);
    this.#q = {
      byHash: sync.prepare(['hash'], (p) => db.selectFrom('sessions').selectAll().where('token_hash', '=', p.hash)),
    };
  }

  async create(input: Parameters<SessionStore['create']>[0]): Promise<SessionRecord> {
    const row = {
      id: randomId('ses'),
      token_hash: input.tokenHash,
      role: input.role,
      acr: input.acr,
      customer_id: input.customerId,
      agent_id: input.agentId,
      conversation_id: input.conversationId,
      expires_at: input.expiresAt,
      created_at: this.clock(),
      revoked_at: null,
    };
    this.sync.run(this.db.insertInto('sessions').values(row));
    return toSession(row);
  }

  async findByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
    const row = this.#q.byHash.first({ hash: tokenHash });
    return row && toSession(row);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('sessions').selectAll().where('id', '=', id));
    return row && toSession(row);
  }

  async raise(id: string, acr: Acr, customerId: string, conversationId?: string): Promise<void> {
    this.sync.run(
      this.db
        .updateTable('sessions')
        .set({ acr, customer_id: customerId, ...(conversationId !== undefined ? { conversation_id: conversationId } : {}) })
        .where('id', '=', id),
    );
  }

  async revoke(id: string, now: number): Promise<boolean> {
    return this.sync.transaction(() => {
      const changed = this.sync.run(
        this.db.updateTable('sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null),
      );
      // A ticket taken before the sign-out must not open a socket after it.
      this.sync.run(this.db.deleteFrom('ws_tickets').where('session_id', '=', id));
      return changed > 0;
    });
  }

  async createTicket(input: { ticketHash: string; sessionId: string; expiresAt: number }): Promise<void> {
    this.sync.run(
      this.db.insertInto('ws_tickets').values({
        ticket_hash: input.ticketHash,
        session_id: input.sessionId,
        expires_at: input.expiresAt,
        used_at: null,
        created_at: this.clock(),
      }),
    );
  }

  async countOpenTickets(sessionId: string, now: number): Promise<number> {
    const row = this.sync.first(
      this.db
        .selectFrom('ws_tickets')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('session_id', '=', sessionId)
        .where('expires_at', '>', now)
        .where('used_at', 'is', null),
    );
    return Number(row?.n ?? 0);
  }

  async consumeTicket(ticketHash: string, now: number): Promise<string | undefined> {
    const row = this.sync.first(
      this.db
        .updateTable('ws_tickets')
        .set({ used_at: now })
        .where('ticket_hash', '=', ticketHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('session_id'),
    );
    return row?.session_id;
  }

  async purgeExpired(before: number): Promise<void> {
    this.sync.transaction(() => {
      this.sync.run(this.db.deleteFrom('ws_tickets').where('expires_at', '<', before));
      this.sync.run(this.db.deleteFrom('sessions').where('expires_at', '<', before));
    });
  }
}

function toSession(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    role: row.role === 'agent' ? 'agent' : 'customer',
    acr: parseAcr(row.acr),
    customerId: row.customer_id,
    agentId: row.agent_id,
    conversationId: row.conversation_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
