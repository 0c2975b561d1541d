/**
 * Where the widget keeps its session token: `sessionStorage` of the bank page, one key per chat
 * server origin, so a reload (or a navigation within the tab) continues the same conversation and
 * closing the tab forgets it. Never a cookie: a cross-site chat server cannot rely on them.
 * When storage is unavailable (privacy modes, sandboxed pages) a per-page memory map stands in.
 *
 * @module
 */
import type { Acr } from '../../protocol/pivot-token.ts';

export interface StoredSession {
  readonly session: string;
  /** Null until the customer's first message creates the conversation. */
  readonly conversationId: string | null;
  readonly acr: Acr;
  readonly expiresAt: string;
}

/** The minimal Storage surface used, so tests can pass a Map-backed fake. */
export type SessionStorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const memory = new Map<string, string>();
const memoryStorage: SessionStorageLike = {
  getItem: (key) => memory.get(key) ?? null,
  setItem: (key, value) => void memory.set(key, value),
  removeItem: (key) => void memory.delete(key),
};

function defaultStorage(): SessionStorageLike {
  try {
    const storage = globalThis.sessionStorage;
    return storage ?? memoryStorage;
  } catch {
    return memoryStorage;
  }
}

export function sessionKey(serverOrigin: string): string {
  return `spc:session:${serverOrigin}`;
}

/** The stored session for that server, or null when absent, malformed or expired. */
export function loadSession(serverOrigin: string, storage = defaultStorage(), now = Date.now()): StoredSession | null {
  let raw: string | null;
  try {
    raw = storage.getItem(sessionKey(serverOrigin));
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<StoredSession>;
    if (
      typeof value.session === 'string' &&
      value.conversationId !== undefined &&
      typeof value.acr === 'string' &&
      typeof value.expiresAt === 'string' &&
      !(Date.parse(value.expiresAt) <= now)
    ) {
      return value as StoredSession;
    }
  } catch {
    // fall through: malformed entries are dropped
  }
  clearSession(serverOrigin, storage);
  return null;
}

export function saveSession(serverOrigin: string, session: StoredSession, storage = defaultStorage()): void {
  const { session: token, conversationId, acr, expiresAt } = session;
  try {
    storage.setItem(sessionKey(serverOrigin), JSON.stringify({ session: token, conversationId, acr, expiresAt }));
  } catch {
    // Quota or disabled storage: the session lives for this page only.
  }
}

export function clearSession(serverOrigin: string, storage = defaultStorage()): void {
  try {
    storage.removeItem(sessionKey(serverOrigin));
  } catch {
    // nothing stored, nothing to clear
  }
}
