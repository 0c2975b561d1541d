import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bankCsp, loadBankConfig, loaderIntegrity, startBankServer, type BankServer } from '../../demo/bank-server.ts';
import { DEMO_ID_TOKEN_TTL_S } from '../../demo/idp.ts';
import { CHAT as CHAT_TEST, agentSession, call, startChat } from '../server/helpers.ts';

const CHAT = 'http://chat.localhost:18081';
const VAULT = 'http://vault.localhost:18082';
let bank: BankServer;
let widgetDir: string;
const sri = (text: string) => `sha384-${createHash('sha384').update(text).digest('base64')}`;

beforeAll(async () => {
  widgetDir = mkdtempSync(join(tmpdir(), 'bank-widget-'));
  writeFileSync(join(widgetDir, 'loader.js'), 'void 0;\n');
  bank = await startBankServer({ port: 0, host: '127.0.0.1', chatOrigin: CHAT, vaultOrigin: VAULT, widgetDir, dataDir: null });
});
afterAll(async () => {
  await bank.close();
  rmSync(widgetDir, { recursive: true, force: true });
});

describe('demo bank server', () => {
  it('serves the page with the chat and vault origins templated in', async () => {
    const response = await fetch(`${bank.url}/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(
      `<script src="${CHAT}/widget/loader.js" integrity="${sri('void 0;\n')}" crossorigin="anonymous" async></script>`,
    );
    expect(html).toContain(`<secure-chat server="${CHAT}" vault="${VAULT}"`);
    expect(html).not.toContain('{{');
  });

  it('sends a strict CSP without unsafe-inline or eval', async () => {
    const csp = (await fetch(`${bank.url}/`)).headers.get('content-security-policy');
    expect(csp).toBe(bankCsp(CHAT, VAULT));
    const directives = Object.fromEntries(csp!.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'", CHAT]);
    // 'self' is the bank's own IdP (/idp); nothing else beyond the chat server.
    expect(directives['connect-src']).toEqual(["'self'", CHAT, 'ws://chat.localhost:18081']);
    expect(directives['frame-src']).toEqual([VAULT]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['img-src']).toEqual(["'self'", 'data:']);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('sends CSP violation reports to the chat server with report-uri (not report-to, which would disable it)', async () => {
    const csp = (await fetch(`${bank.url}/`)).headers.get('content-security-policy')!;
    expect(csp).toContain(`report-uri ${CHAT}/v1/csp-reports`);
    expect(csp).not.toContain('report-to');
  });

  it('pins the loader by the hash of the file as it is when the page is served (a rebuild is picked up)', async () => {
    writeFileSync(join(widgetDir, 'loader.js'), 'void 1;\n');
    const html = await (await fetch(`${bank.url}/`)).text();
    expect(html).toContain(`integrity="${sri('void 1;\n')}"`);
    expect(loaderIntegrity(widgetDir)).toBe(sri('void 1;\n'));
    writeFileSync(join(widgetDir, 'loader.js'), 'void 0;\n');
  });

  it('refuses to serve the page without a built loader rather than drop the integrity pin', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'bank-empty-'));
    const other = await startBankServer({ port: 0, host: '127.0.0.1', chatOrigin: CHAT, vaultOrigin: VAULT, widgetDir: empty });
    try {
      const response = await fetch(`${other.url}/`);
      expect(response.status).toBe(500);
      expect(await response.text()).toContain('npm run build');
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('has no inline script or style in the page', async () => {
    const html = await (await fetch(`${bank.url}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it('serves the page script and stylesheet, and nothing else', async () => {
    expect((await fetch(`${bank.url}/demo.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${bank.url}/style.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(`${bank.url}/bank-server.ts`)).status).toBe(404);
    expect((await fetch(`${bank.url}/../bank-server.ts`)).status).toBe(404);
    expect((await fetch(`${bank.url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('reads its configuration from the environment with the documented defaults', () => {
    expect(loadBankConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      chatOrigin: 'http://chat.localhost:8081',
      vaultOrigin: 'http://vault.localhost:8082',
      bankOrigin: 'http://bank.localhost:8080',
      idpIssuer: 'http://bank.localhost:8080/idp',
      idpClientId: 'secure-pivot-chat',
      dataDir: null,
    });
    expect(loadBankConfig({ BANK_PORT: '9000', CHAT_PORT: '9001', VAULT_ORIGIN: 'https://vault.example/' })).toMatchObject({
      port: 9000,
      chatOrigin: 'http://chat.localhost:9001',
      vaultOrigin: 'https://vault.example',
    });
  });

  it('serves the demo IdP on the same origin: discovery, JWKS, login with a cookie session, token for a nonce', async () => {
    const BANK = bank.config.bankOrigin;
    const discovery = (await (await fetch(`${bank.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: `${BANK}/idp`, jwks_uri: `${BANK}/idp/jwks.json` });
    const jwks = (await (await fetch(`${bank.url}/idp/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${bank.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: BANK, ...headers }, body: JSON.stringify(body) });
    const nonce = 'n0nce-from-the-chat-server-abcdefghijk';
    expect((await post('/idp/token', { nonce })).status).toBe(401);
    expect((await post('/idp/login', { username: 'robert', password: 'x' }, { origin: 'http://evil.localhost:9999' })).status).toBe(403);
    expect((await post('/idp/login', { username: '<script>', password: 'x' })).status).toBe(400);
    const login = await post('/idp/login', { username: 'robert', password: 'anything' });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/idp/);
    const token = await post('/idp/token', { nonce }, { cookie: cookie.split(';')[0]! });
    expect(token.status).toBe(200);
    const { id_token } = (await token.json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(id_token.split('.')[1]!, 'base64url').toString()) as Record<string, number | string>;
    expect(claims).toMatchObject({ iss: `${BANK}/idp`, aud: 'secure-pivot-chat', sub: 'robert', nonce });
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(DEMO_ID_TOKEN_TTL_S);
    expect((await fetch(`${bank.url}/idp/login`)).status).toBe(405);
    expect((await post('/idp/logout', {}, { cookie: cookie.split(';')[0]! })).status).toBe(204);
    expect((await post('/idp/token', { nonce }, { cookie: cookie.split(';')[0]! })).status).toBe(401);
  });

  it('lets a link-preview crawler fetch a pivot link without using the code up (the fragment never leaves the device)', async () => {
    const chatDir = mkdtempSync(join(tmpdir(), 'bank-chat-'));
    const sent: string[] = [];
    const chat = await startChat(chatDir, { PIVOT_LINK_BASE_URL: `${bank.url}/` }, {
      channels: {
        identityFor: async (conversationId) => (conversationId === conversation.id ? { id: 'chi_crawlertest1', channel: 'sms', customerId: customer.id } : null),
        sendLink: async (_id, link) => void sent.push(link.url),
        sendPrivateText: async () => {},
        sendSms: async () => {},
      },
    });
    const customer = await chat.server.context.store.customers.create({ subject: null, displayName: null });
    const conversation = await chat.server.context.store.conversations.create(customer.id, 'none', 'sms');
    try {
      const agent = await agentSession(chat);
      expect((await call(chat, 'POST', `/v1/agent/conversations/${conversation.id}/pivot-links`, { origin: CHAT_TEST, token: agent })).status).toBe(201);
      const link = sent[0]!;
      const code = new URLSearchParams(new URL(link).hash.slice(1)).get('pivot')!;
      // fetch(), like every HTTP client, drops the fragment: the bank page sees no code.
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(page.url).not.toContain(code);
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const redeemed = await call(chat, 'POST', '/v1/pivot-links/redeem', { body: { code } });
      expect(redeemed.status).toBe(201);
      expect(redeemed.body).toMatchObject({ conversationId: conversation.id, acr: 'channel' });
    } finally {
      await chat.close();
      rmSync(chatDir, { recursive: true, force: true });
    }
  });
});
