/**
 * The chat server's limiters on a clock the test moves: per client address (ClientRateLimiter)
 * and the frame budgets WebSockets share (SharedBudgets).
 */
import { describe, expect, it } from 'vitest';
import { WS_MAX_MESSAGES_PER_SECOND } from '../../protocol/chat.ts';
import { CLIENT_LIMITER_MAX_TRACKED, ClientRateLimiter } from '../../server/http/client-rate-limit.ts';
import { SESSIONS_PER_CLIENT, TICKETS_PER_CLIENT } from '../../server/routes/sessions.ts';
import { SharedBudgets, WS_ABUSE_WINDOW_MS, budgetKey } from '../../server/ws/rate-limit.ts';

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

describe('SharedBudgets', () => {
  it(`gives every socket of one key the same WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND}) tokens`, () => {
    let now = 0;
    const budgets = new SharedBudgets(() => now);
    const key = budgetKey({ id: 'ses_1', role: 'customer', customerId: 'cus_1', agentId: null });
    const first = budgets.acquire(key);
    const second = budgets.acquire(key);
    expect(second).toBe(first);
    const taken = Array.from({ length: WS_MAX_MESSAGES_PER_SECOND + 1 }, (_, i) => (i % 2 ? first : second).take());
    expect(taken.filter((d) => d === 'ok')).toHaveLength(WS_MAX_MESSAGES_PER_SECOND);
    expect(taken.at(-1)).toBe('limited');
    now += 1000 / WS_MAX_MESSAGES_PER_SECOND;
    expect(second.take()).toBe('ok');
  });

  it('keeps a drained budget when its sockets close and reopen; drops it once it could have refilled', () => {
    let now = 0;
    const budgets = new SharedBudgets(() => now);
    const key = 'customer:cus_2';
    const bucket = budgets.acquire(key);
    for (let i = 0; i < WS_MAX_MESSAGES_PER_SECOND; i++) bucket.take();
    budgets.release(key);
    // Reopened at once: the same, empty budget.
    expect(budgets.acquire(key).take()).toBe('limited');
    budgets.release(key);
    now += WS_ABUSE_WINDOW_MS + 1;
    budgets.acquire('customer:other');
    expect(budgets.size).toBe(1);
    expect(budgets.acquire(key).take()).toBe('ok');
  });

  it('keys customers by customer, agents by agent, anything else by session', () => {
    expect(budgetKey({ id: 'ses_a', role: 'customer', customerId: 'cus_x', agentId: null })).toBe('customer:cus_x');
    expect(budgetKey({ id: 'ses_b', role: 'customer', customerId: 'cus_x', agentId: null })).toBe('customer:cus_x');
    expect(budgetKey({ id: 'ses_c', role: 'agent', customerId: null, agentId: 'agt_1' })).toBe('agent:agt_1');
    expect(budgetKey({ id: 'ses_d', role: 'customer', customerId: null, agentId: null })).toBe('session:ses_d');
  });
});
