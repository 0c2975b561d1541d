/**
 * Attacks on agent sign-in and on agent tokens, against the REAL chat server (fake clock, so
 * "as fast as allowed" is exact): password guessing from one client, in parallel, spraying many
 * names, telling real names from unknown ones, a locked account given the right password, a
 * copied token after sign-out, and the published demo password outside the demo. Each asserts
 * the stable error code.
 */
import { describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../protocol/chat.ts';
import { ACCOUNT_FREE_FAILURES, ACCOUNT_LOCK_FAILURES, CLIENT_FREE_FAILURES, LOGIN_MAX_DELAY_MS } from '../../server/auth/login-guard.ts';
import { runChatAgentsCommand } from '../../server/cli/agents.ts';
import { DEMO_AGENT_PASSWORD } from '../../server/config.ts';
import { AGENT_PASSWORD, signIn, signOut, type SignInAnswer, clockedChatPerTest } from '../server/agent-login-helpers.ts';
import { CHAT, UpgradeRefused, agentSocket, call, openSocket, removeDir, startChat, tempDir, wsTicket } from '../server/helpers.ts';

const t = clockedChatPerTest();

/** The part of an answer an attacker sees, minus the token. */
const shape = (a: SignInAnswer) => ({ status: a.status, body: a.body, retryAfter: a.retryAfter });

describe('attack: agent password guessing', () => {
  it('40 wrong passwords in a row from one client (the review\'s test): 4 are checked, the rest are 429 LOGIN_THROTTLED, and the right password is refused too', async () => {
    const answers: SignInAnswer[] = [];
    for (let i = 0; i < 40; i++) answers.push(await signIn(t.c.run, 'agent', `guess-${i}`));
    expect(answers.filter((a) => a.code === 'BAD_CREDENTIALS')).toHaveLength(ACCOUNT_FREE_FAILURES + 1);
    expect(answers.slice(ACCOUNT_FREE_FAILURES + 1).every((a) => a.status === 429 && a.code === 'LOGIN_THROTTLED' && a.retryAfter! >= 1)).toBe(true);
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD)).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED', token: undefined });
  });

  it('parallel guesses cannot outrun the counter: of 30 at once, only the free ones and one more are checked', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => signIn(t.c.run, 'agent', `parallel-${i}`)));
    expect(answers.filter((a) => a.code === 'BAD_CREDENTIALS')).toHaveLength(ACCOUNT_FREE_FAILURES + 1);
    expect(answers.filter((a) => a.code === 'LOGIN_THROTTLED')).toHaveLength(30 - ACCOUNT_FREE_FAILURES - 1);
  });

  it('guessing as fast as allowed locks the account at ACCOUNT_LOCK_FAILURES; the right password is then LOGIN_LOCKED, from any client, until an operator unlocks it', async () => {
    let checked = 0;
    let last: SignInAnswer | undefined;
    // Waits honoured, from ever new client addresses: the account limit holds on its own.
    for (let i = 0; last?.code !== 'LOGIN_LOCKED'; i++) {
      last = await signIn(t.c.run, 'agent', `guess-${i}`, `198.51.100.${i + 1}`);
      if (last.code === 'BAD_CREDENTIALS' || last.code === 'LOGIN_LOCKED') checked++;
      t.c.time.now += (last.retryAfter ?? 0) * 1000;
    }
    expect(checked).toBe(ACCOUNT_LOCK_FAILURES);
    t.c.time.now += 365 * 24 * 3600 * 1000;
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD, '192.0.2.200')).toMatchObject({ status: 403, code: 'LOGIN_LOCKED', token: undefined });

    expect(await runChatAgentsCommand(['unlock', 'agent'], { dataDir: t.dir, out: () => {}, clock: () => t.c.time.now })).toBe(0);
    expect((await signIn(t.c.run, 'agent', AGENT_PASSWORD, '192.0.2.200')).status).toBe(201);
  });

  it('spraying many names from one client: past CLIENT_FREE_FAILURES every name is throttled, the real one with its right password included, and the wait caps at LOGIN_MAX_DELAY_MS', async () => {
    const client = '203.0.113.66';
    for (let i = 0; i <= CLIENT_FREE_FAILURES; i++) {
      expect((await signIn(t.c.run, `spray-${i}`, 'Summer2030!', client)).code).toBe('BAD_CREDENTIALS');
    }
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD, client)).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED' });
    expect(await signIn(t.c.run, 'fresh-name', 'x', client)).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED' });
    let retryAfter = 0;
    for (let i = 0; i < 20; i++) {
      t.c.time.now += retryAfter * 1000;
      retryAfter = (await signIn(t.c.run, `more-${i}`, 'Summer2030!', client)).retryAfter ?? 0;
    }
    expect(retryAfter).toBe(LOGIN_MAX_DELAY_MS / 1000);
    // Another client is not held back by this one.
    expect((await signIn(t.c.run, 'agent', AGENT_PASSWORD, '203.0.113.67')).status).toBe(201);
  });
});

