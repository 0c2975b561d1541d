/**
 * One WebSocket connection of `/v1/ws`, after the upgrade (the ticket, session, Origin and the
 * session's socket count were checked before it, in ws/route.ts).
 *
 * Incoming frames are rate limited on the budget this socket shares with every other socket of
 * its customer (ws/rate-limit.ts), parsed (JSON + ClientFrameSchema) and handled one at a time,
 * in order. Outgoing frames go through {@link SocketSession.send}, which drops a client that
 * stops reading (bufferedAmount over WS_MAX_BUFFERED_BYTES).
 *
 * A customer session may have no conversation yet: `hello` says null, a `resume` answers
 * `replayed` with nothing, and the first `send` creates the conversation, once, even when two
 * sockets of the session race (store `startForSession`). A socket of the same session that did
 * not create it finds it on its next frame (the widget pings every 25 s) and replays it from the
 * start, so another tab misses nothing.
 *
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import * as v from 'valibot';
import {
  ClientFrameSchema,
  MESSAGE_MAX_CHARS,
  REPLAY_PAGE_SIZE,
  WS_CLOSE,
  type ClientFrame,
  type ConversationEvent,
  type ServerFrame,
} from '../../protocol/chat.ts';
import { ERROR_CATALOG, PivotError, type ErrorCode } from '../../protocol/errors.ts';
import type { Acr } from '../../protocol/pivot-token.ts';
import type { ChatContext } from '../context.ts';
import { AGENTS_TOPIC, conversationTopic, sessionTopic, type BusMessage } from '../lib/pubsub.ts';
import { randomId } from '../lib/ids.ts';
import type { SessionRecord } from '../store/store.ts';
import { ConversationFeed } from './feed.ts';
import type { TokenBucket } from './rate-limit.ts';

/** Unread output a client may accumulate before it is disconnected, in bytes. */
export const WS_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Conversations one agent socket may follow at once; the least recently resumed is dropped. */
export const WS_MAX_AGENT_FEEDS = 100;
/** Frames waiting to be handled on one connection before new ones are refused. */
export const WS_MAX_QUEUED_FRAMES = 64;

export interface ConnectionIdentity {
  readonly session: SessionRecord;
  /** Author name of this socket's messages. */
  readonly name: string;
  /** The frame budget this socket shares (ws/rate-limit.ts SharedBudgets). */
  readonly bucket: TokenBucket;
}

export class SocketSession {
  readonly #socket: WebSocket;
  readonly #ctx: ChatContext;
  readonly #log: FastifyBaseLogger;
  readonly #session: SessionRecord;
  readonly #name: string;
  readonly #bucket: TokenBucket;
  readonly #feeds = new Map<string, ConversationFeed>();
  #acr: Acr;
  /** A customer's conversation; null until its first message (or another socket's) creates it. */
  #conversationId: string | null;
  #agentsUnsubscribe: (() => void) | null = null;
  #sessionUnsubscribe: (() => void) | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #closed = false;
  /** Set by the heartbeat: false until the client answers the last ping. */
  alive = true;

