/**
 * The chat server's per-client-address limiter (ClientRateLimiter) on a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_LIMITER_MAX_TRACKED, ClientRateLimiter } from '../../../server/http/client-rate-limit.ts';
import { SESSIONS_PER_CLIENT, TICKETS_PER_CLIENT } from '../../../server/routes/sessions.ts';

describe('ClientRateLimiter', () => {
  it('allows the burst at once, then one request per 60,000/perMinute ms, and says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new ClientRateLimiter({ burst: 3, perMinute: 30 }, () => now);
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 2000 });
    now += 1999;
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterMs: 1 });
    now += 1;
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    // Another key has its own budget; a long quiet time restores the burst, no more.
    expect(limiter.take('b').ok).toBe(true);
    now += 60 * 60_000;
    expect([1, 2, 3, 4].map(() => limiter.take('a').ok)).toEqual([true, true, true, false]);
  });

  it('refuses a rate it cannot count in whole milliseconds', () => {
    expect(() => new ClientRateLimiter({ burst: 1, perMinute: 7 }, () => 0)).toThrow();
    expect(() => new ClientRateLimiter({ burst: 0, perMinute: 60 }, () => 0)).toThrow();
    // The configured rates are countable.
    expect(() => new ClientRateLimiter(SESSIONS_PER_CLIENT, () => 0)).not.toThrow();
    expect(() => new ClientRateLimiter(TICKETS_PER_CLIENT, () => 0)).not.toThrow();
  });

  it(`tracks at most CLIENT_LIMITER_MAX_TRACKED (${CLIENT_LIMITER_MAX_TRACKED}) addresses: paid-off ones are forgotten first, then everyone`, () => {
    let now = 0;
    const limiter = new ClientRateLimiter({ burst: 1, perMinute: 60 }, () => now);
    for (let i = 0; i < CLIENT_LIMITER_MAX_TRACKED - 1; i++) limiter.take(`old${i}`);
    now += 1000;
    limiter.take('recent');
    // Full: a new address forgets the paid-off ones, and the one still owing is kept.
    expect(limiter.take('new').ok).toBe(true);
    expect(limiter.take('recent').ok).toBe(false);
    for (let i = 0; i < CLIENT_LIMITER_MAX_TRACKED - 2; i++) limiter.take(`more${i}`);
    // Full again with nobody paid off: memory stays bounded by forgetting everyone.
    expect(limiter.take('another').ok).toBe(true);
    expect(limiter.take('recent').ok).toBe(true);
  });
});
