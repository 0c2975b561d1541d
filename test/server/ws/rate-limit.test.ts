/**
 * The frame budgets WebSockets share (SharedBudgets) on a clock the test moves.
 */
import { describe, expect, it } from 'vitest';
import { WS_MAX_MESSAGES_PER_SECOND } from '../../../protocol/chat.ts';
import { SharedBudgets, WS_ABUSE_WINDOW_MS, budgetKey } from '../../../server/ws/rate-limit.ts';

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
