/**
 * The agent sign-in guard's policy (server/auth/login-guard.ts), as pure functions of the stored
 * counters and "now": every limit is exercised at its edge.
 */
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_FAILURE_MEMORY_MS,
  ACCOUNT_FREE_FAILURES,
  ACCOUNT_LOCK_FAILURES,
  CLIENT_FAILURE_MEMORY_MS,
  CLIENT_FREE_FAILURES,
  LOGIN_AUDIT_RETENTION_MS,
  LOGIN_AUDIT_UNKNOWN_NAME_CHARS,
  LOGIN_DELAY_BASE_MS,
  LOGIN_DELAY_FACTOR,
  LOGIN_MAX_DELAY_MS,
  accountKey,
  auditName,
  beginAttempt,
  clientKey,
  delayAfter,
  purgeCutoffs,
  settleSuccess,
  type AttemptDecision,
} from '../../../server/auth/login-guard.ts';
import type { LoginCounters } from '../../../server/store/agent-logins.ts';

const T0 = Date.UTC(2030, 0, 1, 9);

/** Applies beginAttempt like the store does; returns the decision and the new counters. */
function attempt(state: LoginCounters, now: number): { decision: AttemptDecision; state: LoginCounters } {
  const next = beginAttempt(state, now);
  return { decision: next.result, state: { account: next.account ?? undefined, client: next.client ?? undefined } };
}

/** `n` failed tries, each made as soon as it is allowed; returns the state and the waits seen. */
function failRepeatedly(n: number, from: LoginCounters = { account: undefined, client: undefined }, start = T0) {
  let state = from;
  let now = start;
  const waits: number[] = [];
  for (let i = 0; i < n; i++) {
    const { decision, state: next } = attempt(state, now);
    if (decision.kind !== 'proceed') throw new Error(`try ${i + 1} was ${decision.kind}`);
    state = next;
    waits.push(decision.retryAfterMs);
    now += decision.retryAfterMs;
  }
  return { state, now, waits };
}

describe('login guard: per account', () => {
  it(`ACCOUNT_FREE_FAILURES (${ACCOUNT_FREE_FAILURES}) failures cost no wait; the next one waits LOGIN_DELAY_BASE_MS`, () => {
    const { waits } = failRepeatedly(ACCOUNT_FREE_FAILURES + 1);
    expect(waits.slice(0, ACCOUNT_FREE_FAILURES)).toEqual(Array(ACCOUNT_FREE_FAILURES).fill(0));
    expect(waits[ACCOUNT_FREE_FAILURES]).toBe(LOGIN_DELAY_BASE_MS);
  });

  it(`each further failure multiplies the wait by LOGIN_DELAY_FACTOR (${LOGIN_DELAY_FACTOR})`, () => {
    const { waits } = failRepeatedly(ACCOUNT_LOCK_FAILURES - 1);
    const delayed = waits.slice(ACCOUNT_FREE_FAILURES);
    for (let i = 1; i < delayed.length; i++) expect(delayed[i]).toBe(delayed[i - 1]! * LOGIN_DELAY_FACTOR);
  });

  it('a try 1 ms before the wait is over is throttled, with the time left, and counts nothing', () => {
    const { state, now } = failRepeatedly(ACCOUNT_FREE_FAILURES + 1);
    const early = attempt(state, now - 1);
    expect(early.decision).toMatchObject({ kind: 'throttled', retryAfterMs: 1, accountFailures: ACCOUNT_FREE_FAILURES + 1 });
    expect(early.state).toEqual(state);
    expect(attempt(state, now).decision.kind).toBe('proceed');
  });

  it(`locks at ACCOUNT_LOCK_FAILURES (${ACCOUNT_LOCK_FAILURES}) failures, not one before, and stays locked however long`, () => {
    const before = failRepeatedly(ACCOUNT_LOCK_FAILURES - 1);
    expect(before.state.account?.lockedAt).toBeNull();
    const last = attempt(before.state, before.now);
    expect(last.decision).toMatchObject({ kind: 'proceed', accountLocked: true, accountFailures: ACCOUNT_LOCK_FAILURES });
    const later = attempt(last.state, before.now + 10 * ACCOUNT_FAILURE_MEMORY_MS);
    expect(later.decision.kind).toBe('locked');
  });

  it(`forgets an unlocked account's failures after ACCOUNT_FAILURE_MEMORY_MS, not 1 ms before`, () => {
    // Enough client-free failures to avoid the client's own counter interfering: use a fresh client each time.
    const { state } = failRepeatedly(ACCOUNT_FREE_FAILURES + 1);
    const lastFailureAt = state.account!.lastFailureAt;
    const kept = attempt({ account: state.account, client: undefined }, lastFailureAt + ACCOUNT_FAILURE_MEMORY_MS - 1);
    expect(kept.decision).toMatchObject({ kind: 'proceed', accountFailures: ACCOUNT_FREE_FAILURES + 2 });
    const forgotten = attempt({ account: state.account, client: undefined }, lastFailureAt + ACCOUNT_FAILURE_MEMORY_MS);
    expect(forgotten.decision).toMatchObject({ kind: 'proceed', accountFailures: 1 });
  });

  it('a success clears the account (even a lock set meanwhile) and gives the client its try back', () => {
    const { state } = failRepeatedly(ACCOUNT_LOCK_FAILURES);
    expect(state.account?.lockedAt).not.toBeNull();
    const settled = settleSuccess(state);
    expect(settled.account).toBeNull();
    expect(settled.client?.failures).toBe(ACCOUNT_LOCK_FAILURES - 1);
    expect(settleSuccess({ account: state.account, client: { ...state.client!, failures: 1 } }).client).toBeNull();
  });
});

