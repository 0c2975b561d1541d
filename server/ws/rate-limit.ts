/**
 * Per-connection token bucket for incoming WebSocket frames.
 *
 * The bucket holds WS_MAX_MESSAGES_PER_SECOND tokens and refills at that rate. A frame with no
 * token is dropped (the client gets RATE_LIMITED). When more than {@link WS_ABUSE_DROPS} frames
 * are dropped within {@link WS_ABUSE_WINDOW_MS}, the connection is judged abusive and closed
 * with 4029.
 *
 * @module
 */
import { WS_MAX_MESSAGES_PER_SECOND } from '../../protocol/chat.ts';

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
  #windowStart = 0;
  #drops = 0;

  constructor(ratePerSecond: number = WS_MAX_MESSAGES_PER_SECOND, now: () => number = () => performance.now()) {
    this.#capacity = ratePerSecond;
    this.#perMs = ratePerSecond / 1000;
    this.#now = now;
    this.#tokens = ratePerSecond;
    this.#last = now();
  }

  take(): RateDecision {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#perMs);
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
