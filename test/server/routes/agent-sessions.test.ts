/**
 * Agent sign-in through the guard and sign-out, on the real server with a fake clock: delays
 * answered with Retry-After, counters in the store (they survive a restart), the audit trail and
 * log lines, DELETE /v1/agent/sessions/current, and the purge of stale counters.
 */
import { describe, expect, it } from 'vitest';
import { WS_CLOSE } from '../../../protocol/chat.ts';
import {
  ACCOUNT_FAILURE_MEMORY_MS,
  ACCOUNT_FREE_FAILURES,
  ACCOUNT_LOCK_FAILURES,
  LOGIN_AUDIT_RETENTION_MS,
  LOGIN_DELAY_BASE_MS,
} from '../../../server/auth/login-guard.ts';
import { CORS_AGENT_ALLOW_METHODS } from '../../../server/http/cors.ts';
import type { SqliteChatStore } from '../../../server/store/sqlite-store.ts';
import { AGENT_PASSWORD, T0, refusals, signIn, signOut, startClocked, clockedChatPerTest } from '../agent-login-helpers.ts';
import { BANK, CHAT, UpgradeRefused, agentSocket, call, openSocket, wsTicket } from '../helpers.ts';

const t = clockedChatPerTest();

const store = () => t.c.run.server.context.store as SqliteChatStore;
const rows = (sql: string) => store().db.sqlite.prepare(sql).all() as Array<Record<string, unknown>>;

/** Wrong passwords for `agent` until the next one must wait; returns the last answer. */
async function failUntilDelayed() {
  let last = await signIn(t.c.run, 'agent', 'wrong-0');
  for (let i = 1; last.retryAfter === undefined; i++) last = await signIn(t.c.run, 'agent', `wrong-${i}`);
  return last;
}

describe('agent sign-in guard', () => {
  it('answers the first failure past the free ones with Retry-After; a try before it is 429 LOGIN_THROTTLED, even with the right password', async () => {
    const last = await failUntilDelayed();
    expect(last).toMatchObject({ status: 401, code: 'BAD_CREDENTIALS', retryAfter: LOGIN_DELAY_BASE_MS / 1000 });
    const early = await signIn(t.c.run, 'agent', AGENT_PASSWORD);
    expect(early).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED', retryAfter: 1, token: undefined });
    expect(early.body).toEqual({ error: { code: 'LOGIN_THROTTLED', message: 'Too many failed sign-ins; try again in 1 s.' } });
  });

  it('after the wait the right password signs in and the account starts again from zero', async () => {
    await failUntilDelayed();
    t.c.time.now += LOGIN_DELAY_BASE_MS;
    expect((await signIn(t.c.run, 'agent', AGENT_PASSWORD)).status).toBe(201);
    // Reset: the free failures are free again.
    for (let i = 0; i < ACCOUNT_FREE_FAILURES; i++) {
      expect(await signIn(t.c.run, 'agent', `again-${i}`)).toMatchObject({ status: 401, retryAfter: undefined });
    }
    expect(rows("select key, failures from agent_login_guard where scope = 'account'")).toEqual([{ key: 'agent', failures: ACCOUNT_FREE_FAILURES }]);
  });

  it('keeps its counters in the store: a restart does not hand out fresh tries', async () => {
    await failUntilDelayed();
    await t.c.run.close();
    t.c = await startClocked(t.dir, t.c.time);
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD)).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED' });
  });

  it('logs every refused try (name, client, counters) and keeps a durable row per wrong password, never the password', async () => {
    const secret = 'Wr0ng-but-s3cret';
    await signIn(t.c.run, 'agent', secret, '203.0.113.9');
    await signIn(t.c.run, 'hunter2-in-the-name-field', secret, '203.0.113.9');
    const logged = refusals(t.c.lines);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ audit: 'agent_sign_in', outcome: 'bad_credentials', name: 'agent', nameKnown: true, client: '203.0.113.9', accountFailures: 1, clientFailures: 1 });
    expect(logged[1]).toMatchObject({ outcome: 'bad_credentials', name: 'hun… (25 chars)', nameKnown: false, accountFailures: 1, clientFailures: 2 });
    expect(rows('select outcome, name, name_known, client, account_failures, client_failures from agent_login_audit order by id')).toEqual([
      { outcome: 'bad_credentials', name: 'agent', name_known: 1, client: '203.0.113.9', account_failures: 1, client_failures: 1 },
      { outcome: 'bad_credentials', name: 'hun… (25 chars)', name_known: 0, client: '203.0.113.9', account_failures: 1, client_failures: 2 },
    ]);
    const everything = [t.c.raw.join('\n'), JSON.stringify(rows('select * from agent_login_audit')), JSON.stringify(rows('select * from agent_login_guard'))].join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('hunter2');
  });

  it('a throttled try is logged with its wait but writes no audit row', async () => {
    await failUntilDelayed();
    const before = rows('select count(*) as n from agent_login_audit')[0]!['n'];
    await signIn(t.c.run, 'agent', 'early');
    expect(rows('select count(*) as n from agent_login_audit')[0]!['n']).toBe(before);
    expect(refusals(t.c.lines).at(-1)).toMatchObject({ outcome: 'throttled', retryAfterS: 1 });
  });

  it('the failure that locks the account answers LOGIN_LOCKED and is audited as locked', async () => {
    let last = await signIn(t.c.run, 'agent', 'wrong');
    for (let i = 1; i < ACCOUNT_LOCK_FAILURES; i++) {
      t.c.time.now += (last.retryAfter ?? 0) * 1000;
      last = await signIn(t.c.run, 'agent', 'wrong');
    }
    expect(last).toMatchObject({ status: 403, code: 'LOGIN_LOCKED', retryAfter: undefined });
    expect(rows('select outcome from agent_login_audit order by id desc limit 1')).toEqual([{ outcome: 'locked' }]);
  });

  it('the purge deletes counters past their memory and audit rows past LOGIN_AUDIT_RETENTION_MS, never a lock', async () => {
    await signIn(t.c.run, 'someone', 'wrong');
    await store().agentLogins.update({ account: 'locked-one', client: 'x' }, () => ({
      account: { failures: ACCOUNT_LOCK_FAILURES, lastFailureAt: T0, nextAttemptAt: T0, lockedAt: T0 },
      client: null,
      result: undefined,
    }));
    t.c.time.now = T0 + ACCOUNT_FAILURE_MEMORY_MS - 1;
    await t.c.run.server.purge();
    expect(rows('select scope from agent_login_guard order by scope')).toEqual([{ scope: 'account' }, { scope: 'account' }]);
    t.c.time.now = T0 + ACCOUNT_FAILURE_MEMORY_MS;
    await t.c.run.server.purge();
    expect(rows('select key from agent_login_guard')).toEqual([{ key: 'locked-one' }]);
    expect(rows('select count(*) as n from agent_login_audit')).toEqual([{ n: 1 }]);
    t.c.time.now = T0 + LOGIN_AUDIT_RETENTION_MS + 1;
    await t.c.run.server.purge();
    expect(rows('select count(*) as n from agent_login_audit')).toEqual([{ n: 0 }]);
    expect(rows('select key from agent_login_guard')).toEqual([{ key: 'locked-one' }]);
  });
});

