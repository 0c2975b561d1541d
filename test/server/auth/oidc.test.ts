import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ID_TOKEN_MAX_CHARS, ID_TOKEN_NONCE_TTL_S } from '../../../protocol/chat.ts';
import type { ChannelGateway, ChannelIdentity, OutboundLink } from '../../../server/channels/gateway.ts';
import { hashToken } from '../../../server/lib/ids.ts';
import { ID_TOKEN_CLOCK_SKEW_S, ID_TOKEN_MAX_AGE_S } from '../../../server/auth/oidc.ts';
import { channelLinkedText } from '../../../server/routes/sessions.ts';
import { STEP_UP_TEXT } from '../../../server/conversations/chat-service.ts';
import { startBankServer, type BankServer } from '../../../demo/bank-server.ts';
import { BANK, CHAT, agentSession, call, customerSession, removeDir, startChat, tempDir, type Running } from '../helpers.ts';

const ISSUER = 'https://login.bank.example';
const CLIENT_ID = 'secure-pivot-chat';

/** The bank IdP's key endpoint: a local HTTP server publishing jose-generated keys. */
let jwksServer: Server;
let jwksUrl: string;
let jwksStatus = 200;
let jwksFetches = 0;
let rsa: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
let ec: { privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };

beforeAll(async () => {
  const makeKey = async (alg: 'RS256' | 'ES256', kid: string) => {
    const pair = await generateKeyPair(alg, { extractable: true });
    return { ...pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
  };
  rsa = await makeKey('RS256', 'rsa-1');
  ec = await makeKey('ES256', 'ec-1');
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    if (jwksStatus !== 200) return void res.writeHead(jwksStatus).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

class OneConversationGateway implements ChannelGateway {
  readonly identities = new Map<string, ChannelIdentity>();
  readonly sent: OutboundLink[] = [];
  async identityFor(conversationId: string) {
    return this.identities.get(conversationId) ?? null;
  }
  async sendLink(_conversationId: string, link: OutboundLink): Promise<void> {
    this.sent.push(link);
  }
  async sendPrivateText(): Promise<void> {}
  async sendSms(): Promise<void> {}
}

let dir: string;
let run: Running;
let now: number;
let gateway: OneConversationGateway;

beforeEach(async () => {
  dir = tempDir();
  now = Date.now();
  jwksStatus = 200;
  gateway = new OneConversationGateway();
  run = await startChat(dir, { BANK_IDP_ISSUER: ISSUER, BANK_IDP_JWKS_URL: jwksUrl }, { clock: () => now, channels: gateway });
});
afterEach(async () => {
  await run.close();
  removeDir(dir);
});

interface TokenOptions {
  sub?: string;
  nonce?: string | null;
  iss?: string;
  aud?: string;
  iat?: number;
  exp?: number;
  key?: 'rsa' | 'ec';
  kid?: string;
}

async function idToken(options: TokenOptions = {}): Promise<string> {
  const key = options.key === 'ec' ? ec : rsa;
  const iat = options.iat ?? Math.floor(now / 1000);
  const claims = options.nonce === null ? {} : { nonce: options.nonce ?? 'unset' };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.jwk.alg!, kid: options.kid ?? key.jwk.kid!, typ: 'JWT' })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? CLIENT_ID)
    .setSubject(options.sub ?? 'robert')
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + 300)
    .sign(key.privateKey);
}

async function nonceFor(token: string): Promise<string> {
  const res = await call(run, 'POST', '/v1/sessions/nonce', { token });
  expect(res.status).toBe(201);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body['expiresAt']).toBe(new Date(now + ID_TOKEN_NONCE_TTL_S * 1000).toISOString());
  return res.body['nonce'] as string;
}

const stepUp = (token: string, idTokenValue: string) =>
  call(run, 'POST', '/v1/sessions/step-up', { token, body: { assertion: { type: 'oidc', idToken: idTokenValue } } });

/** An anonymous session and a token for it with a fresh nonce. */
async function prepared(options: TokenOptions = {}) {
  const session = await customerSession(run);
  const nonce = await nonceFor(session.token);
  return { session, nonce, token: await idToken({ nonce, ...options }) };
}

