/**
 * One socket's view of one conversation: live events from the bus, and `resume` replays from
 * the store, merged so that the client receives every event after its `after` exactly once and
 * in seq order, even when live events arrive while a replay is being read.
 *
 * While a replay runs, live events are buffered; when it ends, the buffer is flushed skipping
 * what the replay already sent. Events pushed live before the first resume are remembered (up
 * to {@link FEED_PRE_RESUME_MEMORY}) so the first replay does not send them twice.
 *
 * @module
 */
import type { ConversationEvent } from '../../protocol/chat.ts';

/** Live seqs remembered before the first resume, to avoid duplicates in that replay. */
export const FEED_PRE_RESUME_MEMORY = 1000;

export class ConversationFeed {
  readonly conversationId: string;
  readonly #emit: (event: ConversationEvent) => void;
  #lastSent = 0;
  #replaying = false;
  #resumed = false;
  #buffer: ConversationEvent[] = [];
  readonly #sentLive = new Set<number>();
  unsubscribe: () => void = () => {};

  constructor(conversationId: string, emit: (event: ConversationEvent) => void) {
    this.conversationId = conversationId;
    this.#emit = emit;
  }

  /** A live event from the bus. */
  live(event: ConversationEvent): void {
    if (this.#replaying) {
      this.#buffer.push(event);
      return;
    }
    if (event.seq <= this.#lastSent) return;
    this.#emit(event);
    this.#lastSent = Math.max(this.#lastSent, event.seq);
    if (!this.#resumed && this.#sentLive.size < FEED_PRE_RESUME_MEMORY) this.#sentLive.add(event.seq);
  }

  /** Marks the start of a replay; call synchronously before the first store read. */
  beginReplay(): void {
    this.#replaying = true;
  }

  /** One replayed event, in seq order. */
  replayed(event: ConversationEvent): void {
    if (!this.#resumed && this.#sentLive.has(event.seq)) return;
    this.#emit(event);
  }

  /** Ends the replay at `lastSeq` and flushes what arrived live meanwhile. */
  endReplay(lastSeq: number): void {
    this.#replaying = false;
    this.#resumed = true;
    this.#sentLive.clear();
    this.#lastSent = lastSeq;
    const buffered = this.#buffer.sort((a, b) => a.seq - b.seq);
    this.#buffer = [];
    for (const event of buffered) {
      if (event.seq <= this.#lastSent) continue;
      this.#emit(event);
      this.#lastSent = event.seq;
    }
  }

  /** Abandons a replay that failed (the socket is closing or the store failed). */
  abortReplay(): void {
    this.#replaying = false;
    this.#buffer = [];
  }
}
