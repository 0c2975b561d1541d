/**
 * Reconnect delays: exponential backoff with full jitter, so that a restarted chat server is not
 * hit by every widget on the same tick.
 *
 * @module
 */

/** First reconnect waits up to this long, in milliseconds. */
export const RECONNECT_BASE_DELAY_MS = 500;
/** No reconnect waits longer than this, in milliseconds. */
export const RECONNECT_MAX_DELAY_MS = 30_000;

/**
 * Delay before reconnect attempt `attempt` (0 = first retry): a uniformly random value in
 * `[cap/2, cap]` where `cap = min(max, base * 2^attempt)`. Half the cap is kept so that a burst
 * of failures still spreads out instead of collapsing to zero.
 *
 * @example backoffDelay(0, () => 1) // 500
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  base = RECONNECT_BASE_DELAY_MS,
  max = RECONNECT_MAX_DELAY_MS,
): number {
  const cap = Math.min(max, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(cap / 2 + (cap / 2) * random());
}
