import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIVOT_TOKEN_MAX_LIFETIME_S } from '../../../protocol/pivot-token.ts';
import { runChatKeysCommand } from '../../../server/cli/keys.ts';
import { CHAT_KEYS_FILE, KEY_FILE_CHECK_INTERVAL_MS, PIVOT_KEY_RETIRE_GRACE_MS, PivotKeyRing } from '../../../server/keys/pivot-key-ring.ts';
import { DEFAULT_TUNING } from '../../../vault/service/config.ts';
import { startPivotSystem, tryTokenize, type PivotSystem } from '../../attacks/helpers.ts';
import { logCapture, startVault, type VaultFixture } from '../../vault/helpers.ts';
import { agentSession, call, createStep, customerSession, removeDir, startChat, tempDir, type Running } from '../helpers.ts';

/**
 * The vault's refetch cooldown: the default, longer than any test may run (testTimeout 20 s), so
 * "within the cooldown" holds however slow the machine; the test passes it by moving the clock.
 */
const COOLDOWN_MS = DEFAULT_TUNING.issuerJwksCooldownMs;

async function cli(dataDir: string, args: string[], now?: () => number): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runChatKeysCommand(args, { dataDir, out: (l) => lines.push(l), ...(now ? { now } : {}) });
  return { code, out: lines.join('\n') };
}

let customers = 0;
async function pivotToken(chat: Running): Promise<string> {
  const agentToken = await agentSession(chat);
  const { token, conversationId } = await customerSession(chat, `rotation-customer-${++customers}`);
  const { stepId } = await createStep(chat, agentToken, conversationId);
  const res = await call(chat, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
  expect(res, JSON.stringify(res.body)).toMatchObject({ status: 200 });
  return res.body['token'] as string;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const jwksKids = async (chat: Running) => ((await call(chat, 'GET', '/.well-known/jwks.json')).body['keys'] as { kid: string }[]).map((k) => k.kid);

describe('pivot key ring', () => {
  it('rotates, publishes current + previous, and retires only a previous key past the token lifetime', async () => {
    const dir = tempDir();
    try {
      const ring = await PivotKeyRing.open(dir);
      const a = ring.current.kid;
      const b = (await ring.rotate()).kid;
      expect(ring.jwks().keys.map((k) => k.kid)).toEqual([b, a]);
      expect(ring.jwks().keys.every((k) => !('d' in k))).toBe(true);
      expect(statSync(join(dir, CHAT_KEYS_FILE)).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir).filter((f) => f !== CHAT_KEYS_FILE)).toEqual([]);

      expect(PIVOT_KEY_RETIRE_GRACE_MS).toBeGreaterThanOrEqual(PIVOT_TOKEN_MAX_LIFETIME_S * 1000 + KEY_FILE_CHECK_INTERVAL_MS);
      expect(await cli(dir, ['retire', b], () => Date.now() + PIVOT_KEY_RETIRE_GRACE_MS)).toMatchObject({ code: 1, out: expect.stringContaining('current key cannot be retired') });
      // Well within the grace period on a running clock (30 s: more than any test may take).
      expect(await cli(dir, ['retire', a], () => Date.now() + PIVOT_KEY_RETIRE_GRACE_MS - 30_000)).toMatchObject({ code: 1, out: expect.stringContaining('less than') });
      expect(await cli(dir, ['retire', 'nope'])).toMatchObject({ code: 1, out: expect.stringContaining('unknown key id') });
      expect((await cli(dir, ['retire', a], () => Date.now() + PIVOT_KEY_RETIRE_GRACE_MS)).code).toBe(0);
      const reopened = await PivotKeyRing.open(dir);
      expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([b]);

      const list = await cli(dir, ['list']);
      expect(list.out).toMatch(new RegExp(`^${b}\\s+created \\S+Z\\s+current$`));
      expect(list.out).not.toContain('"d"');
    } finally {
      removeDir(dir);
    }
  });

  it('refuses to create a key file from the command, and prints usage on a bad command', async () => {
    const dir = tempDir();
    try {
      expect((await cli(dir, ['rotate'])).code).toBe(1);
      expect(existsSync(join(dir, CHAT_KEYS_FILE))).toBe(false);
      expect((await cli(dir, ['explode'])).code).toBe(2);
    } finally {
      removeDir(dir);
    }
  });
});

describe('rotation seen by the running chat server and a running vault', () => {
  let chatDir: string;
  let chat: Running;
  let vault: VaultFixture;
  /** One clock for both services, moved by the test instead of sleeping. */
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  /** Past the chat server's key-file check interval: its next request looks at the file. */
  const passCheckInterval = () => (offsetMs += KEY_FILE_CHECK_INTERVAL_MS);

  beforeAll(async () => {
    expect(COOLDOWN_MS).toBeGreaterThan(20_000);
    chatDir = tempDir();
    chat = await startChat(chatDir, {}, { clock });
    vault = await startVault({
      issuerJwksUrl: `${chat.httpBase}/.well-known/jwks.json`,
      tuning: { issuerJwksCooldownMs: COOLDOWN_MS },
      deps: { logStream: logCapture().stream, clock },
    });
  });
  afterAll(async () => {
    await vault.close();
    await chat.close();
    removeDir(chatDir);
  });

  it('signs with the new key without a restart; the vault refreshes on the unknown kid (rate-limited); old tokens still verify', async () => {
    const first = await pivotToken(chat);
    const keyA = kidOf(first);
    expect((await tryTokenize(vault.service, first)).status).toBe(201); // the vault has fetched the JWKS
    const pendingA = await pivotToken(chat);

    expect((await cli(chatDir, ['rotate'])).code).toBe(0);
    passCheckInterval();
    const tokenB = await pivotToken(chat);
    const keyB = kidOf(tokenB);
    expect(keyB).not.toBe(keyA);
    expect(await jwksKids(chat)).toEqual([keyB, keyA]);

    // Unknown kid: the vault refetches the JWKS (its last fetch is older than the cooldown).
    offsetMs += COOLDOWN_MS;
    expect((await tryTokenize(vault.service, tokenB)).status).toBe(201);
    // A token of the previous key, issued before the rotation, still verifies.
    expect((await tryTokenize(vault.service, pendingA)).status).toBe(201);

    // A second rotation right away: within the cooldown the vault does not refetch (rate limit)...
    expect((await cli(chatDir, ['rotate'])).code).toBe(0);
    passCheckInterval();
    const tokenC = await pivotToken(chat);
    expect(kidOf(tokenC)).not.toBe(keyB);
    expect(await tryTokenize(vault.service, tokenC)).toMatchObject({ status: 401, code: 'TOKEN_KID_UNKNOWN' });
    // ...and once it is over, it does, without a restart.
    offsetMs += COOLDOWN_MS;
    const tokenC2 = await pivotToken(chat);
    expect((await tryTokenize(vault.service, tokenC2)).status).toBe(201);
  });
});

describe('with the real pivot system', () => {
  let system: PivotSystem;
  beforeAll(async () => {
    system = await startPivotSystem();
  });
  afterAll(() => system.close());

  it('a token signed by the previous key still verifies at the vault after a rotation', async () => {
    const { pivotToken: before } = await system.customerWithToken();
    const ring = system.chat.server.context.keys;
    const previous = ring.current.kid;
    expect(kidOf(before)).toBe(previous);
    await ring.rotate();
    expect(ring.jwks().keys.map((k) => k.kid)).toEqual([ring.current.kid, previous]);
    expect((await tryTokenize(system.vault.service, before)).status).toBe(201);
  });
});