  constructor(socket: WebSocket, ctx: ChatContext, identity: ConnectionIdentity, log: FastifyBaseLogger) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#log = log;
    this.#session = identity.session;
    this.#name = identity.name;
    this.#bucket = identity.bucket;
    this.#acr = identity.session.acr;
    this.#conversationId = identity.session.role === 'customer' ? identity.session.conversationId : null;
  }

  get socket(): WebSocket {
    return this.#socket;
  }

  start(): void {
    const socket = this.#socket;
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', () => this.#cleanup());
    socket.on('pong', () => {
      this.alive = true;
    });

    const msLeft = this.#session.expiresAt - this.#ctx.clock();
    this.#expiryTimer = setTimeout(() => this.close(WS_CLOSE.SESSION_EXPIRED, 'session expired'), Math.max(0, Math.min(msLeft, 2 ** 31 - 1)));
    this.#expiryTimer.unref();

    // Signing out ends the session's sockets too, wherever they are (auth/sessions.ts revokeSession).
    this.#sessionUnsubscribe = this.#ctx.bus.subscribe(sessionTopic(this.#session.id), (message) => {
      if (message.type === 'revoked') this.close(WS_CLOSE.SESSION_EXPIRED, 'session revoked');
    });

    const conversationId = this.#conversationId;
    this.send({
      type: 'hello',
      role: this.#session.role,
      conversationId,
      acr: this.#session.role === 'customer' ? this.#acr : null,
    });
    if (conversationId !== null) this.#feed(conversationId);
    if (this.#session.role === 'agent') {
      this.#agentsUnsubscribe = this.#ctx.bus.subscribe(AGENTS_TOPIC, (message) => this.#onBus(message));
    }
  }

  send(frame: ServerFrame): void {
    const socket = this.#socket;
    if (this.#closed || socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > WS_MAX_BUFFERED_BYTES) {
      this.close(WS_CLOSE.POLICY, 'too slow');
      return;
    }
    socket.send(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#cleanup();
    this.#socket.close(code, reason);
  }

  #sendError(code: ErrorCode, clientMsgId?: string, message?: string): void {
    this.send({
      type: 'error',
      code,
      message: message ?? ERROR_CATALOG[code].message,
      ...(clientMsgId !== undefined ? { clientMsgId } : {}),
    });
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    const decision = this.#bucket.take();
    if (decision === 'abusive') {
      this.close(WS_CLOSE.RATE_LIMITED, 'rate limited');
      return;
    }
    if (decision === 'limited' || this.#queued >= WS_MAX_QUEUED_FRAMES) {
      this.#sendError('RATE_LIMITED');
      return;
    }
    if (this.#ctx.clock() >= this.#session.expiresAt) {
      this.close(WS_CLOSE.SESSION_EXPIRED, 'session expired');
      return;
    }
    if (isBinary) {
      this.#sendError('FRAME_INVALID');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(rawText(data));
    } catch {
      this.#sendError('FRAME_INVALID');
      return;
    }
    const parsed = v.safeParse(ClientFrameSchema, json);
    if (!parsed.success) {
      this.#sendError('FRAME_INVALID', clientMsgIdOf(json));
      return;
    }
    const frame = parsed.output;
    this.#queued += 1;
    this.#queue = this.#queue
      .then(() => this.#handle(frame))
      .catch((err: unknown) => {
        const clientMsgId = frame.type === 'send' ? frame.clientMsgId : undefined;
        if (err instanceof PivotError) {
          this.#sendError(err.code, clientMsgId, err.message);
        } else {
          this.#log.error({ err }, 'ws frame failed');
          this.#sendError('INTERNAL_ERROR', clientMsgId);
        }
      })
      .finally(() => {
        this.#queued -= 1;
      });
  }

  async #handle(frame: ClientFrame): Promise<void> {
    if (this.#closed) return;
    if (this.#session.role === 'customer' && this.#conversationId === null) await this.#followStarted(frame.type !== 'resume');
    switch (frame.type) {
      case 'ping':
        this.send({ type: 'pong' });
        return;
      case 'send': {
        const conversationId = (await this.#target(frame.conversationId)) ?? (await this.#start(frame.text));
        const { seq } = await this.#ctx.service.postMessage({
          conversationId,
          author: { role: this.#session.role, name: this.#name },
          clientMsgId: frame.clientMsgId,
          text: frame.text,
        });
        this.send({ type: 'ack', clientMsgId: frame.clientMsgId, seq });
        return;
      }
      case 'resume': {
        const conversationId = await this.#target(frame.conversationId);
        // Not written in yet: nothing to replay, and the client may go live.
        if (conversationId === null) this.send({ type: 'replayed', conversationId: null, lastSeq: 0 });
        else await this.#resume(conversationId, frame.after);
        return;
      }
    }
  }

  /** The conversation a frame addresses: the customer's own (null before it exists), or the one an agent names. */
  async #target(requested: string | undefined): Promise<string | null> {
    if (this.#session.role === 'customer') {
      const own = this.#conversationId;
      if (requested !== undefined && requested !== own) throw new PivotError('FORBIDDEN');
      return own;
    }
    if (requested === undefined) throw new PivotError('FRAME_INVALID', 'Agents must name the conversation.');
    if (!(await this.#ctx.store.conversations.get(requested))) throw new PivotError('CONVERSATION_NOT_FOUND');
    return requested;
  }

  /**
   * The customer's first message: creates the session's conversation (or finds the one another
   * socket of the session just created) and follows it. A message that would be refused creates
   * nothing: an empty conversation is no use to anyone.
   */
  async #start(text: string): Promise<string> {
    if (text.length > MESSAGE_MAX_CHARS) throw new PivotError('MESSAGE_TOO_LONG');
    if (text.trim() === '') throw new PivotError('BAD_REQUEST', 'The message is empty.');
    // Followed before it exists, so no event of it can be published unseen by this socket.
    const id = randomId('cnv');
    this.#feed(id);
    const started = await this.#ctx.store.conversations.startForSession(this.#session.id, id);
    if (!started || started.conversation.id !== id) this.#unfollow(id);
    if (!started) throw new PivotError('CONVERSATION_NOT_FOUND');
    this.#conversationId = started.conversation.id;
    if (!started.created) await this.#resume(started.conversation.id, 0);
    return started.conversation.id;
  }

  /** Another socket of this session may have started the conversation: follow it (and, unless the client is about to resume, replay it). */
  async #followStarted(replay: boolean): Promise<void> {
    const session = await this.#ctx.store.sessions.get(this.#session.id);
    if (!session?.conversationId || this.#conversationId !== null) return;
    this.#conversationId = session.conversationId;
    if (replay) await this.#resume(session.conversationId, 0);
    else this.#feed(session.conversationId);
  }

  #unfollow(conversationId: string): void {
    this.#feeds.get(conversationId)?.unsubscribe();
    this.#feeds.delete(conversationId);
  }

  async #resume(conversationId: string, after: number): Promise<void> {
    const feed = this.#feed(conversationId);
    feed.beginReplay();
    let cursor = after;
    try {
      for (;;) {
        const page = await this.#ctx.store.events.list(conversationId, cursor, REPLAY_PAGE_SIZE);
        if (this.#closed) return feed.abortReplay();
        for (const event of page) {
          feed.replayed(event);
          cursor = event.seq;
        }
        if (page.length < REPLAY_PAGE_SIZE) break;
        await this.#drained();
      }
    } catch (err) {
      feed.abortReplay();
      throw err;
    }
    let lastSeq = cursor;
    if (cursor === after) {
      // Nothing newer: report what exists, so a client that claims too much can tell.
      const conversation = await this.#ctx.store.conversations.get(conversationId);
      lastSeq = Math.min(after, conversation?.lastSeq ?? 0);
    }
    this.send({ type: 'replayed', conversationId, lastSeq });
    feed.endReplay(lastSeq);
  }

  /** Waits (briefly) for the socket to flush before the next replay page. */
  async #drained(): Promise<void> {
    for (let i = 0; i < 500 && !this.#closed && this.#socket.bufferedAmount > WS_MAX_BUFFERED_BYTES / 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  #feed(conversationId: string): ConversationFeed {
    const existing = this.#feeds.get(conversationId);
    if (existing) {
      // Most recently used last, for eviction.
      this.#feeds.delete(conversationId);
      this.#feeds.set(conversationId, existing);
      return existing;
    }
    if (this.#feeds.size >= WS_MAX_AGENT_FEEDS) {
      const [oldestId, oldest] = this.#feeds.entries().next().value!;
      oldest.unsubscribe();
      this.#feeds.delete(oldestId);
    }
    const feed = new ConversationFeed(conversationId, (event: ConversationEvent) => this.send({ type: 'event', event }));
    feed.unsubscribe = this.#ctx.bus.subscribe(conversationTopic(conversationId), (message) => {
      if (message.type === 'event') feed.live(message.event);
      else this.#onBus(message);
    });
    this.#feeds.set(conversationId, feed);
    return feed;
  }

  #onBus(message: BusMessage): void {
    switch (message.type) {
      case 'summary':
        if (this.#session.role === 'agent') this.send({ type: 'conversation', conversation: message.summary });
        return;
      case 'acr':
        if (this.#session.role === 'customer' && message.conversationId === this.#conversationId) {
          this.#acr = message.acr;
          this.send({ type: 'session', acr: message.acr });
        }
        return;
      case 'event':
      case 'revoked':
        return;
    }
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    for (const feed of this.#feeds.values()) feed.unsubscribe();
    this.#feeds.clear();
    this.#agentsUnsubscribe?.();
    this.#sessionUnsubscribe?.();
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function clientMsgIdOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || !('clientMsgId' in json)) return undefined;
  const id = (json as { clientMsgId: unknown }).clientMsgId;
  return typeof id === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(id) ? id : undefined;
}
