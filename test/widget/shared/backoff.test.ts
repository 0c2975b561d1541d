import { describe, expect, it } from 'vitest';
import { RECONNECT_BASE_DELAY_MS, RECONNECT_MAX_DELAY_MS, backoffDelay } from '../../../widget/shared/backoff.ts';

describe('backoffDelay', () => {
  it('doubles the cap with each attempt, starting at RECONNECT_BASE_DELAY_MS', () => {
    expect(backoffDelay(0, () => 1)).toBe(RECONNECT_BASE_DELAY_MS);
    expect(backoffDelay(1, () => 1)).toBe(RECONNECT_BASE_DELAY_MS * 2);
    expect(backoffDelay(3, () => 1)).toBe(RECONNECT_BASE_DELAY_MS * 8);
  });

  it('never waits longer than RECONNECT_MAX_DELAY_MS however many attempts failed', () => {
    for (const attempt of [10, 50, 1000, Infinity]) expect(backoffDelay(attempt, () => 1)).toBe(RECONNECT_MAX_DELAY_MS);
  });

  it('spreads clients over the upper half of the cap (jitter)', () => {
    expect(backoffDelay(2, () => 0)).toBe(RECONNECT_BASE_DELAY_MS * 2);
    expect(backoffDelay(2, () => 0.5)).toBe(RECONNECT_BASE_DELAY_MS * 3);
  });
});
