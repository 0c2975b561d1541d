/**
 * SQLite storage of the public channels: platform identities, the durable webhook inbox, the
 * (platform, message id) dedupe table and the outbox of agent messages to relay.
 *
 * The inbox keeps every signed delivery as ADMITTED (server/channels/redact.ts): decoded, card
 * numbers masked, parts for another page dropped, re-encoded; never the raw bytes received. Its
 * rows move from `pending` to `processed` or `failed` (with a reason) and are never deleted by
 * the processor, so a restart or a parser bug loses nothing. A delivery that could not be decoded
 * is kept as a `failed` row without its body. The bodies hold customer messages: the server's
 * purge ({@link ChannelStore.purgeDeliveries}) deletes settled rows after their retention.
 *
 * The relay outbox is written in the SAME transaction as the agent message it relays:
 * {@link SqliteChannelStore.queueRelaySync} runs inside the event append (server/store/events.ts),
 * so a crash can lose neither one without the other. Sending stays asynchronous.
 *
 * Past 400 lines because the four tables share one transaction discipline and one row mapping;
 * split, each part would need the other's synchronous executor and types.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Channel } from '../../protocol/chat.ts';
import type { ConversationEvent } from '../../protocol/chat.ts';
import type { ChannelIdentitiesTable, ChannelOutboxTable, ChatDatabase } from '../db/schema.ts';
import { randomId } from '../lib/ids.ts';
import { SqliteTable } from './sqlite-table.ts';

export type PublicChannel = Exclude<Channel, 'web'>;
export const PUBLIC_CHANNELS: readonly PublicChannel[] = ['messenger', 'whatsapp', 'sms'];

export interface ChannelIdentityRecord {
  readonly id: string;
  readonly channel: PublicChannel;
  readonly platformUserId: string;
  readonly customerId: string;
  readonly conversationId: string | null;
  readonly lastInboundAt: number | null;
}

export type InboxStatus = 'pending' | 'processed' | 'failed';

export interface InboxRecord {
  readonly id: number;
  readonly platform: PublicChannel;
  readonly body: Buffer;
  readonly status: InboxStatus;
  readonly reason: string | null;
  readonly receivedAt: number;
}

export interface OutboxRecord {
  readonly id: number;
  readonly conversationId: string;
  readonly seq: number;
  readonly identityId: string;
  readonly text: string;
  readonly status: 'pending' | 'sent' | 'failed';
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
}

export interface ChannelStore {
  findIdentity(channel: PublicChannel, platformUserId: string): Promise<ChannelIdentityRecord | undefined>;
  getIdentity(id: string): Promise<ChannelIdentityRecord | undefined>;
  identityForConversation(conversationId: string): Promise<ChannelIdentityRecord | undefined>;
  /** Creates the identity, or returns the one already stored for (channel, platformUserId). */
  createIdentity(input: { channel: PublicChannel; platformUserId: string; customerId: string }): Promise<ChannelIdentityRecord>;
  setIdentityConversation(identityId: string, conversationId: string): Promise<void>;
  /** Moves `last_inbound_at` forward (never back) to `at`. */
  touchInbound(identityId: string, at: number): Promise<void>;
  /**
   * When the customer last showed up on the bank's site in this conversation: the latest customer
   * session for it (a redeemed pivot link) or customer message that did not come over a platform.
   * `null` when never.
   */
  lastWebActivity(conversationId: string): Promise<number | null>;

  /** Stores an admitted delivery as `pending`; the same bytes from the same platform are stored once. */
  insertDelivery(platform: PublicChannel, body: Buffer): Promise<{ id: number; created: boolean }>;
  /** Records a signed delivery that could not be decoded: `failed`, with `reason` and no body. */
  insertUnreadableDelivery(platform: PublicChannel, reason: string): Promise<{ id: number; created: boolean }>;
  getDelivery(id: number): Promise<InboxRecord | undefined>;
  /** Oldest pending deliveries first. */
  pendingDeliveries(limit: number): Promise<InboxRecord[]>;
  markDelivery(id: number, status: Exclude<InboxStatus, 'pending'>, reason: string | null): Promise<void>;
  /**
   * Deletes `processed` deliveries settled before `processedBefore` and `failed` ones settled
   * before `failedBefore` (pending ones are never deleted); returns how many were deleted.
   */
  purgeDeliveries(input: { processedBefore: number; failedBefore: number }): Promise<number>;

  findMessage(platform: PublicChannel, platformMessageId: string): Promise<{ conversationId: string; seq: number } | undefined>;
  /** Records that a platform message became event `seq`; false when it was already recorded. */
  recordMessage(input: { platform: PublicChannel; platformMessageId: string; inboxId: number; conversationId: string; seq: number }): Promise<boolean>;

  /**
   * Queues an agent message for relay; the same (conversation, seq) is queued once. Agent
   * messages appended through the event store are queued by it already (see queueRelaySync).
   */
  enqueueOutbound(input: { conversationId: string; seq: number; identityId: string; text: string }): Promise<boolean>;
  /** Pending rows whose next attempt is due at `now`, oldest first. */
  dueOutbound(now: number, limit: number): Promise<OutboxRecord[]>;
  getOutbound(id: number): Promise<OutboxRecord | undefined>;
  markOutboundSent(id: number, attempts: number): Promise<void>;
  rescheduleOutbound(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  markOutboundFailed(id: number, attempts: number, error: string): Promise<void>;
}

