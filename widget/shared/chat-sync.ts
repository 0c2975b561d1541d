/**
 * The delivery logic of one conversation, without a socket: resume-after-seq, an outbox of
 * unacked sends, and deduplication by `seq`. Frames come in through {@link ChatSync.receive},
 * frames go out through the `send` callback, so the whole protocol is testable without a browser.
 *
 * Guarantees it gives its caller:
 * - every event is reported once, however often the server replays it;
 * - a message typed by the user is sent with ONE client message id, resent with that same id after
 *   every reconnect until the server acks it or the stored event shows up in the replay;
 * - nothing is sent on a fresh socket before the replay that follows `resume` is complete, so the
 *   server never sees a resend before it could tell us the message was already stored.
 *
 * @module
 */
import type { ClientFrame, ConversationEvent, ServerFrame } from '../../protocol/chat.ts';
import { newClientMsgId } from './ids.ts';

/** A message the user sent that is not yet visible as a stored event. */
export interface OutboxItem {
  readonly clientMsgId: string;
  readonly text: string;
  /** Set once the server acked it: the seq it was stored under. */
  seq?: number;
}

export interface SyncError {
  readonly code: string;
  readonly message: string;
  /** When the error is about one of our sends: that message, now dropped from the outbox. */
  readonly failed?: OutboxItem;
}

/** What one incoming frame changed. */
export interface SyncUpdate {
  /** Events not seen before, in the order received. */
  readonly events: ConversationEvent[];
  /** The replay that follows a `resume` is complete: the view is up to date. */
  readonly replayed: boolean;
  /** The outbox or the pending list changed (ack, confirmation, failure). */
  readonly pendingChanged: boolean;
  readonly error?: SyncError;
}

const NOTHING: SyncUpdate = { events: [], replayed: false, pendingChanged: false };

export interface ChatSyncOptions {
  /** Agent role: the conversation this sync follows; its frames name it. Customers omit it. */
  conversationId?: string;
  /** Events up to this seq are already known (e.g. fetched over REST). */
  after?: number;
  /** Id generator, replaceable in tests. */
  newId?: () => string;
}

export class ChatSync {
  readonly conversationId: string | undefined;
  #send: (frame: ClientFrame) => void;
  #newId: () => string;
  #events = new Map<number, ConversationEvent>();
  #sorted: ConversationEvent[] | null = [];
  #lastSeq: number;
  /** Sent (or waiting to be sent) and not acked, in the order typed. */
  #outbox: OutboxItem[] = [];
  /** Acked but the stored event not seen yet; still shown to the user. */
  #acked = new Map<string, OutboxItem>();
  #open = false;
  #live = false;

  constructor(send: (frame: ClientFrame) => void, options: ChatSyncOptions = {}) {
    this.#send = send;
    this.conversationId = options.conversationId;
    this.#lastSeq = options.after ?? 0;
    this.#newId = options.newId ?? newClientMsgId;
  }

  /** Highest seq seen: what the next `resume` asks to continue after. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** True between the end of a replay and the socket closing. */
  get live(): boolean {
    return this.#live;
  }

  /** Every event seen, ordered by seq. */
  get events(): readonly ConversationEvent[] {
    if (!this.#sorted) this.#sorted = [...this.#events.values()].sort((a, b) => a.seq - b.seq);
    return this.#sorted;
  }

  /** Messages typed here that are not yet visible as stored events (unacked first-typed first). */
  get pending(): readonly OutboxItem[] {
    return [...this.#acked.values(), ...this.#outbox];
  }

  /** Messages not yet acked by the server. */
  get outbox(): readonly OutboxItem[] {
    return this.#outbox;
  }

  /** A socket opened: ask the server for everything after the last seq we hold. */
  opened(): void {
    this.#open = true;
    this.#live = false;
    this.#send(this.#withConversation({ type: 'resume', after: this.#lastSeq }));
  }

  /** The socket closed: queue sends until the next replay. */
  closed(): void {
    this.#open = false;
    this.#live = false;
  }

  /** Queue a message and send it now if the conversation is live. */
  send(text: string): OutboxItem {
    const item: OutboxItem = { clientMsgId: this.#newId(), text };
    this.#outbox.push(item);
    if (this.#live) this.#sendItem(item);
    return item;
  }

  /** Apply one validated server frame. */
  receive(frame: ServerFrame): SyncUpdate {
    switch (frame.type) {
      case 'event':
        return this.#onEvent(frame.event);
      case 'ack':
        return this.#onAck(frame.clientMsgId, frame.seq);
      case 'replayed':
        if (this.conversationId && frame.conversationId !== this.conversationId) return NOTHING;
        this.#live = this.#open;
        // Whatever the replay did not show as stored goes out again, with the same ids.
        if (this.#live) for (const item of this.#outbox) this.#sendItem(item);
        return { ...NOTHING, replayed: true };
      case 'error':
        return this.#onError(frame.code, frame.message, frame.clientMsgId);
      default:
        return NOTHING;
    }
  }

  #onEvent(event: ConversationEvent): SyncUpdate {
    if (this.conversationId && event.conversationId !== this.conversationId) return NOTHING;
    if (this.#events.has(event.seq)) return NOTHING;
    this.#events.set(event.seq, event);
    this.#sorted = null;
    if (event.seq > this.#lastSeq) this.#lastSeq = event.seq;
    let pendingChanged = false;
    if (event.kind === 'message') {
      pendingChanged = this.#confirm((item) => item.clientMsgId === event.clientMsgId || item.seq === event.seq);
    }
    return { events: [event], replayed: false, pendingChanged };
  }

  #onAck(clientMsgId: string, seq: number): SyncUpdate {
    const index = this.#outbox.findIndex((item) => item.clientMsgId === clientMsgId);
    if (index < 0) return NOTHING;
    const [item] = this.#outbox.splice(index, 1);
    item.seq = seq;
    // The stored event may already have arrived (it travels on the same socket, in any order).
    if (!this.#events.has(seq)) this.#acked.set(clientMsgId, item);
    return { ...NOTHING, pendingChanged: true };
  }

  #onError(code: string, message: string, clientMsgId: string | undefined): SyncUpdate {
    const index = clientMsgId ? this.#outbox.findIndex((item) => item.clientMsgId === clientMsgId) : -1;
    if (index < 0) return { ...NOTHING, error: { code, message } };
    const [failed] = this.#outbox.splice(index, 1);
    return { ...NOTHING, pendingChanged: true, error: { code, message, failed } };
  }

  /** Drop pending items matching `test`; true when any was dropped. */
  #confirm(test: (item: OutboxItem) => boolean): boolean {
    let changed = false;
    for (const [id, item] of this.#acked) {
      if (test(item)) {
        this.#acked.delete(id);
        changed = true;
      }
    }
    const kept = this.#outbox.filter((item) => !test(item));
    if (kept.length !== this.#outbox.length) {
      this.#outbox = kept;
      changed = true;
    }
    return changed;
  }

  #sendItem(item: OutboxItem): void {
    this.#send(this.#withConversation({ type: 'send', clientMsgId: item.clientMsgId, text: item.text }));
  }

  #withConversation<F extends ClientFrame>(frame: F): F {
    return this.conversationId ? { ...frame, conversationId: this.conversationId } : frame;
  }
}
