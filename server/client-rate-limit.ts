/**
 * Token buckets per client key (the client's address), for routes anyone may call without a
 * session, or cheaply with one: creating sessions, taking WebSocket tickets.
 *
 * Each key's bucket holds `burst` tokens and refills at `perMinute`; a request with no token is
 * refused with 429 RATE_LIMITED and `Retry-After` (whole seconds until the next token). Time is
 * the server's injectable clock, so tests move it instead of waiting.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import type { Clock } from './clock.ts';
import { sendError } from './http-errors.ts';

/** Clients tracked by one limiter before idle ones are forgotten (a full bucket is the same as none). */
export const CLIENT_LIMITER_MAX_TRACKED = 10_000;

export interface BucketRate {
  /** Requests allowed at once from a quiet client. */
  readonly burst: number;
  /** Sustained requests per minute. */
  readonly perMinute: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export class ClientRateLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(rate: BucketRate, clock: Clock) {
    if (!(rate.burst >= 1 && rate.perMinute > 0)) throw new Error('a client rate needs burst >= 1 and perMinute > 0');
    this.#burst = rate.burst;
    this.#perMs = rate.perMinute / 60_000;
    this.#clock = clock;
  }

  /** Takes one token for `key`. */
  take(key: string): TakeResult {
    const now = this.#clock();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= CLIENT_LIMITER_MAX_TRACKED) this.#sweep(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.#perMs) };
  }

  /** Forgets buckets that have refilled; if none has, everyone (a flood of addresses then re-counts). */
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size >= CLIENT_LIMITER_MAX_TRACKED) this.#buckets.clear();
  }
}

/** Answers a refused take: 429 RATE_LIMITED with `Retry-After` in whole seconds (at least 1). */
export function sendRateLimited(reply: FastifyReply, retryAfterMs: number): FastifyReply {
  reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return sendError(reply, 'RATE_LIMITED');
}
