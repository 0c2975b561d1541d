/**
 * The public channels of one chat server: the {@link ChannelGateway} the rest of the server uses,
 * the processor of the durable webhook inbox, and the outbox that relays agent messages.
 *
 * Inbound: a webhook route verifies the signature; {@link ChannelService.receive} stores what the
 * adapter admits of the delivery (channel_inbox: card numbers masked, other pages' parts dropped);
 * {@link ChannelService.processInbox} then turns each message into a customer `message` event of
 * the identity's conversation. It runs right after each insert, at start (rows left pending by a
 * restart) and on a timer. Each message is processed once: (platform, message id) is UNIQUE in
 * channel_messages, and the event's clientMsgId is derived from the same id, so a crash between
 * the two steps cannot duplicate it.
 *
 * Outbound: every agent message of a channel conversation is queued (channel_outbox) in the
 * transaction that stores it (server/store/channels.ts queueRelaySync: a crash cannot keep the
 * message and lose its relay), and sent by {@link ChannelService.processOutbox} right after,
 * at start (rows left pending by a restart) and on a timer, with exponential backoff; after the
 * last attempt (or at once when retrying cannot help) the agent is told by a `system` event.
 * Links ({@link ChannelService.sendLink}) are sent at once: the agent waits for the answer.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { MESSAGE_MAX_CHARS, type ConversationEvent } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { CHANNEL_LABELS } from '../../protocol/platforms.ts';
import type { ChatService } from '../conversations/chat-service.ts';
import type { Clock } from '../lib/clock.ts';
import { maskCardNumbers } from '../conversations/mask.ts';
import type { ChannelIdentityRecord, InboxRecord, OutboxRecord, PublicChannel } from '../store/channels.ts';
import type { ChatStore } from '../store/store.ts';
import { ChannelSendError, MalformedDelivery, type ChannelAdapter, type InboundMessage, type SendContext } from './adapter.ts';
import type { ChannelsConfig } from './config.ts';
import type { ChannelGateway, ChannelIdentity, OutboundLink } from './gateway.ts';
import { MessengerAdapter } from './messenger.ts';
import { TwilioSmsAdapter } from './sms.ts';
import { WhatsAppAdapter } from './whatsapp.ts';

/** Inbox rows read per pass. */
export const INBOX_BATCH_SIZE = 50;
/** Interval of the inbox sweep (rows whose immediate run was missed), in ms. */
export const INBOX_SWEEP_INTERVAL_MS = 5_000;
/** Outbox rows sent per pass. */
export const OUTBOX_BATCH_SIZE = 20;
/** Interval at which due outbox rows are sent, in ms. */
export const OUTBOX_POLL_INTERVAL_MS = 1_000;
/** Attempts of one relayed message before the agent is told it failed. */
export const OUTBOX_MAX_ATTEMPTS = 8;
/** Delay before the second attempt, in ms; it doubles with every further attempt. */
export const OUTBOX_BACKOFF_BASE_MS = 2_000;
/** Longest delay between two attempts, in ms. */
export const OUTBOX_BACKOFF_MAX_MS = 10 * 60 * 1000;

