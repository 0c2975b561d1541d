/**
 * Token buckets for incoming WebSocket frames, shared by every socket of one customer (all their
 * sessions) or one agent: opening more sockets, or more sessions for a signed-in customer, does
 * not buy more throughput.
 *
 * A bucket holds WS_MAX_MESSAGES_PER_SECOND tokens and refills at that rate. A frame with no
 * token is dropped (the client gets RATE_LIMITED). When more than {@link WS_ABUSE_DROPS} frames
 * of one bucket are dropped within {@link WS_ABUSE_WINDOW_MS}, the socket that sent the last one
 * is judged abusive and closed with 4029. Time is the server's injectable clock.
 *
 * @module
 */
import { WS_MAX_MESSAGES_PER_SECOND } from '../../protocol/chat.ts';
import type { Clock } from '../lib/clock.ts';
import type { SessionRecord } from '../store/store.ts';

/** Dropped frames tolerated within the abuse window before the connection is closed. */
export const WS_ABUSE_DROPS = 2 * WS_MAX_MESSAGES_PER_SECOND;
export const WS_ABUSE_WINDOW_MS = 5000;

export type RateDecision = 'ok' | 'limited' | 'abusive';

export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #drops = 0;

  constructor(ratePerSecond: number = WS_MAX_MESSAGES_PER_SECOND, now: () => number = () => performance.now()) {
    this.#capacity = ratePerSecond;
    this.#perMs = ratePerSecond / 1000;
    this.#now = now;
    this.#tokens = ratePerSecond;
    this.#last = now();
  }

  /** When the bucket was last used; once full again it is as good as a new one. */
  get last(): number {
    return this.#last;
  }

  take(): RateDecision {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + Math.max(0, now - this.#last) * this.#perMs);
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 'ok';
    }
    if (now - this.#windowStart > WS_ABUSE_WINDOW_MS) {
      this.#windowStart = now;
      this.#drops = 0;
    }
    this.#drops += 1;
    return this.#drops > WS_ABUSE_DROPS ? 'abusive' : 'limited';
  }
}

/** Whose budget a socket draws on: the customer (every session of theirs), else the agent, else the session. */
export function budgetKey(session: Pick<SessionRecord, 'id' | 'role' | 'customerId' | 'agentId'>): string {
  if (session.role === 'customer' && session.customerId !== null) return `customer:${session.customerId}`;
  if (session.role === 'agent' && session.agentId !== null) return `agent:${session.agentId}`;
  return `session:${session.id}`;
}

/**
 * The shared buckets of one server, by {@link budgetKey}. A bucket stays while a socket uses it
 * and until it could have refilled after the last one closed (closing and reopening sockets does
 * not reset a budget), then it is dropped.
 */
export class SharedBudgets {
  readonly #clock: Clock;
  readonly #entries = new Map<string, { bucket: TokenBucket; sockets: number }>();
  #prunedAt = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The bucket for `key`, counted as used by one more socket until {@link release}. */
  acquire(key: string): TokenBucket {
    this.#prune();
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { bucket: new TokenBucket(WS_MAX_MESSAGES_PER_SECOND, this.#clock), sockets: 0 };
      this.#entries.set(key, entry);
    }
    entry.sockets += 1;
    return entry.bucket;
  }

  release(key: string): void {
    const entry = this.#entries.get(key);
    if (entry) entry.sockets = Math.max(0, entry.sockets - 1);
  }

  /** Buckets kept (tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** At most once per abuse window, so a connection costs O(1) amortised. */
  #prune(): void {
    const now = this.#clock();
    if (now - this.#prunedAt < WS_ABUSE_WINDOW_MS) return;
    this.#prunedAt = now;
    for (const [key, entry] of this.#entries) {
      if (entry.sockets === 0 && now - entry.bucket.last > WS_ABUSE_WINDOW_MS) this.#entries.delete(key);
    }
  }
}