describe('agent sign-out: DELETE /v1/agent/sessions/current', () => {
  it('revokes that session: 204, then SESSION_REVOKED on every REST call; another session of the agent stays valid', async () => {
    const one = (await signIn(t.c.run, 'agent', AGENT_PASSWORD)).token!;
    const two = (await signIn(t.c.run, 'agent', AGENT_PASSWORD)).token!;
    expect(await signOut(t.c.run, one)).toEqual({ status: 204, code: undefined });
    expect(await call(t.c.run, 'GET', '/v1/agent/conversations', { origin: CHAT, token: one })).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
    expect(await signOut(t.c.run, one)).toEqual({ status: 401, code: 'SESSION_REVOKED' });
    expect((await call(t.c.run, 'GET', '/v1/agent/conversations', { origin: CHAT, token: two })).status).toBe(200);
  });

  it('refuses a missing bearer and a customer session', async () => {
    const res = await t.c.run.server.app.inject({ method: 'DELETE', url: '/v1/agent/sessions/current', headers: { origin: CHAT } });
    expect(res.statusCode).toBe(401);
    const customer = await call(t.c.run, 'POST', '/v1/sessions', { body: { displayName: 'Ada' } });
    expect(await signOut(t.c.run, customer.body['session'] as string)).toEqual({ status: 403, code: 'FORBIDDEN' });
  });

  it('closes the session\'s open socket (4001) and voids a ticket taken before the sign-out', async () => {
    const token = (await signIn(t.c.run, 'agent', AGENT_PASSWORD)).token!;
    const socket = await agentSocket(t.c.run, token);
    const spare = await wsTicket(t.c.run, token, CHAT);
    await signOut(t.c.run, token);
    expect((await socket.closed).code).toBe(WS_CLOSE.SESSION_EXPIRED);
    const refused = await openSocket(t.c.run, spare, CHAT).then(
      () => 'opened',
      (err: unknown) => (err instanceof UpgradeRefused ? JSON.parse(err.body).error.code : String(err)),
    );
    expect(refused).toBe('WS_TICKET_INVALID');
    expect(await call(t.c.run, 'POST', '/v1/ws-tickets', { origin: CHAT, token })).toMatchObject({ status: 401, body: { error: { code: 'SESSION_REVOKED' } } });
  });

  it('is allowed by the console origin\'s preflight only', async () => {
    const preflight = (origin: string) =>
      t.c.run.server.app.inject({
        method: 'OPTIONS',
        url: '/v1/agent/sessions/current',
        headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
      });
    const ok = await preflight(CHAT);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-methods']).toBe(CORS_AGENT_ALLOW_METHODS);
    expect(CORS_AGENT_ALLOW_METHODS).toContain('DELETE');
    expect((await preflight(BANK)).statusCode).toBe(403);
  });
});
