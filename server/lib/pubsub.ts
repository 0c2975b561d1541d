/**
 * Fan-out of live updates to the sockets of this process. Behind an interface so that a Redis
 * implementation (`REDIS_URL`) can carry the same JSON messages between chat server instances.
 *
 * Topics: one per conversation ({@link conversationTopic}) for its events and acr changes,
 * {@link AGENTS_TOPIC} for conversation summaries every agent console receives, and one per
 * session ({@link sessionTopic}) for its sign-out.
 *
 * @module
 */
import type { ConversationEvent, ConversationSummary } from '../../protocol/chat.ts';
import type { Acr } from '../../protocol/pivot-token.ts';

export type BusMessage =
  | { readonly type: 'event'; readonly event: ConversationEvent }
  | { readonly type: 'acr'; readonly conversationId: string; readonly acr: Acr }
  | { readonly type: 'summary'; readonly summary: ConversationSummary }
  | { readonly type: 'revoked'; readonly sessionId: string };

export type BusHandler = (message: BusMessage) => void;

export interface PubSub {
  publish(topic: string, message: BusMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(topic: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export const AGENTS_TOPIC = 'agents';

export function conversationTopic(conversationId: string): string {
  return `cnv:${conversationId}`;
}

/** One per session: its sign-out closes the sockets opened with it, on every instance. */
export function sessionTopic(sessionId: string): string {
  return `ses:${sessionId}`;
}

/** Single-process pub/sub; handlers run synchronously in subscription order. */
export class MemoryPubSub implements PubSub {
  readonly #topics = new Map<string, Set<BusHandler>>();

  publish(topic: string, message: BusMessage): void {
    const handlers = this.#topics.get(topic);
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        handler(message);
      } catch {
        // One broken subscriber must not stop delivery to the others.
      }
    }
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    let handlers = this.#topics.get(topic);
    if (!handlers) {
      handlers = new Set();
      this.#topics.set(topic, handlers);
    }
    handlers.add(handler);
    return () => {
      const set = this.#topics.get(topic);
      if (!set) return;
      set.delete(handler);
      if (set.size === 0) this.#topics.delete(topic);
    };
  }

  /** Number of handlers on a topic (tests, metrics). */
  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  async close(): Promise<void> {
    this.#topics.clear();
  }
}
