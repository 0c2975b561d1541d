/**
 * SQLite pivot links and id_token nonces. Both are secrets held by a client (the code in a link's
 * fragment, the nonce the widget passes to the bank's IdP); only their SHA-256 hashes are stored.
 * Each is consumed by one conditional UPDATE checked by its change count, so two redeems racing
 * with the same secret cannot both win.
 *
 * @module
 */
import type { Selectable } from 'kysely';
import { ChannelSchema } from '../../protocol/chat.ts';
import * as v from 'valibot';
import type { PivotLinksTable } from '../db/schema.ts';
import type { NonceStore, PivotLinkRecord, PivotLinkStore } from './store.ts';
import { SqliteTable } from './sqlite-table.ts';

export class SqlitePivotLinkStore extends SqliteTable implements PivotLinkStore {

  async create(link: Omit<PivotLinkRecord, 'usedAt' | 'revokedAt'>): Promise<void> {
    const now = this.clock();
    this.sync.transaction(() => {
      this.sync.run(
        this.db
          .updateTable('pivot_links')
          .set({ revoked_at: now })
          .where('conversation_id', '=', link.conversationId)
          .where('used_at', 'is', null)
          .where('revoked_at', 'is', null),
      );
      this.sync.run(
        this.db.insertInto('pivot_links').values({
          code_hash: link.codeHash,
          conversation_id: link.conversationId,
          customer_id: link.customerId,
          channel: link.channel,
          channel_identity_id: link.channelIdentityId,
          expires_at: link.expiresAt,
          used_at: null,
          revoked_at: null,
          created_at: now,
        }),
      );
    });
  }

  async find(codeHash: string): Promise<PivotLinkRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('pivot_links').selectAll().where('code_hash', '=', codeHash));
    return row && toLink(row);
  }

  async consume(codeHash: string, now: number): Promise<boolean> {
    const changed = this.sync.run(
      this.db
        .updateTable('pivot_links')
        .set({ used_at: now })
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now),
    );
    return changed === 1;
  }

  async delete(codeHash: string): Promise<void> {
    this.sync.run(this.db.deleteFrom('pivot_links').where('code_hash', '=', codeHash));
  }

  async purgeExpired(before: number): Promise<number> {
    return this.sync.run(this.db.deleteFrom('pivot_links').where('expires_at', '<', before));
  }
}

export class SqliteNonceStore extends SqliteTable implements NonceStore {

  async create(input: { nonceHash: string; sessionId: string; expiresAt: number }): Promise<void> {
    this.sync.run(
      this.db.insertInto('id_token_nonces').values({
        nonce_hash: input.nonceHash,
        session_id: input.sessionId,
        expires_at: input.expiresAt,
        used_at: null,
        created_at: this.clock(),
      }),
    );
  }

  async consume(nonceHash: string, sessionId: string, now: number): Promise<boolean> {
    const changed = this.sync.run(
      this.db
        .updateTable('id_token_nonces')
        .set({ used_at: now })
        .where('nonce_hash', '=', nonceHash)
        .where('session_id', '=', sessionId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now),
    );
    return changed === 1;
  }

  async purgeExpired(before: number): Promise<number> {
    return this.sync.run(
      this.db.deleteFrom('id_token_nonces').where((eb) => eb.or([eb('expires_at', '<', before), eb('used_at', '<', before)])),
    );
  }
}

function toLink(row: Selectable<PivotLinksTable>): PivotLinkRecord {
  const channel = v.parse(ChannelSchema, row.channel);
  return {
    codeHash: row.code_hash,
    conversationId: row.conversation_id,
    customerId: row.customer_id,
    channel,
    channelIdentityId: row.channel_identity_id,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    revokedAt: row.revoked_at,
  };
}
