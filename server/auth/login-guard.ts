/**
 * The agent sign-in guard: how many wrong passwords an account name and a client address may
 * cost before each next try must wait, and when an account locks until an operator unlocks it
 * (`npm run chat:agents -- unlock <name>`).
 *
 * - Per account: keyed by the name as typed ({@link accountKey}), whether or not such an agent
 *   exists, so an unknown name is delayed and locked exactly like a real one and the answers
 *   never tell them apart.
 *   Counts failures since the last successful sign-in; forgotten after a quiet day; locks at
 *   {@link ACCOUNT_LOCK_FAILURES}.
 * - Per client address: never locks (an office shares one address), only delays, and is not
 *   reset by a success (signing in to one's own account must not buy guesses at others).
 *
 * A try is COUNTED AS A FAILURE BEFORE the password is checked, in the same store transaction
 * that decides it may proceed, and given back on success: parallel requests cannot all slip
 * through before the first failure is recorded. Refused tries are answered at once (429 with
 * Retry-After, or the lock), never slept on, and do not count.
 *
 * Pure functions of the counters and "now"; the store runs {@link beginAttempt} and
 * {@link settleSuccess} inside one transaction.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { CounterUpdate, LoginCounter, LoginCounters } from '../store/agent-logins.ts';

/** Failures in a row an account may have without waiting before its next try. */
export const ACCOUNT_FREE_FAILURES = 3;
/** Failures in a row that lock an account until an operator unlocks it (or it signs in before). */
export const ACCOUNT_LOCK_FAILURES = 10;
/** An account's failures are forgotten after this long without one (unless it is locked), in ms. */
export const ACCOUNT_FAILURE_MEMORY_MS = 24 * 60 * 60 * 1000;
/** Failures one client address may have without waiting (higher: an office shares one address). */
export const CLIENT_FREE_FAILURES = 10;
/** A client address's failures are forgotten after this long without one, in ms. */
export const CLIENT_FAILURE_MEMORY_MS = 60 * 60 * 1000;
/** Wait after the first failure past the free ones, in ms. */
export const LOGIN_DELAY_BASE_MS = 1000;
/** Each further failure multiplies the wait by this. */
export const LOGIN_DELAY_FACTOR = 2;
/** Longest wait between two tries, in ms. */
export const LOGIN_MAX_DELAY_MS = 5 * 60 * 1000;
/**
 * Characters of an UNKNOWN name kept in logs and the audit trail: a name no agent has is often a
 * password typed into the name field.
 */
export const LOGIN_AUDIT_UNKNOWN_NAME_CHARS = 3;

/** Failed sign-ins and unlocks stay in the audit trail this long (a year, as card-industry audits ask), in ms. */
export const LOGIN_AUDIT_RETENTION_MS = 365 * 24 * 60 * 60 * 1000;

export type AttemptDecision =
  | { readonly kind: 'proceed'; readonly accountFailures: number; readonly clientFailures: number; readonly accountLocked: boolean; readonly retryAfterMs: number }
  | { readonly kind: 'throttled'; readonly retryAfterMs: number; readonly accountFailures: number; readonly clientFailures: number }
  | { readonly kind: 'locked'; readonly accountFailures: number; readonly clientFailures: number };

/** Wait imposed after the `failures`-th failure in a row, for a scope allowing `free` free ones. */
export function delayAfter(failures: number, free: number): number {
  if (failures <= free) return 0;
  const exponent = Math.min(failures - free - 1, 64);
  return Math.min(LOGIN_MAX_DELAY_MS, LOGIN_DELAY_BASE_MS * LOGIN_DELAY_FACTOR ** exponent);
}

/** The counter as it stands at `now`: failures older than `memoryMs` are forgotten unless locked. */
function current(counter: LoginCounter | undefined, memoryMs: number, now: number): LoginCounter | undefined {
  if (counter === undefined) return undefined;
  if (counter.lockedAt === null && now - counter.lastFailureAt >= memoryMs) return undefined;
  return counter;
}

function counted(counter: LoginCounter | undefined, free: number, now: number): LoginCounter {
  const failures = (counter?.failures ?? 0) + 1;
  return { failures, lastFailureAt: now, nextAttemptAt: now + delayAfter(failures, free), lockedAt: counter?.lockedAt ?? null };
}

