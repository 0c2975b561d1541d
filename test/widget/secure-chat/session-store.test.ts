import { describe, expect, it } from 'vitest';
import { clearSession, loadSession, saveSession, sessionKey, type SessionStorageLike } from '../../../widget/secure-chat/session-store.ts';

function storage(): SessionStorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const CHAT = 'http://chat.localhost:8081';
const session = { session: 'sess-token', conversationId: 'cnv_abcdefgh1234', acr: 'channel', expiresAt: '2999-01-01T00:00:00.000Z' } as const;

describe('session store', () => {
  it('keeps one session per chat server origin', () => {
    const s = storage();
    saveSession(CHAT, session, s);
    expect(loadSession(CHAT, s)).toEqual(session);
    expect(loadSession('http://other.localhost:8081', s)).toBeNull();
    expect([...s.map.keys()]).toEqual([sessionKey(CHAT)]);
  });

  it('stores only the session fields', () => {
    const s = storage();
    saveSession(CHAT, { ...session, extra: 'x' } as typeof session, s);
    expect(JSON.parse(s.map.get(sessionKey(CHAT))!)).toEqual(session);
  });

  it('keeps a session whose customer has not written yet (no conversation)', () => {
    const s = storage();
    const fresh = { ...session, conversationId: null, acr: 'none' } as const;
    saveSession(CHAT, fresh, s);
    expect(loadSession(CHAT, s)).toEqual(fresh);
  });

  it('forgets an expired session', () => {
    const s = storage();
    saveSession(CHAT, { ...session, expiresAt: '2000-01-01T00:00:00.000Z' }, s);
    expect(loadSession(CHAT, s)).toBeNull();
    expect(s.map.size).toBe(0);
  });

  it('forgets a malformed entry', () => {
    const s = storage();
    s.map.set(sessionKey(CHAT), '{"session": 42}');
    expect(loadSession(CHAT, s)).toBeNull();
    s.map.set(sessionKey(CHAT), 'not json');
    expect(loadSession(CHAT, s)).toBeNull();
  });

  it('clears on request and survives a storage that throws', () => {
    const s = storage();
    saveSession(CHAT, session, s);
    clearSession(CHAT, s);
    expect(loadSession(CHAT, s)).toBeNull();
    const broken: SessionStorageLike = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    expect(() => saveSession(CHAT, session, broken)).not.toThrow();
    expect(loadSession(CHAT, broken)).toBeNull();
  });
});