describe('login guard: per client', () => {
  /** Many names (a fresh account each try) from one client. */
  function spray(n: number) {
    let client: LoginCounters['client'];
    let now = T0;
    const waits: number[] = [];
    for (let i = 0; i < n; i++) {
      const next = beginAttempt({ account: undefined, client }, now);
      if (next.result.kind !== 'proceed') throw new Error(`try ${i + 1} was ${next.result.kind}`);
      client = next.client ?? undefined;
      waits.push(next.result.retryAfterMs);
      now += next.result.retryAfterMs;
    }
    return { client, now, waits };
  }

  it(`CLIENT_FREE_FAILURES (${CLIENT_FREE_FAILURES}) failures over many names cost no wait; then the wait grows`, () => {
    const { waits } = spray(CLIENT_FREE_FAILURES + 2);
    expect(waits.slice(0, CLIENT_FREE_FAILURES)).toEqual(Array(CLIENT_FREE_FAILURES).fill(0));
    expect(waits.slice(CLIENT_FREE_FAILURES)).toEqual([LOGIN_DELAY_BASE_MS, LOGIN_DELAY_BASE_MS * LOGIN_DELAY_FACTOR]);
  });

  it(`the wait never exceeds LOGIN_MAX_DELAY_MS (${LOGIN_MAX_DELAY_MS} ms), and a client is never locked`, () => {
    const { waits, client } = spray(CLIENT_FREE_FAILURES + 30);
    expect(Math.max(...waits)).toBe(LOGIN_MAX_DELAY_MS);
    expect(waits.at(-1)).toBe(LOGIN_MAX_DELAY_MS);
    expect(client?.lockedAt).toBeNull();
    expect(delayAfter(1000, 0)).toBe(LOGIN_MAX_DELAY_MS);
  });

  it(`forgets a client's failures after CLIENT_FAILURE_MEMORY_MS, not 1 ms before`, () => {
    const { client } = spray(CLIENT_FREE_FAILURES + 1);
    const at = client!.lastFailureAt;
    expect(beginAttempt({ account: undefined, client }, at + CLIENT_FAILURE_MEMORY_MS - 1).result).toMatchObject({ clientFailures: CLIENT_FREE_FAILURES + 2 });
    expect(beginAttempt({ account: undefined, client }, at + CLIENT_FAILURE_MEMORY_MS).result).toMatchObject({ clientFailures: 1 });
  });

  it('a throttled client is refused even for a fresh account name', () => {
    const { client, now } = spray(CLIENT_FREE_FAILURES + 1);
    expect(beginAttempt({ account: undefined, client }, now - 1).result.kind).toBe('throttled');
  });
});

describe('login guard: keys and audit names', () => {
  it('counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:0:1:aaaa::1')).toBe(clientKey('2001:0db8:0000:0001:ffff:eeee:dddd:cccc'));
    expect(clientKey('2001:db8:0:1::9')).not.toBe(clientKey('2001:db8:0:2::9'));
  });

  it('keeps an agent name readable and an unknown name only as a hash', () => {
    expect(accountKey('agent', true)).toBe('agent');
    const key = accountKey('hunter2-typed-as-name', false);
    expect(key).not.toContain('hunter2');
    expect(key).toBe(accountKey('hunter2-typed-as-name', false));
  });

  it(`shows only LOGIN_AUDIT_UNKNOWN_NAME_CHARS (${LOGIN_AUDIT_UNKNOWN_NAME_CHARS}) characters of an unknown name`, () => {
    expect(auditName('agent', true)).toBe('agent');
    const shown = auditName('Tr0ub4dor&3', false);
    expect(shown).toBe(`${'Tr0ub4dor&3'.slice(0, LOGIN_AUDIT_UNKNOWN_NAME_CHARS)}… (11 chars)`);
    expect(auditName('a\u202egent', true)).toBe('a?gent');
  });

  it('purge cut-offs follow the memories and LOGIN_AUDIT_RETENTION_MS', () => {
    expect(purgeCutoffs(T0)).toEqual({
      accountBefore: T0 - ACCOUNT_FAILURE_MEMORY_MS,
      clientBefore: T0 - CLIENT_FAILURE_MEMORY_MS,
      auditBefore: T0 - LOGIN_AUDIT_RETENTION_MS,
    });
  });
});
