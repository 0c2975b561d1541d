/**
 * Tokenize rate limits, against card testing (trying many card numbers until one is accepted):
 *
 * - per pivot token: a card that fails validation does not consume the token (so a typo does
 *   not burn the payment request), which would let its holder try numbers; after
 *   {@link MAX_ATTEMPTS_PER_PIVOT_TOKEN} refused cards the token is refused outright. (Attempts
 *   with a valid card are not counted: the first one consumes the token, and the others get
 *   TOKEN_REPLAYED.)
 * - per client address: a token bucket of `VAULT_TOKENIZE_RATE_PER_MINUTE` requests a minute
 *   with a burst of {@link CLIENT_BURST} (0 disables it, e.g. for load tests).
 *
 * Both answer 429 RATE_LIMITED. State is in memory (one vault process); a pivot token lives at
 * most 5 minutes, so the per-token state is dropped at its `exp`.
 *
 * @module
 */

/** Refused cards allowed per pivot token before the token itself is refused. */
export const MAX_ATTEMPTS_PER_PIVOT_TOKEN = 5;
/** Default sustained tokenize requests per minute per client address. */
export const DEFAULT_TOKENIZE_RATE_PER_MINUTE = 120;
/** Requests a client may make at once before the per-minute rate applies. */
export const CLIENT_BURST = 30;
/** Most client addresses tracked at once (oldest dropped first). */
export const MAX_TRACKED_CLIENTS = 100_000;

export interface AttemptLimiter {
  /** True when `jti` has used up its refused-card allowance. */
  blocked(jti: string, nowS: number): boolean;
  /** Count one refused card for `jti` (valid until `expS`, epoch seconds). */
  failed(jti: string, expS: number, nowS: number): void;
}

export function createAttemptLimiter(max = MAX_ATTEMPTS_PER_PIVOT_TOKEN): AttemptLimiter {
  const counts = new Map<string, { n: number; exp: number }>();
  let lastSweep = 0;
  const sweep = (nowS: number): void => {
    if (nowS - lastSweep < 30) return;
    lastSweep = nowS;
    for (const [key, entry] of counts) if (entry.exp < nowS) counts.delete(key);
  };
  return {
    blocked(jti, nowS) {
      sweep(nowS);
      return (counts.get(jti)?.n ?? 0) >= max;
    },
    failed(jti, expS, nowS) {
      sweep(nowS);
      const entry = counts.get(jti) ?? { n: 0, exp: expS };
      entry.n += 1;
      counts.set(jti, entry);
    },
  };
}

export interface ClientLimiter {
  /** Take one request for `client`; false when its bucket is empty. */
  take(client: string, nowMs: number): boolean;
}

export function createClientLimiter(perMinute: number, burst = CLIENT_BURST): ClientLimiter {
  if (perMinute <= 0) return { take: () => true };
  const refillPerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(client, nowMs) {
      let bucket = buckets.get(client);
      if (!bucket) {
        if (buckets.size >= MAX_TRACKED_CLIENTS) buckets.delete(buckets.keys().next().value as string);
        bucket = { tokens: burst, at: nowMs };
      } else {
        buckets.delete(client); // re-insert: Map order = least recently used first
        bucket.tokens = Math.min(burst, bucket.tokens + (nowMs - bucket.at) * refillPerMs);
        bucket.at = nowMs;
      }
      buckets.set(client, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}
