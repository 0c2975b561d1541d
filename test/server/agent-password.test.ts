/**
 * The published demo password exists only in the demo: DEMO_MODE (set by `npm start`) is the
 * only way the seeded agent gets `demo`; any other start without a real AGENT_PASSWORD is
 * refused with AGENT_PASSWORD_REQUIRED, and a database first started as the demo leaves `demo`
 * behind when started outside it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PivotError } from '../../protocol/errors.ts';
import { createChatServer } from '../../server/app.ts';
import { DEMO_AGENT_PASSWORD, assertAgentPasswordAllowed, loadChatConfig } from '../../server/config.ts';
import { signIn, startClocked } from './agent-login-helpers.ts';
import { removeDir, tempDir, testConfig } from './helpers.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => removeDir(dir));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PivotError ? err.code : `not a PivotError: ${String(err)}`;
  }
  return undefined;
}

describe('agent password outside the demo', () => {
  it('DEMO_MODE alone gives the seeded agent the demo password; without it there is no default', () => {
    expect(loadChatConfig({ DEMO_MODE: 'on' })).toMatchObject({ demoMode: true, agentPassword: DEMO_AGENT_PASSWORD });
    expect(loadChatConfig({})).toMatchObject({ demoMode: false, agentPassword: undefined });
    expect(loadChatConfig({ AGENT_PASSWORD: 'bank-chosen' })).toMatchObject({ demoMode: false, agentPassword: 'bank-chosen' });
  });

  it('refuses AGENT_PASSWORD unset or equal to the demo password outside demo mode, with AGENT_PASSWORD_REQUIRED', () => {
    expect(codeOf(() => assertAgentPasswordAllowed(loadChatConfig({})))).toBe('AGENT_PASSWORD_REQUIRED');
    expect(codeOf(() => assertAgentPasswordAllowed(loadChatConfig({ AGENT_PASSWORD: DEMO_AGENT_PASSWORD })))).toBe('AGENT_PASSWORD_REQUIRED');
    expect(codeOf(() => assertAgentPasswordAllowed(loadChatConfig({ DEMO_MODE: 'on' })))).toBeUndefined();
    expect(codeOf(() => assertAgentPasswordAllowed(loadChatConfig({ AGENT_PASSWORD: 'bank-chosen' })))).toBeUndefined();
  });

  it('a chat server outside demo mode with the demo password does not start, and creates nothing', async () => {
    const config = testConfig(dir, { AGENT_PASSWORD: DEMO_AGENT_PASSWORD });
    await expect(createChatServer(config)).rejects.toMatchObject({ code: 'AGENT_PASSWORD_REQUIRED' });
    await expect(createChatServer({ ...config, agentPassword: undefined })).rejects.toMatchObject({ code: 'AGENT_PASSWORD_REQUIRED' });
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a database first started as the demo: outside demo mode `demo` no longer signs in, AGENT_PASSWORD does', async () => {
    const demo = await startClocked(dir, undefined, { DEMO_MODE: 'on', AGENT_PASSWORD: '' });
    expect((await signIn(demo.run, 'agent', DEMO_AGENT_PASSWORD)).status).toBe(201);
    await demo.run.close();

    const bank = await startClocked(dir, undefined, { AGENT_PASSWORD: 'bank-chosen' });
    try {
      expect(await signIn(bank.run, 'agent', DEMO_AGENT_PASSWORD)).toMatchObject({ status: 401, code: 'BAD_CREDENTIALS' });
      expect((await signIn(bank.run, 'agent', 'bank-chosen')).status).toBe(201);
      expect(bank.lines.some((l) => String(l['msg']).includes('held the demo password'))).toBe(true);
    } finally {
      await bank.run.close();
    }
  });
});