/** Delay after failed attempt number `attempts` (1-based). */
export function outboxBackoffMs(attempts: number): number {
  return Math.min(OUTBOX_BACKOFF_MAX_MS, OUTBOX_BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

/** The event clientMsgId of a platform message: stable, and fits ClientMsgIdSchema. */
export function inboundClientMsgId(channel: PublicChannel, platformMessageId: string): string {
  return `ch_${createHash('sha256').update(`${channel}\u0000${platformMessageId}`).digest('base64url').slice(0, 40)}`;
}

/** Text of the `system` event when a relayed message could not be delivered. */
export function relayFailedText(channel: PublicChannel, error: ChannelSendError): string {
  const why =
    error.code === 'CHANNEL_WINDOW_CLOSED'
      ? "WhatsApp's 24-hour window is closed; the customer has to write first"
      : `${CHANNEL_LABELS[channel]} did not accept it`;
  return `A message was not delivered on ${CHANNEL_LABELS[channel]}: ${why}.`;
}

/** Runs `task` one pass at a time; calls made during a pass share one follow-up pass. */
class SerialRunner {
  readonly #task: () => Promise<void>;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(task: () => Promise<void>) {
    this.#task = task;
  }

  run(): Promise<void> {
    if (this.#next) return this.#next;
    if (!this.#running) {
      this.#running = this.#task().finally(() => (this.#running = null));
      return this.#running;
    }
    const after = this.#running;
    this.#next = after.then(() => {
      this.#next = null;
      return this.run();
    });
    return this.#next;
  }

  idle(): Promise<void> {
    return (this.#next ?? this.#running ?? Promise.resolve()).catch(() => undefined);
  }
}

/** What became of a verified delivery. */
export interface ReceivedDelivery {
  /** The inbox row, or null when nothing in the delivery was for this bank. */
  readonly stored: { readonly id: number; readonly created: boolean } | null;
  /** Ids of the other pages / numbers / accounts whose parts were dropped. */
  readonly foreign: readonly string[];
  /** Why the body could not be decoded (kept as failed, without content), or null. */
  readonly unreadable: string | null;
}

export interface ChannelServiceDeps {
  readonly config: ChannelsConfig;
  readonly store: ChatStore;
  readonly log: FastifyBaseLogger;
  readonly clock: Clock;
  /** The conversation service (given lazily: it is built with this service's relay hook). */
  readonly service: () => ChatService;
}

export class ChannelService implements ChannelGateway {
  readonly #deps: ChannelServiceDeps;
  readonly #adapters: ReadonlyMap<PublicChannel, ChannelAdapter>;
  readonly #inbox = new SerialRunner(() => this.#drainInbox());
  readonly #outbox = new SerialRunner(() => this.#drainOutbox());
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = false;

  constructor(deps: ChannelServiceDeps) {
    this.#deps = deps;
    const adapters = new Map<PublicChannel, ChannelAdapter>();
    if (deps.config.messenger) adapters.set('messenger', new MessengerAdapter(deps.config.messenger));
    if (deps.config.whatsapp) adapters.set('whatsapp', new WhatsAppAdapter(deps.config.whatsapp));
    if (deps.config.sms) adapters.set('sms', new TwilioSmsAdapter(deps.config.sms));
    this.#adapters = adapters;
  }

  /** The platform's adapter, or null when it is not configured. */
  adapter(channel: PublicChannel): ChannelAdapter | null {
    return this.#adapters.get(channel) ?? null;
  }

  /** Processes what a previous run left pending, then keeps sweeping both queues. */
  start(): void {
    this.#stopped = false;
    this.#background(this.processInbox(), 'inbox');
    this.#background(this.processOutbox(), 'outbox');
    const inbox = setInterval(() => this.#background(this.processInbox(), 'inbox'), INBOX_SWEEP_INTERVAL_MS);
    const outbox = setInterval(() => this.#background(this.processOutbox(), 'outbox'), OUTBOX_POLL_INTERVAL_MS);
    inbox.unref();
    outbox.unref();
    this.#timers.push(inbox, outbox);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    await Promise.all([this.#inbox.idle(), this.#outbox.idle()]);
  }

  /**
   * Admits a verified delivery (card numbers masked, other pages' parts dropped), stores what is
   * left (once per identical body) and starts processing it. Nothing is stored when nothing in it
   * is for this bank; a body that cannot be decoded is stored as failed, without its content.
   */
  async receive(channel: PublicChannel, raw: Buffer): Promise<ReceivedDelivery> {
    const adapter = this.adapter(channel);
    if (!adapter) throw new PivotError('CHANNEL_NOT_CONFIGURED');
    const admitted = adapter.admitDelivery(raw);
    if (admitted.kind === 'foreign') return { stored: null, foreign: admitted.foreign, unreadable: null };
    if (admitted.kind === 'unreadable') {
      const stored = await this.#deps.store.channels.insertUnreadableDelivery(channel, admitted.reason);
      return { stored, foreign: [], unreadable: admitted.reason };
    }
    const stored = await this.#deps.store.channels.insertDelivery(channel, admitted.body);
    if (stored.created) this.#background(this.processInbox(), 'inbox');
    return { stored, foreign: admitted.foreign, unreadable: null };
  }

  /** One pass over the pending inbox rows (resolves when done). */
  processInbox(): Promise<void> {
    return this.#inbox.run();
  }

  /** One pass over the due outbox rows (resolves when done). */
  processOutbox(): Promise<void> {
    return this.#outbox.run();
  }

  /**
   * Relay hook of ChatService, after an agent message is stored: the store queued it already (in
   * the same transaction, when the relay rule says so); this only sends it without waiting for
   * the next poll. Nothing is lost when this never runs (a crash): the start-up pass sends it.
   */
  async relayAgentMessage(event: ConversationEvent): Promise<void> {
    if (event.kind !== 'message' || event.author.role !== 'agent' || this.#stopped) return;
    if (!(await this.#deps.store.channels.identityForConversation(event.conversationId))) return;
    this.#background(this.processOutbox(), 'outbox');
  }

  async identityFor(conversationId: string): Promise<ChannelIdentity | null> {
    const identity = await this.#deps.store.channels.identityForConversation(conversationId);
    return identity ? { id: identity.id, channel: identity.channel, customerId: identity.customerId } : null;
  }

  async sendLink(conversationId: string, link: OutboundLink): Promise<void> {
    await this.#sendNow(conversationId, 'link', (adapter, to, context) => adapter.sendLink(to, link, context));
  }

  async sendPrivateText(conversationId: string, text: string): Promise<void> {
    await this.#sendNow(conversationId, 'private text', (adapter, to, context) => adapter.sendText(to, text, context));
  }

  async sendSms(phone: string, text: string): Promise<void> {
    const adapter = this.adapter('sms');
    if (!adapter) throw new PivotError('CHANNEL_NOT_CONFIGURED');
    try {
      await adapter.sendText(phone, text, { now: this.#deps.clock(), lastInboundAt: null });
    } catch (err) {
      if (err instanceof ChannelSendError) {
        this.#deps.log.warn({ channel: 'sms', code: err.code, status: err.status }, 'channel private text not sent');
        throw new PivotError(err.code);
      }
      throw err;
    }
  }

  /** One send to the conversation's identity, now; the channel's failure becomes its PivotError. */
  async #sendNow(
    conversationId: string,
    what: string,
    send: (adapter: ChannelAdapter, to: string, context: SendContext) => Promise<void>,
  ): Promise<void> {
    const identity = await this.#deps.store.channels.identityForConversation(conversationId);
    if (!identity) throw new PivotError('CHANNEL_NOT_AVAILABLE');
    const adapter = this.adapter(identity.channel);
    if (!adapter) throw new PivotError('CHANNEL_NOT_CONFIGURED');
    try {
      await send(adapter, identity.platformUserId, this.#sendContext(identity));
    } catch (err) {
      if (err instanceof ChannelSendError) {
        this.#deps.log.warn({ conversationId, channel: identity.channel, code: err.code, status: err.status }, `channel ${what} not sent`);
        throw new PivotError(err.code);
      }
      throw err;
    }
  }

  #sendContext(identity: ChannelIdentityRecord) {
    return { now: this.#deps.clock(), lastInboundAt: identity.lastInboundAt };
  }

  #background(run: Promise<void>, what: string): void {
    run.catch((err: unknown) => this.#deps.log.error({ err }, `channel ${what} pass failed`));
  }

  async #drainInbox(): Promise<void> {
    const { store } = this.#deps;
    for (;;) {
      if (this.#stopped) return;
      const rows = await store.channels.pendingDeliveries(INBOX_BATCH_SIZE);
      for (const row of rows) {
        if (this.#stopped) return;
        await this.#processDelivery(row);
      }
      if (rows.length < INBOX_BATCH_SIZE) return;
    }
  }

  async #processDelivery(row: InboxRecord): Promise<void> {
    const { store, log } = this.#deps;
    const adapter = this.adapter(row.platform);
    if (!adapter) {
      await store.channels.markDelivery(row.id, 'failed', 'channel not configured');
      return;
    }
    try {
      const messages = adapter.parseDelivery(row.body);
      for (const message of messages) await this.#ingest(adapter, row, message);
      await store.channels.markDelivery(row.id, 'processed', null);
    } catch (err) {
      const reason = err instanceof MalformedDelivery ? err.message : err instanceof PivotError ? err.code : 'processing error';
      log.warn({ inboxId: row.id, channel: row.platform, reason, err: err instanceof MalformedDelivery ? undefined : err }, 'channel delivery failed');
      await store.channels.markDelivery(row.id, 'failed', reason);
    }
  }

  async #ingest(adapter: ChannelAdapter, row: InboxRecord, message: InboundMessage): Promise<void> {
    const { store } = this.#deps;
    const channel = adapter.channel;
    if (await store.channels.findMessage(channel, message.platformMessageId)) return;

    let identity = await store.channels.findIdentity(channel, message.platformUserId);
    if (!identity) {
      // The platform's name for the user is the user's own text (a WhatsApp profile name).
      const customer = await store.customers.create({ subject: null, displayName: maskCardNumbers(adapter.displayName(message)) });
      identity = await store.channels.createIdentity({ channel, platformUserId: message.platformUserId, customerId: customer.id });
    }
    let conversationId = identity.conversationId;
    if (conversationId === null) {
      conversationId = (await store.conversations.create(identity.customerId, 'none', channel)).id;
      await store.channels.setIdentityConversation(identity.id, conversationId);
    }
    const customer = await store.customers.get(identity.customerId);
    const { seq } = await this.#deps.service().postMessage({
      conversationId,
      author: { role: 'customer', name: customer?.displayName ?? maskCardNumbers(adapter.displayName(message)) },
      clientMsgId: inboundClientMsgId(channel, message.platformMessageId),
      text: inboundText(message),
      via: channel,
    });
    await store.channels.recordMessage({ platform: channel, platformMessageId: message.platformMessageId, inboxId: row.id, conversationId, seq });
    await store.channels.touchInbound(identity.id, row.receivedAt);
  }

  async #drainOutbox(): Promise<void> {
    const { store, clock } = this.#deps;
    if (this.#stopped) return;
    const rows = await store.channels.dueOutbound(clock(), OUTBOX_BATCH_SIZE);
    for (const row of rows) {
      if (this.#stopped) return;
      await this.#relay(row);
    }
  }

  async #relay(row: OutboxRecord): Promise<void> {
    const { store, log, clock } = this.#deps;
    const attempts = row.attempts + 1;
    const identity = await store.channels.getIdentity(row.identityId);
    const adapter = identity ? this.adapter(identity.channel) : null;
    if (!identity || !adapter) {
      await store.channels.markOutboundFailed(row.id, attempts, 'CHANNEL_NOT_CONFIGURED');
      log.warn({ conversationId: row.conversationId, seq: row.seq, code: 'CHANNEL_NOT_CONFIGURED' }, 'channel relay failed');
      return;
    }
    try {
      await adapter.sendText(identity.platformUserId, row.text, this.#sendContext(identity));
      await store.channels.markOutboundSent(row.id, attempts);
    } catch (err) {
      const error = err instanceof ChannelSendError ? err : new ChannelSendError(null, true);
      if (!(err instanceof ChannelSendError)) log.error({ err }, 'channel relay error');
      const summary = `${error.code}${error.status === null ? '' : ` HTTP ${error.status}`}`;
      const fields = { conversationId: row.conversationId, seq: row.seq, channel: identity.channel, code: error.code, status: error.status, attempts };
      if (error.retryable && attempts < OUTBOX_MAX_ATTEMPTS) {
        await store.channels.rescheduleOutbound(row.id, attempts, clock() + outboxBackoffMs(attempts), summary);
        log.warn(fields, 'channel relay attempt failed; will retry');
        return;
      }
      await store.channels.markOutboundFailed(row.id, attempts, summary);
      log.warn(fields, 'channel relay failed');
      await this.#deps.service().systemEvent(row.conversationId, relayFailedText(identity.channel, error));
    }
  }
}

/** The event text of an inbound message: capped, and a note for kinds the chat does not show. */
export function inboundText(message: InboundMessage): string {
  const text = message.text?.trim() ? message.text : `[${message.type} message: not shown in the chat]`;
  return text.length > MESSAGE_MAX_CHARS ? `${text.slice(0, MESSAGE_MAX_CHARS - 1)}…` : text;
}