export class SqliteChannelStore extends SqliteTable implements ChannelStore {

  async findIdentity(channel: PublicChannel, platformUserId: string): Promise<ChannelIdentityRecord | undefined> {
    const row = this.sync.first(
      this.db.selectFrom('channel_identities').selectAll().where('channel', '=', channel).where('platform_user_id', '=', platformUserId),
    );
    return row && toIdentity(row);
  }

  async getIdentity(id: string): Promise<ChannelIdentityRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('channel_identities').selectAll().where('id', '=', id));
    return row && toIdentity(row);
  }

  async identityForConversation(conversationId: string): Promise<ChannelIdentityRecord | undefined> {
    const row = this.sync.first(
      this.db.selectFrom('channel_identities').selectAll().where('conversation_id', '=', conversationId).limit(1),
    );
    return row && toIdentity(row);
  }

  async createIdentity(input: { channel: PublicChannel; platformUserId: string; customerId: string }): Promise<ChannelIdentityRecord> {
    return this.sync.transaction(() => {
      this.sync.run(
        this.db
          .insertInto('channel_identities')
          .values({
            id: randomId('chi'),
            channel: input.channel,
            platform_user_id: input.platformUserId,
            customer_id: input.customerId,
            conversation_id: null,
            last_inbound_at: null,
            created_at: this.clock(),
          })
          .onConflict((oc) => oc.columns(['channel', 'platform_user_id']).doNothing()),
      );
      const row = this.sync.first(
        this.db
          .selectFrom('channel_identities')
          .selectAll()
          .where('channel', '=', input.channel)
          .where('platform_user_id', '=', input.platformUserId),
      );
      if (!row) throw new Error('channel identity not stored');
      return toIdentity(row);
    });
  }

  async setIdentityConversation(identityId: string, conversationId: string): Promise<void> {
    this.sync.run(this.db.updateTable('channel_identities').set({ conversation_id: conversationId }).where('id', '=', identityId));
  }

  async lastWebActivity(conversationId: string): Promise<number | null> {
    return this.#lastWebActivitySync(conversationId);
  }

  /**
   * The relay rule, run INSIDE the transaction that appends `event` (server/store/events.ts):
   * queues an agent message of a conversation with a platform identity, unless the customer has
   * since continued on the bank's site. Replies go where the customer last was: once they
   * continued on the site (and have not written on the platform since), the conversation stays
   * off the public platform. Returns whether a row was queued.
   */
  queueRelaySync(event: ConversationEvent): boolean {
    if (event.kind !== 'message' || event.author.role !== 'agent') return false;
    const row = this.sync.first(
      this.db.selectFrom('channel_identities').selectAll().where('conversation_id', '=', event.conversationId).limit(1),
    );
    if (!row) return false;
    const web = this.#lastWebActivitySync(event.conversationId);
    if (web !== null && (row.last_inbound_at === null || row.last_inbound_at <= web)) return false;
    return this.#enqueueSync({ conversationId: event.conversationId, seq: event.seq, identityId: row.id, text: event.text });
  }

  #lastWebActivitySync(conversationId: string): number | null {
    const session = this.sync.first(
      this.db
        .selectFrom('sessions')
        .select((eb) => eb.fn.max('created_at').as('at'))
        .where('conversation_id', '=', conversationId)
        .where('role', '=', 'customer'),
    );
    const message = this.sync.first(
      this.db
        .selectFrom('events')
        .select((eb) => eb.fn.max('events.created_at').as('at'))
        .where('events.conversation_id', '=', conversationId)
        .where('events.author_role', '=', 'customer')
        .where('events.kind', '=', 'message')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('channel_messages')
                .select('channel_messages.seq')
                .whereRef('channel_messages.conversation_id', '=', 'events.conversation_id')
                .whereRef('channel_messages.seq', '=', 'events.seq'),
            ),
          ),
        ),
    );
    const times = [session?.at, message?.at].filter((t): t is number => typeof t === 'number');
    return times.length === 0 ? null : Math.max(...times);
  }

  async touchInbound(identityId: string, at: number): Promise<void> {
    this.sync.run(
      this.db
        .updateTable('channel_identities')
        .set({ last_inbound_at: at })
        .where('id', '=', identityId)
        .where((eb) => eb.or([eb('last_inbound_at', 'is', null), eb('last_inbound_at', '<', at)])),
    );
  }

  async insertDelivery(platform: PublicChannel, body: Buffer): Promise<{ id: number; created: boolean }> {
    const sha = createHash('sha256').update(body).digest('hex');
    return this.sync.transaction(() => {
      const changed = this.sync.run(
        this.db
          .insertInto('channel_inbox')
          .values({
            platform,
            body_sha256: sha,
            body,
            status: 'pending',
            reason: null,
            received_at: this.clock(),
            processed_at: null,
          })
          .onConflict((oc) => oc.columns(['platform', 'body_sha256']).doNothing()),
      );
      const row = this.sync.first(
        this.db.selectFrom('channel_inbox').select('id').where('platform', '=', platform).where('body_sha256', '=', sha),
      );
      if (!row || row.id === null) throw new Error('delivery not stored');
      return { id: row.id, created: changed > 0 };
    });
  }

  async insertUnreadableDelivery(platform: PublicChannel, reason: string): Promise<{ id: number; created: boolean }> {
    const now = this.clock();
    return this.sync.transaction(() => {
      // No body, so nothing to dedupe by: each such delivery is its own row.
      const key = `unreadable:${randomId('dlv')}`;
      this.sync.run(
        this.db
          .insertInto('channel_inbox')
          .values({ platform, body_sha256: key, body: Buffer.alloc(0), status: 'failed', reason, received_at: now, processed_at: now }),
      );
      const row = this.sync.first(this.db.selectFrom('channel_inbox').select('id').where('platform', '=', platform).where('body_sha256', '=', key));
      if (!row || row.id === null) throw new Error('delivery not stored');
      return { id: row.id, created: true };
    });
  }

  async getDelivery(id: number): Promise<InboxRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('channel_inbox').selectAll().where('id', '=', id));
    return row && toInbox(row);
  }

  async pendingDeliveries(limit: number): Promise<InboxRecord[]> {
    return this.sync
      .all(this.db.selectFrom('channel_inbox').selectAll().where('status', '=', 'pending').orderBy('id', 'asc').limit(limit))
      .map(toInbox);
  }

  async markDelivery(id: number, status: Exclude<InboxStatus, 'pending'>, reason: string | null): Promise<void> {
    this.sync.run(
      this.db.updateTable('channel_inbox').set({ status, reason, processed_at: this.clock() }).where('id', '=', id),
    );
  }

  async purgeDeliveries(input: { processedBefore: number; failedBefore: number }): Promise<number> {
    return this.sync.transaction(
      () =>
        this.sync.run(
          this.db.deleteFrom('channel_inbox').where('status', '=', 'processed').where('processed_at', '<', input.processedBefore),
        ) +
        this.sync.run(this.db.deleteFrom('channel_inbox').where('status', '=', 'failed').where('processed_at', '<', input.failedBefore)),
    );
  }

  async findMessage(platform: PublicChannel, platformMessageId: string): Promise<{ conversationId: string; seq: number } | undefined> {
    const row = this.sync.first(
      this.db
        .selectFrom('channel_messages')
        .select(['conversation_id', 'seq'])
        .where('platform', '=', platform)
        .where('platform_message_id', '=', platformMessageId),
    );
    return row && { conversationId: row.conversation_id, seq: row.seq };
  }

  async recordMessage(input: {
    platform: PublicChannel;
    platformMessageId: string;
    inboxId: number;
    conversationId: string;
    seq: number;
  }): Promise<boolean> {
    const changed = this.sync.run(
      this.db
        .insertInto('channel_messages')
        .values({
          platform: input.platform,
          platform_message_id: input.platformMessageId,
          inbox_id: input.inboxId,
          conversation_id: input.conversationId,
          seq: input.seq,
          created_at: this.clock(),
        })
        .onConflict((oc) => oc.columns(['platform', 'platform_message_id']).doNothing()),
    );
    return changed > 0;
  }

  async enqueueOutbound(input: { conversationId: string; seq: number; identityId: string; text: string }): Promise<boolean> {
    return this.#enqueueSync(input);
  }

  #enqueueSync(input: { conversationId: string; seq: number; identityId: string; text: string }): boolean {
    const now = this.clock();
    const changed = this.sync.run(
      this.db
        .insertInto('channel_outbox')
        .values({
          conversation_id: input.conversationId,
          seq: input.seq,
          identity_id: input.identityId,
          text: input.text,
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          last_error: null,
          created_at: now,
          sent_at: null,
        })
        .onConflict((oc) => oc.columns(['conversation_id', 'seq']).doNothing()),
    );
    return changed > 0;
  }

  async dueOutbound(now: number, limit: number): Promise<OutboxRecord[]> {
    return this.sync
      .all(
        this.db
          .selectFrom('channel_outbox')
          .selectAll()
          .where('status', '=', 'pending')
          .where('next_attempt_at', '<=', now)
          .orderBy('id', 'asc')
          .limit(limit),
      )
      .map(toOutbox);
  }

  async getOutbound(id: number): Promise<OutboxRecord | undefined> {
    const row = this.sync.first(this.db.selectFrom('channel_outbox').selectAll().where('id', '=', id));
    return row && toOutbox(row);
  }

  async markOutboundSent(id: number, attempts: number): Promise<void> {
    this.sync.run(
      this.db.updateTable('channel_outbox').set({ status: 'sent', attempts, sent_at: this.clock(), last_error: null }).where('id', '=', id),
    );
  }

  async rescheduleOutbound(id: number, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    this.sync.run(
      this.db.updateTable('channel_outbox').set({ attempts, next_attempt_at: nextAttemptAt, last_error: error }).where('id', '=', id),
    );
  }

  async markOutboundFailed(id: number, attempts: number, error: string): Promise<void> {
    this.sync.run(this.db.updateTable('channel_outbox').set({ status: 'failed', attempts, last_error: error }).where('id', '=', id));
  }
}

function parsePublicChannel(value: string): PublicChannel {
  if ((PUBLIC_CHANNELS as readonly string[]).includes(value)) return value as PublicChannel;
  throw new Error('unknown channel in store');
}

function toIdentity(row: Selectable<ChannelIdentitiesTable>): ChannelIdentityRecord {
  return {
    id: row.id,
    channel: parsePublicChannel(row.channel),
    platformUserId: row.platform_user_id,
    customerId: row.customer_id,
    conversationId: row.conversation_id,
    lastInboundAt: row.last_inbound_at,
  };
}

function toInbox(row: Selectable<ChatDatabase['channel_inbox']>): InboxRecord {
  return {
    id: row.id ?? 0,
    platform: parsePublicChannel(row.platform),
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.from(row.body),
    status: row.status as InboxStatus,
    reason: row.reason,
    receivedAt: row.received_at,
  };
}

function toOutbox(row: Selectable<ChannelOutboxTable>): OutboxRecord {
  return {
    id: row.id ?? 0,
    conversationId: row.conversation_id,
    seq: row.seq,
    identityId: row.identity_id,
    text: row.text,
    status: row.status as OutboxRecord['status'],
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
  };
}
