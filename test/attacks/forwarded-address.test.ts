/**
 * Per-client limits and a forged X-Forwarded-For: the chat server believes the header only from
 * the proxies the operator names (CHAT_TRUST_PROXY), so a script cannot pick a new address for
 * every request, while customers behind the bank's load balancer each keep their own budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadChatConfig } from '../../server/config.ts';
import { SESSIONS_PER_CLIENT } from '../../server/routes/sessions.ts';
import { removeDir, startChat, tempDir, type Running } from '../server/helpers.ts';

const LOAD_BALANCER = '10.1.2.3';
let dir: string | undefined;
let run: Running | undefined;
afterEach(async () => {
  await run?.close();
  if (dir) removeDir(dir);
  run = undefined;
  dir = undefined;
});

async function start(env: Record<string, string>): Promise<Running> {
  dir = tempDir();
  const now = Date.UTC(2030, 0, 15, 9);
  run = await startChat(dir, env, { clock: () => now });
  return run;
}

const session = (server: Running, from: string, forwardedFor?: string) =>
  server.server.app.inject({
    method: 'POST',
    url: '/v1/sessions',
    remoteAddress: from,
    headers: { 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: '{}',
  });

describe('a forged X-Forwarded-For', () => {
  it('does not buy a new budget when no proxy is trusted (the default)', async () => {
    const server = await start({});
    const codes: number[] = [];
    for (let i = 0; i <= SESSIONS_PER_CLIENT.burst; i++) codes.push((await session(server, '198.51.100.7', `203.0.113.${i}`)).statusCode);
    expect(codes.slice(0, -1).every((c) => c === 201)).toBe(true);
    expect(codes.at(-1)).toBe(429);
  });

  it('is believed from a trusted proxy only: customers behind it are counted apart, a direct client is not', async () => {
    const server = await start({ CHAT_TRUST_PROXY: `${LOAD_BALANCER}, 10.9.0.0/16` });
    for (let i = 0; i <= SESSIONS_PER_CLIENT.burst; i++) expect((await session(server, LOAD_BALANCER, `203.0.113.${i}`)).statusCode).toBe(201);
    // One customer behind the proxy still has one budget.
    for (let i = 0; i < SESSIONS_PER_CLIENT.burst; i++) await session(server, '10.9.4.4', '203.0.113.200');
    expect((await session(server, '10.9.4.4', '203.0.113.200')).statusCode).toBe(429);
    // A client that is not a trusted proxy cannot claim an address.
    for (let i = 0; i < SESSIONS_PER_CLIENT.burst; i++) await session(server, '198.51.100.9', `192.0.2.${i}`);
    expect((await session(server, '198.51.100.9', '192.0.2.250')).statusCode).toBe(429);
  });

  it('CHAT_TRUST_PROXY accepts addresses and CIDR ranges only', () => {
    expect(loadChatConfig({ CHAT_TRUST_PROXY: '10.0.0.1, fd00::/8' }).trustProxy).toEqual(['10.0.0.1', 'fd00::/8']);
    expect(loadChatConfig({}).trustProxy).toEqual([]);
    for (const bad of ['true', '10.0.0.0/33', 'lb.bank.example', '10.0.0.1/8/1']) {
      expect(() => loadChatConfig({ CHAT_TRUST_PROXY: bad }), bad).toThrow(/CHAT_TRUST_PROXY/);
    }
  });
});