async function expectRefused(res: Awaited<ReturnType<typeof stepUp>>, code: string, status: number, sessionToken: string) {
  expect(res.body).toMatchObject({ error: { code } });
  expect(res.status).toBe(status);
  // Nothing changed: the session is still anonymous.
  const ticket = await call(run, 'POST', '/v1/ws-tickets', { token: sessionToken });
  expect(ticket.status).toBe(201);
  expect((await run.server.context.store.sessions.findByTokenHash(hashToken(sessionToken)))?.acr).toBe('none');
}

describe('bank id_token step-up', () => {
  it('raises the session to bank for a valid token with this session\'s nonce (RS256 and ES256)', async () => {
    for (const key of ['rsa', 'ec'] as const) {
      const { session, token } = await prepared({ key, sub: `cust-${key}` });
      const res = await stepUp(session.token, token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ conversationId: session.conversationId, acr: 'bank' });
      const customer = await run.server.context.store.customers.findBySubject(`cust-${key}`);
      expect(customer).toBeDefined();
      expect((await run.server.context.store.conversations.get(session.conversationId))?.acr).toBe('bank');
    }
  });

  it('refuses an expired token with ID_TOKEN_EXPIRED, past the clock skew only', async () => {
    const iat = Math.floor(now / 1000) - 400;
    const within = await prepared({ iat, exp: Math.floor(now / 1000) - ID_TOKEN_CLOCK_SKEW_S + 2 });
    expect((await stepUp(within.session.token, within.token)).status).toBe(200);
    const { session, token } = await prepared({ iat, exp: Math.floor(now / 1000) - ID_TOKEN_CLOCK_SKEW_S - 1 });
    await expectRefused(await stepUp(session.token, token), 'ID_TOKEN_EXPIRED', 401, session.token);
  });

  it(`refuses a token issued more than ID_TOKEN_MAX_AGE_S (${ID_TOKEN_MAX_AGE_S} s) ago, whatever its exp`, async () => {
    const iat = Math.floor(now / 1000) - ID_TOKEN_MAX_AGE_S - ID_TOKEN_CLOCK_SKEW_S - 1;
    const { session, token } = await prepared({ iat, exp: iat + 3600 * 24 });
    await expectRefused(await stepUp(session.token, token), 'ID_TOKEN_EXPIRED', 401, session.token);
  });

  it('refuses another issuer with ID_TOKEN_ISSUER_INVALID and another audience with ID_TOKEN_AUDIENCE_INVALID', async () => {
    const iss = await prepared({ iss: 'https://login.evil.example' });
    await expectRefused(await stepUp(iss.session.token, iss.token), 'ID_TOKEN_ISSUER_INVALID', 401, iss.session.token);
    const aud = await prepared({ aud: 'another-client' });
    await expectRefused(await stepUp(aud.session.token, aud.token), 'ID_TOKEN_AUDIENCE_INVALID', 401, aud.session.token);
  });

  it('refuses a bad signature, an unknown kid, alg none and HS256 keyed with the public key (ID_TOKEN_INVALID)', async () => {
    const { session, nonce } = await prepared();
    const good = await idToken({ nonce });
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flipped = signature.slice(0, 20) + (signature[20] === 'A' ? 'B' : 'A') + signature.slice(21);
    const forged = await idToken({ nonce, sub: 'mallory' });
    const spliced = `${header}.${forged.split('.')[1]}.${signature}`;
    const stranger = await generateKeyPair('RS256');
    const otherKey = await new SignJWT({ nonce })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setIssuer(ISSUER).setAudience(CLIENT_ID).setSubject('robert').setIssuedAt(Math.floor(now / 1000)).setExpirationTime(Math.floor(now / 1000) + 300)
      .sign(stranger.privateKey);
    const unknownKid = await idToken({ nonce, kid: 'rotated-away' });
    const none = new UnsecuredJWT({ nonce, sub: 'robert' }).setIssuer(ISSUER).setAudience(CLIENT_ID).setIssuedAt(Math.floor(now / 1000)).setExpirationTime('5m').encode();
    const pem = await exportSPKI(rsa.publicKey);
    const hs = await new SignJWT({ nonce })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setIssuer(ISSUER).setAudience(CLIENT_ID).setSubject('robert').setIssuedAt(Math.floor(now / 1000)).setExpirationTime(Math.floor(now / 1000) + 300)
      .sign(new TextEncoder().encode(pem));
    for (const [name, bad] of [['flipped', `${header}.${payload}.${flipped}`], ['spliced', spliced], ['other key', otherKey], ['unknown kid', unknownKid], ['hs256', hs]] as const) {
      const res = await stepUp(session.token, bad);
      expect(res.body, name).toMatchObject({ error: { code: 'ID_TOKEN_INVALID' } });
      expect(res.status, name).toBe(401);
    }
    // alg none has an empty signature: not even the protocol's token shape.
    expect((await stepUp(session.token, none)).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await stepUp(session.token, `${none}x`)).body).toMatchObject({ error: { code: 'ID_TOKEN_INVALID' } });
    // None of the failures used the nonce up.
    expect((await stepUp(session.token, good)).body).toMatchObject({ acr: 'bank' });
  });

  it('refuses a token longer than ID_TOKEN_MAX_CHARS before any verification', async () => {
    const { session, token } = await prepared();
    const long = `${token.split('.')[0]}.${'A'.repeat(ID_TOKEN_MAX_CHARS)}.${token.split('.')[2]}`;
    expect((await stepUp(session.token, long)).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('refuses a missing, unknown, foreign or reused nonce with ID_TOKEN_NONCE_INVALID', async () => {
    const { session, nonce } = await prepared();
    await expectRefused(await stepUp(session.token, await idToken({ nonce: null })), 'ID_TOKEN_NONCE_INVALID', 401, session.token);
    await expectRefused(await stepUp(session.token, await idToken({ nonce: 'x'.repeat(43) })), 'ID_TOKEN_NONCE_INVALID', 401, session.token);
    const other = await customerSession(run);
    const foreign = await nonceFor(other.token);
    await expectRefused(await stepUp(session.token, await idToken({ nonce: foreign })), 'ID_TOKEN_NONCE_INVALID', 401, session.token);
    const token = await idToken({ nonce });
    expect((await stepUp(session.token, token)).status).toBe(200);
    expect((await stepUp(session.token, token)).body).toMatchObject({ error: { code: 'ID_TOKEN_NONCE_INVALID' } });
    // A token for session A's nonce, replayed on session B.
    expect((await stepUp(other.token, token)).body).toMatchObject({ error: { code: 'ID_TOKEN_NONCE_INVALID' } });
  });

  it(`refuses a nonce older than ID_TOKEN_NONCE_TTL_S (${ID_TOKEN_NONCE_TTL_S} s)`, async () => {
    const session = await customerSession(run);
    const early = await nonceFor(session.token);
    now += ID_TOKEN_NONCE_TTL_S * 1000 - 1;
    expect((await stepUp(session.token, await idToken({ nonce: early }))).status).toBe(200);
    const other = await customerSession(run);
    const late = await nonceFor(other.token);
    now += ID_TOKEN_NONCE_TTL_S * 1000;
    expect((await stepUp(other.token, await idToken({ nonce: late }))).body).toMatchObject({ error: { code: 'ID_TOKEN_NONCE_INVALID' } });
  });

  it('needs a customer session for a nonce, and never accepts an id_token without one', async () => {
    expect((await call(run, 'POST', '/v1/sessions/nonce')).body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    const agent = await agentSession(run);
    expect((await call(run, 'POST', '/v1/sessions/nonce', { token: agent, origin: CHAT })).status).toBe(403);
    // A new session takes no identity at all: it starts anonymous, the id_token comes by step-up.
    const res = await call(run, 'POST', '/v1/sessions', { body: { assertion: { type: 'oidc', idToken: await idToken({ nonce: 'n'.repeat(43) }) } } });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
  });

  it('answers JWKS_UNAVAILABLE (502) when the IdP keys cannot be fetched, and recovers', async () => {
    jwksStatus = 503;
    const { session, nonce } = await prepared();
    const token = await idToken({ nonce });
    const res = await stepUp(session.token, token);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: { code: 'JWKS_UNAVAILABLE' } });
    jwksStatus = 200;
    expect((await stepUp(session.token, token)).body).toMatchObject({ acr: 'bank' });
  });

  it('refuses a login for another customer than the session\'s with IDENTITY_MISMATCH and changes nothing', async () => {
    const robert = await customerSession(run);
    const signedIn = await stepUp(robert.token, await idToken({ nonce: await nonceFor(robert.token), sub: 'robert' }));
    expect(signedIn.body).toMatchObject({ conversationId: robert.conversationId, acr: 'bank' });
    const before = await run.server.context.store.events.list(robert.conversationId, 0, 100);
    const nonce = await nonceFor(robert.token);
    const res = await stepUp(robert.token, await idToken({ nonce, sub: 'mallory' }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'IDENTITY_MISMATCH' } });
    expect(await run.server.context.store.customers.findBySubject('mallory')).toBeUndefined();
    expect(await run.server.context.store.events.list(robert.conversationId, 0, 100)).toEqual(before);
    const again = await stepUp(robert.token, await idToken({ nonce: await nonceFor(robert.token), sub: 'robert' }));
    expect(again.body).toMatchObject({ conversationId: robert.conversationId, acr: 'bank' });
  });

  it('links a Messenger customer to the bank customer on the first verified login, and tells the agent', async () => {
    const { store } = run.server.context;
    const customer = await store.customers.create({ subject: null, displayName: 'Robert (Messenger)' });
    const conversation = await store.conversations.create(customer.id, 'none', 'messenger');
    gateway.identities.set(conversation.id, { id: 'chi_robertmessenger', channel: 'messenger', customerId: customer.id });
    const agent = await agentSession(run);
    const sent = await captureLink(conversation.id, agent);
    const redeemed = await call(run, 'POST', '/v1/pivot-links/redeem', { body: { code: sent } });
    expect(redeemed.body).toMatchObject({ conversationId: conversation.id, acr: 'channel' });
    const session = redeemed.body['session'] as string;
    const res = await stepUp(session, await idToken({ nonce: await nonceFor(session), sub: 'robert' }));
    expect(res.body).toMatchObject({ conversationId: conversation.id, acr: 'bank' });
    expect((await store.customers.get(customer.id))?.subject).toBe('robert');
    const texts = (await store.events.list(conversation.id, 0, 100)).flatMap((e) => (e.kind === 'system' ? [e.text] : []));
    expect(texts.slice(-2)).toEqual([channelLinkedText('Messenger'), STEP_UP_TEXT]);
    expect(channelLinkedText('Messenger')).toBe('Messenger account linked to the bank customer');
    // Linked now: a later login as someone else is a mismatch.
    const mismatch = await stepUp(session, await idToken({ nonce: await nonceFor(session), sub: 'mallory' }));
    expect(mismatch.body).toMatchObject({ error: { code: 'IDENTITY_MISMATCH' } });
  });

  async function captureLink(conversationId: string, agent: string): Promise<string> {
    expect((await call(run, 'POST', `/v1/agent/conversations/${conversationId}/pivot-links`, { origin: CHAT, token: agent })).status).toBe(201);
    return new URLSearchParams(new URL(gateway.sent.at(-1)!.url).hash.slice(1)).get('pivot')!;
  }
});