describe('attack: user-name oracle', () => {
  it('a real name and an unknown one get the same status, body and Retry-After at every step, through throttling and lock-out', async () => {
    const walk = async (name: string, client: string) => {
      const seen: Array<ReturnType<typeof shape>> = [];
      for (let i = 0; i < 2 * ACCOUNT_LOCK_FAILURES + 3; i++) {
        const answer = await signIn(t.c.run, name, `guess-${i}`, client);
        seen.push(shape(answer));
        // Every other try comes at once, without waiting as told.
        if (i % 2 === 0) t.c.time.now += (answer.retryAfter ?? 0) * 1000;
      }
      return seen;
    };
    const start = t.c.time.now;
    const known = await walk('agent', '198.51.100.10');
    t.c.time.now = start;
    const unknown = await walk('agemt', '198.51.100.11');
    expect(unknown).toEqual(known);
    expect(new Set(known.map((k) => k.body['error'] && (k.body['error'] as { code: string }).code))).toEqual(new Set(['BAD_CREDENTIALS', 'LOGIN_THROTTLED', 'LOGIN_LOCKED']));
  });
});

describe('attack: a copied agent token after sign-out', () => {
  it('is refused on REST (SESSION_REVOKED), cannot take a WebSocket ticket, and its open socket is closed', async () => {
    const token = (await signIn(t.c.run, 'agent', AGENT_PASSWORD)).token!;
    const socket = await agentSocket(t.c.run, token);
    const ticket = await wsTicket(t.c.run, token, CHAT);
    expect((await signOut(t.c.run, token)).status).toBe(204);

    expect(await call(t.c.run, 'GET', '/v1/agent/conversations', { origin: CHAT, token })).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
    expect(await call(t.c.run, 'POST', '/v1/ws-tickets', { origin: CHAT, token })).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
    const upgrade = await openSocket(t.c.run, ticket, CHAT).then(
      () => 'ACCEPTED',
      (err: unknown) => (err instanceof UpgradeRefused ? (JSON.parse(err.body) as { error: { code: string } }).error.code : String(err)),
    );
    expect(upgrade).toBe('WS_TICKET_INVALID');
    expect((await socket.closed).code).toBe(WS_CLOSE.SESSION_EXPIRED);
  });
});

describe('attack: the published demo password on a bank\'s server', () => {
  it('a server outside demo mode with AGENT_PASSWORD=demo does not start (AGENT_PASSWORD_REQUIRED)', async () => {
    const other = tempDir();
    try {
      await expect(startChat(other, { AGENT_PASSWORD: DEMO_AGENT_PASSWORD })).rejects.toMatchObject({ code: 'AGENT_PASSWORD_REQUIRED' });
      await expect(startChat(other, { AGENT_PASSWORD: '' })).rejects.toMatchObject({ code: 'AGENT_PASSWORD_REQUIRED' });
    } finally {
      removeDir(other);
    }
  });
});
