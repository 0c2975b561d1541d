/**
 * The operator's `npm run chat:agents` command, beside a running server on the same DATA_DIR:
 * list, unlock an account (even the right password is refused until then), unlock a client,
 * the audit trail, and its usage limits.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNT_LOCK_FAILURES, CLIENT_FREE_FAILURES } from '../../../server/auth/login-guard.ts';
import { AUDIT_DEFAULT_ROWS, AUDIT_MAX_ROWS, USAGE, runChatAgentsCommand } from '../../../server/cli/agents.ts';
import { AGENT_PASSWORD, signIn, clockedChatPerTest } from '../agent-login-helpers.ts';
import { removeDir, tempDir } from '../helpers.ts';

const t = clockedChatPerTest();

async function agents(...args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runChatAgentsCommand(args, { dataDir: t.dir, out: (line) => void out.push(line), clock: () => t.c.time.now });
  return { code, out };
}

/** Locks `name` from one client, waiting out each delay on the fake clock. */
async function lock(name: string, client = '198.51.100.1'): Promise<void> {
  for (let i = 0; i < ACCOUNT_LOCK_FAILURES; i++) {
    const answer = await signIn(t.c.run, name, `wrong-${i}`, client);
    t.c.time.now += (answer.retryAfter ?? 0) * 1000;
  }
}

describe('npm run chat:agents', () => {
  it('lists agents and locked accounts; unlock lifts the lock so the right password works again', async () => {
    await lock('agent');
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD, '198.51.100.2')).toMatchObject({ status: 403, code: 'LOGIN_LOCKED' });
    const listed = await agents('list');
    expect(listed.code).toBe(0);
    expect(listed.out[0]).toBe('agents (1):');
    expect(listed.out.join('\n')).toMatch(/agent agent {2}LOCKED since 2030-01-01T09:\d\d:\d\d\.\d{3}Z {2}10 failures/);

    expect(await agents('unlock', 'agent')).toEqual({ code: 0, out: ['agent: unlocked'] });
    expect((await signIn(t.c.run, 'agent', AGENT_PASSWORD, '198.51.100.2')).status).toBe(201);
    expect(await agents('unlock', 'agent')).toEqual({ code: 1, out: ['agent: nothing to unlock'] });
  });

  it('unlocks a name no agent has by the name as typed, shown shortened', async () => {
    await lock('intruder-name');
    expect((await agents('list')).out.join('\n')).toContain('a name no agent has');
    expect(await agents('unlock', 'intruder-name')).toEqual({ code: 0, out: ['int… (13 chars): unlocked'] });
  });

  it('unlock-client lifts a client address\'s delay', async () => {
    for (let i = 0; i <= CLIENT_FREE_FAILURES; i++) await signIn(t.c.run, `name-${i}`, 'wrong', '203.0.113.5');
    expect(await signIn(t.c.run, 'agent', AGENT_PASSWORD, '203.0.113.5')).toMatchObject({ status: 429, code: 'LOGIN_THROTTLED' });
    expect((await agents('list')).out.join('\n')).toContain('client 203.0.113.5  waits 1 s');
    expect(await agents('unlock-client', '203.0.113.5')).toEqual({ code: 0, out: ['203.0.113.5: unlocked'] });
    expect((await signIn(t.c.run, 'agent', AGENT_PASSWORD, '203.0.113.5')).status).toBe(201);
  });

  it(`audit prints the newest rows (AUDIT_DEFAULT_ROWS = ${AUDIT_DEFAULT_ROWS} unless told), unlocks included`, async () => {
    for (let i = 0; i < AUDIT_DEFAULT_ROWS + 2; i++) {
      await signIn(t.c.run, `name-${i}`, 'wrong', `192.0.2.${i}`);
    }
    await agents('unlock', 'name-0');
    const all = await agents('audit');
    expect(all.out).toHaveLength(AUDIT_DEFAULT_ROWS);
    expect(all.out[0]).toMatch(/unlocked {2}name nam… \(6 chars\) \(no such agent\) {2}by operator$/);
    expect(all.out[1]).toMatch(/bad_credentials {2}name nam… \(7 chars\) \(no such agent\) {2}client 192\.0\.2\.21 {2}account failures 1, client failures 1$/);
    expect((await agents('audit', '3')).out).toHaveLength(3);
  });

  it(`refuses bad usage with exit code 2 (audit n at most AUDIT_MAX_ROWS = ${AUDIT_MAX_ROWS})`, async () => {
    for (const args of [[], ['nope'], ['unlock'], ['unlock-client'], ['audit', '0'], ['audit', String(AUDIT_MAX_ROWS + 1)], ['audit', 'many']]) {
      expect(await agents(...args)).toEqual({ code: 2, out: [USAGE] });
    }
    expect((await agents('audit', String(AUDIT_MAX_ROWS))).code).toBe(0);
  });

  it('refuses a DATA_DIR without a chat database', async () => {
    const empty = tempDir();
    try {
      const out: string[] = [];
      expect(await runChatAgentsCommand(['list'], { dataDir: empty, out: (l) => void out.push(l) })).toBe(1);
      expect(out[0]).toMatch(/^refused: no chat\.db/);
    } finally {
      removeDir(empty);
    }
  });
});
