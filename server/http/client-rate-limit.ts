/**
 * Token buckets per client key (the client's address), for routes anyone may call without a
 * session, or cheaply with one: creating sessions, taking WebSocket tickets.
 *
 * Each key may make `burst` requests at once and `perMinute` sustained; a request over that is
 * refused with 429 RATE_LIMITED and `Retry-After` (whole seconds until it would be allowed).
 * Kept as the generic cell rate algorithm (one "theoretical arrival time" per key, whole
 * milliseconds), which is that token bucket without fractional tokens. Time is the server's
 * injectable clock, so tests move it instead of waiting.
 *
 * @module
 */
import type { FastifyReply } from 'fastify';
import type { Clock } from '../lib/clock.ts';
import { sendError } from './errors.ts';

/** Clients tracked by one limiter before idle ones are forgotten (an idle client is the same as a new one). */
export const CLIENT_LIMITER_MAX_TRACKED = 10_000;

export interface BucketRate {
  /** Requests allowed at once from a quiet client. */
  readonly burst: number;
  /** Sustained requests per minute; 60,000 / perMinute must be whole milliseconds. */
  readonly perMinute: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export class ClientRateLimiter {
  /** Milliseconds one request costs. */
  readonly #interval: number;
  /** How far ahead of "now" the schedule may run: the burst. */
  readonly #tolerance: number;
  readonly #clock: Clock;
  /** Per key: when its schedule is paid off (the theoretical arrival time). */
  readonly #due = new Map<string, number>();

  constructor(rate: BucketRate, clock: Clock) {
    const interval = 60_000 / rate.perMinute;
    if (!(Number.isInteger(rate.burst) && rate.burst >= 1 && Number.isInteger(interval) && interval > 0)) {
      throw new Error('a client rate needs a whole burst >= 1 and a perMinute that divides 60,000 ms');
    }
    this.#interval = interval;
    this.#tolerance = (rate.burst - 1) * interval;
    this.#clock = clock;
  }

  /** Takes one request for `key`. */
  take(key: string): TakeResult {
    const now = this.#clock();
    if (!this.#due.has(key) && this.#due.size >= CLIENT_LIMITER_MAX_TRACKED) this.#sweep(now);
    const due = Math.max(this.#due.get(key) ?? now, now);
    const ahead = due - now;
    if (ahead > this.#tolerance) return { ok: false, retryAfterMs: ahead - this.#tolerance };
    this.#due.set(key, due + this.#interval);
    return { ok: true };
  }

  /** Forgets clients whose schedule is paid off; if none is, everyone (a flood of addresses then re-counts). */
  #sweep(now: number): void {
    for (const [key, due] of this.#due) if (due <= now) this.#due.delete(key);
    if (this.#due.size >= CLIENT_LIMITER_MAX_TRACKED) this.#due.clear();
  }
}

/** Answers a refused take: 429 RATE_LIMITED with `Retry-After` in whole seconds (at least 1). */
export function sendRateLimited(reply: FastifyReply, retryAfterMs: number): FastifyReply {
  reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return sendError(reply, 'RATE_LIMITED');
}