/**
 * Decides a sign-in try at `now`. A locked account refuses (even the right password); a try
 * before either counter's next allowed time is throttled; otherwise the try proceeds and is
 * counted as a failure of both (the account locks when that reaches ACCOUNT_LOCK_FAILURES).
 */
export function beginAttempt(stored: LoginCounters, now: number): CounterUpdate<AttemptDecision> {
  const account = current(stored.account, ACCOUNT_FAILURE_MEMORY_MS, now);
  const client = current(stored.client, CLIENT_FAILURE_MEMORY_MS, now);
  const accountFailures = account?.failures ?? 0;
  const clientFailures = client?.failures ?? 0;
  const keep = { account: account ?? null, client: client ?? null };
  if (account?.lockedAt != null) return { ...keep, result: { kind: 'locked', accountFailures, clientFailures } };
  const waitUntil = Math.max(account?.nextAttemptAt ?? 0, client?.nextAttemptAt ?? 0);
  if (now < waitUntil) {
    return { ...keep, result: { kind: 'throttled', retryAfterMs: waitUntil - now, accountFailures, clientFailures } };
  }
  const nextAccount = counted(account, ACCOUNT_FREE_FAILURES, now);
  const accountLocked = nextAccount.failures >= ACCOUNT_LOCK_FAILURES;
  const nextClient = counted(client, CLIENT_FREE_FAILURES, now);
  return {
    account: accountLocked ? { ...nextAccount, lockedAt: now } : nextAccount,
    client: nextClient,
    result: {
      kind: 'proceed',
      accountFailures: nextAccount.failures,
      clientFailures: nextClient.failures,
      accountLocked,
      retryAfterMs: Math.max(nextAccount.nextAttemptAt, nextClient.nextAttemptAt) - now,
    },
  };
}

/**
 * The password was right: the account's failures are cleared (also a lock that a concurrent try
 * set while this one was checked: the right password came first); the client gets back the
 * failure this try was counted as, and waits no longer than its remaining failures impose.
 */
export function settleSuccess(stored: LoginCounters): CounterUpdate<void> {
  const client = stored.client;
  if (client === undefined || client.failures <= 1) return { account: null, client: null, result: undefined };
  const failures = client.failures - 1;
  return {
    account: null,
    client: { ...client, failures, nextAttemptAt: Math.min(client.nextAttemptAt, client.lastFailureAt + delayAfter(failures, CLIENT_FREE_FAILURES)) },
    result: undefined,
  };
}

/**
 * What the server's purge may delete at `now`: unlocked counters {@link beginAttempt} would
 * forget anyway, and audit rows past LOGIN_AUDIT_RETENTION_MS.
 */
export function purgeCutoffs(now: number): { readonly accountBefore: number; readonly clientBefore: number; readonly auditBefore: number } {
  return { accountBefore: now - ACCOUNT_FAILURE_MEMORY_MS, clientBefore: now - CLIENT_FAILURE_MEMORY_MS, auditBefore: now - LOGIN_AUDIT_RETENTION_MS };
}

/**
 * The account a try is counted against. An agent's name as it is; a name no agent has by a hash
 * of it, since such a name is often a password typed into the name field and must not be kept
 * readable. Both are counted, delayed and locked alike.
 */
export function accountKey(typed: string, known: boolean): string {
  return known ? typed : `unknown:${createHash('sha256').update(typed, 'utf8').digest('base64url')}`;
}

/**
 * The client a try is counted against: the request's address (the connection's, or the one a
 * trusted proxy forwarded: CHAT_TRUST_PROXY), an IPv4-mapped IPv6 address as its IPv4 form, and an
 * IPv6 address as its /64, since one subscriber routinely holds a whole /64 and could otherwise
 * rotate through it.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** How a typed name appears in logs and the audit: unknown names shortened, invisible characters shown as `?`. */
export function auditName(typed: string, known: boolean): string {
  const visible = typed.replace(/[\p{C}\p{Zl}\p{Zp}]/gu, '?');
  if (known) return visible;
  const chars = [...visible];
  return `${chars.slice(0, LOGIN_AUDIT_UNKNOWN_NAME_CHARS).join('')}… (${chars.length} chars)`;
}