describe('the demo bank IdP', () => {
  let bank: BankServer;
  beforeAll(async () => {
    bank = await startBankServer({ port: 0, host: '127.0.0.1', bankOrigin: BANK, dataDir: null, widgetDir: '/nonexistent' });
  });
  afterAll(() => bank.close());

  it('issues id_tokens the chat server verifies against its JWKS, for the widget\'s nonce', async () => {
    const chatDir = tempDir();
    const chat = await startChat(chatDir, { BANK_IDP_ISSUER: `${BANK}/idp`, BANK_IDP_JWKS_URL: `${bank.url}/idp/jwks.json` }, { channels: gateway });
    try {
      const discovery = (await (await fetch(`${bank.url}/idp/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery).toMatchObject({ issuer: `${BANK}/idp`, jwks_uri: `${BANK}/idp/jwks.json` });
      expect(chat.config.idp.issuer).toBe(discovery['issuer']);
      const session = await customerSession(chat);
      const nonceRes = await call(chat, 'POST', '/v1/sessions/nonce', { token: session.token });
      const nonce = nonceRes.body['nonce'] as string;
      const login = await fetch(`${bank.url}/idp/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: BANK },
        body: JSON.stringify({ username: 'robert', password: 'anything', nonce }),
      });
      expect(login.status).toBe(200);
      const { id_token } = (await login.json()) as { id_token: string };
      const res = await call(chat, 'POST', '/v1/sessions/step-up', { token: session.token, body: { assertion: { type: 'oidc', idToken: id_token } } });
      expect(res.body).toMatchObject({ acr: 'bank' });
      expect(await chat.server.context.store.customers.findBySubject('robert')).toBeDefined();
    } finally {
      await chat.close();
      removeDir(chatDir);
    }
  });
});
