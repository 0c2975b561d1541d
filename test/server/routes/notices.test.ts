import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { CHAT_MAX_BODY_BYTES } from '../../../server/app.ts';
import {
  VAULT_NOTICE_BATCH_MAX,
  VAULT_NOTICE_MAX_BODY_BYTES,
  VAULT_NOTICE_MAX_CHARS,
  VAULT_NOTICE_TYP,
  VaultNoticeBatchResponseSchema,
} from '../../../protocol/vault-api.ts';
import * as v from 'valibot';
import { cardProvidedText } from '../../../server/conversations/chat-service.ts';
import {
  BANK,
  CHAT,
  VAULT,
  agentSession,
  call,
  chatTest,
  createStep,
  customerSession,
  customerSocket,
  schemaViolations,
  startChat,
  type Running,
} from '../helpers.ts';

/** A stand-in for the vault service's JWKS endpoint, with its own ES256 key. */
let jwksServer: Server;
let jwksUrl: string;
let vaultKey: CryptoKey;
const VAULT_KID = 'vault-test-1';

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  vaultKey = pair.privateKey;
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: VAULT_KID, alg: 'ES256', use: 'sig' };
  jwksServer = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  await new Promise((resolve) => jwksServer.close(resolve));
});

interface Flow {
  conversationId: string;
  stepId: string;
  pivotJti: string;
  customerToken: string;
}

const it = chatTest.override('chatSetup', () => ({ env: { CHAT_VAULT_JWKS_URL: jwksUrl } }));

describe('POST /v1/vault/notices', () => {

  afterEach(() => expect(schemaViolations).toEqual([]));

  async function flow(run: Running, subject = 'alice'): Promise<Flow> {
    const agent = await agentSession(run);
    const { token, conversationId } = await customerSession(run, subject);
    const { stepId } = await createStep(run, agent, conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    return { conversationId, stepId, pivotJti: decodeJwt(res.body['token'] as string).jti!, customerToken: token };
  }

  function claimsFor(f: Flow, overrides: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: VAULT,
      aud: CHAT,
      jti: randomBytes(16).toString('base64url'),
      iat: now,
      exp: now + 60,
      cnv: f.conversationId,
      stp: f.stepId,
      ptj: f.pivotJti,
      event: 'card_tokenized',
      card: { token: `tok_${randomBytes(16).toString('base64url')}`, brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
      ...overrides,
    };
  }

  async function sign(payload: JWTPayload, key: CryptoKey = vaultKey, header: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid: VAULT_KID, ...header }).sign(key);
  }

  const post = (run: Running, notice: string, origin: string | null = null) => call(run, 'POST', '/v1/vault/notices', { body: { notice }, origin });

  it('completes the step and appends "Card provided: Visa •••• 4242"', async ({ run }) => {
    const f = await flow(run);
    const socket = await customerSocket(run, f.customerToken);
    const res = await post(run, await sign(claimsFor(f)));
    expect(res.status).toBe(200);
    const pushed = await socket.waitFor('event', (e) => e.event.kind === 'step_completed');
    expect(pushed.event).toMatchObject({
      kind: 'step_completed',
      stepId: f.stepId,
      card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
      text: 'Card provided: Visa •••• 4242',
    });
    expect(JSON.stringify(pushed.event)).not.toContain('tok_');
    socket.close();

    const again = await call(run, 'POST', `/v1/steps/${f.stepId}/pivot-token`, { token: f.customerToken });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'STEP_ALREADY_COMPLETED' } } });
  });

  it('names card brands as people write them', () => {
    expect(cardProvidedText({ brand: 'mastercard', last4: '4444' })).toBe('Card provided: Mastercard •••• 4444');
    expect(cardProvidedText({ brand: 'amex', last4: '0005' })).toBe('Card provided: American Express •••• 0005');
    expect(cardProvidedText({ brand: 'discover', last4: '9424' })).toBe('Card provided: Discover •••• 9424');
  });

  it('answers a second card for a completed step with STEP_ALREADY_COMPLETED, then NOTICE_REPLAYED on retry', async ({ run }) => {
    const f = await flow(run);
    expect((await post(run, await sign(claimsFor(f)))).status).toBe(200);
    const second = claimsFor(f);
    expect(await post(run, await sign(second))).toMatchObject({ status: 409, body: { error: { code: 'STEP_ALREADY_COMPLETED' } } });
    expect(await post(run, await sign(second))).toMatchObject({ status: 409, body: { error: { code: 'NOTICE_REPLAYED' } } });
  });

  it('refuses a replayed notice with 409 NOTICE_REPLAYED', async ({ run }) => {
    const f = await flow(run);
    const notice = await sign(claimsFor(f));
    expect((await post(run, notice)).status).toBe(200);
    expect(await post(run, notice)).toMatchObject({ status: 409, body: { error: { code: 'NOTICE_REPLAYED' } } });
  });

  it('refuses a notice signed with another key, expired, or for another audience with 401', async ({ run }) => {
    const f = await flow(run);
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      await sign(claimsFor(f), stranger),
      await sign(claimsFor(f), stranger, { kid: 'unknown-kid' }),
      await sign(claimsFor(f, { iat: now - 600, exp: now - 300 })),
      await sign(claimsFor(f, { aud: 'http://other.localhost:1' })),
      await sign(claimsFor(f, { iss: 'http://evil.localhost:1' })),
      await sign(claimsFor(f), vaultKey, { typ: 'JWT' }),
      await sign(claimsFor(f, { event: 'card_deleted' })),
      await sign(claimsFor(f, { exp: now + 3600 })),
      'not.a.jws',
    ];
    for (const notice of cases) {
      expect(await post(run, notice)).toMatchObject({ status: 401, body: { error: { code: 'NOTICE_INVALID' } } });
    }
    // Nothing was applied: the genuine notice still works.
    expect((await post(run, await sign(claimsFor(f)))).status).toBe(200);
  });

  it('refuses an unsigned (alg none) or HMAC notice', async ({ run }) => {
    const f = await flow(run);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: VAULT_NOTICE_TYP })).toString('base64url');
    const body = Buffer.from(JSON.stringify(claimsFor(f))).toString('base64url');
    expect((await post(run, `${header}.${body}.`)).status).toBe(401);
    const hmac = await new SignJWT(claimsFor(f)).setProtectedHeader({ alg: 'HS256', typ: VAULT_NOTICE_TYP }).sign(randomBytes(32));
    expect((await post(run, hmac)).status).toBe(401);
  });

  it('refuses a notice whose ptj the chat never issued for that step', async ({ run }) => {
    const f = await flow(run);
    const other = await flow(run, 'bob');
    expect(await post(run, await sign(claimsFor(f, { ptj: 'ptj_never_issued_by_chat' })))).toMatchObject({
      status: 401,
      body: { error: { code: 'NOTICE_INVALID' } },
    });
    // A real jti, but of another step.
    expect((await post(run, await sign(claimsFor(f, { ptj: other.pivotJti })))).status).toBe(401);
    // A step that is not in the named conversation.
    expect((await post(run, await sign(claimsFor(f, { stp: other.stepId })))).status).toBe(401);
  });

  it('is server-to-server only: any browser Origin is refused', async ({ run }) => {
    const f = await flow(run);
    expect(await post(run, await sign(claimsFor(f)), BANK)).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
    const preflight = await call(run, 'OPTIONS', '/v1/vault/notices', { origin: BANK, headers: { 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  describe('batches ({ notices })', () => {
    const postBatch = (run: Running, notices: string[]) => call(run, 'POST', '/v1/vault/notices', { body: { notices }, origin: null });
    const stepCompleted = async (run: Running, f: Flow) =>
      (await call(run, 'POST', `/v1/steps/${f.stepId}/pivot-token`, { token: f.customerToken })).body['error'];

    it('applies several notices of one POST, each as the single form would, with one result per notice in order', async ({ run }) => {
      const flows = [await flow(run, 'alice'), await flow(run, 'bob'), await flow(run, 'carol')];
      const claims = flows.map((f) => claimsFor(f));
      const res = await postBatch(run, await Promise.all(claims.map((c) => sign(c))));
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(v.parse(VaultNoticeBatchResponseSchema, res.body)).toEqual({ results: claims.map((c) => ({ jti: c.jti, status: 'accepted' })) });
      for (const f of flows) expect(await stepCompleted(run, f)).toMatchObject({ code: 'STEP_ALREADY_COMPLETED' });
    });

    it('answers accepted, replayed and invalid notices of one batch in order; only the genuine one is applied', async ({ run }) => {
      const f = await flow(run);
      const other = await flow(run, 'bob');
      const earlier = claimsFor(other);
      expect((await post(run, await sign(earlier))).status).toBe(200);
      const genuine = claimsFor(f);
      const late = claimsFor(f);
      const stranger = (await generateKeyPair('ES256')).privateKey;
      const socket = await customerSocket(run, f.customerToken);
      const res = await postBatch(run, [
        await sign(claimsFor(f), stranger),
        await sign(genuine),
        await sign(earlier),
        await sign(late),
        'not.a.jws',
      ]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        results: [
          { status: 'invalid', code: 'NOTICE_INVALID' },
          { jti: genuine.jti, status: 'accepted' },
          { jti: earlier.jti, status: 'replayed', code: 'NOTICE_REPLAYED' },
          { jti: late.jti, status: 'invalid', code: 'STEP_ALREADY_COMPLETED' },
          { status: 'invalid', code: 'NOTICE_INVALID' },
        ],
      });
      // The same events as the single form: one step_completed, carrying the genuine card.
      const pushed = await socket.waitFor('event', (e) => e.event.kind === 'step_completed');
      expect(pushed.event).toMatchObject({ stepId: f.stepId, card: { last4: '4242' } });
      socket.close();
      // The genuine notice is now a replay, alone or in a batch.
      expect(await post(run, await sign(genuine))).toMatchObject({ status: 409, body: { error: { code: 'NOTICE_REPLAYED' } } });
      expect((await postBatch(run, [await sign(genuine)])).body).toEqual({ results: [{ jti: genuine.jti, status: 'replayed', code: 'NOTICE_REPLAYED' }] });
    });

    it(`refuses an empty batch, more than VAULT_NOTICE_BATCH_MAX (${VAULT_NOTICE_BATCH_MAX}) notices, an over-long notice, or both forms at once, with 400`, async ({ run }) => {
      const f = await flow(run);
      const one = await sign(claimsFor(f));
      for (const body of [
        { notices: [] },
        { notices: Array.from({ length: VAULT_NOTICE_BATCH_MAX + 1 }, () => one) },
        { notices: ['x'.repeat(VAULT_NOTICE_MAX_CHARS + 1)] },
        { notice: one, notices: [one] },
        { notices: one },
      ]) {
        expect(await call(run, 'POST', '/v1/vault/notices', { body, origin: null })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
      }
      // Nothing was applied.
      expect((await post(run, one)).status).toBe(200);
    });

    it(`accepts a body of a full batch of the longest notices (VAULT_NOTICE_MAX_BODY_BYTES = ${VAULT_NOTICE_MAX_BODY_BYTES}), and refuses a larger one with 413`, async ({ run }) => {
      const full = Array.from({ length: VAULT_NOTICE_BATCH_MAX }, () => 'x'.repeat(VAULT_NOTICE_MAX_CHARS));
      expect(JSON.stringify({ notices: full }).length).toBeLessThanOrEqual(VAULT_NOTICE_MAX_BODY_BYTES);
      expect(VAULT_NOTICE_MAX_BODY_BYTES).toBeGreaterThan(CHAT_MAX_BODY_BYTES);
      const res = await postBatch(run, full);
      expect(res.status).toBe(200);
      expect(res.body['results']).toHaveLength(VAULT_NOTICE_BATCH_MAX);
      expect((res.body['results'] as { status: string }[]).every((r) => r.status === 'invalid')).toBe(true);

      const tooLarge = await run.server.app.inject({
        method: 'POST',
        url: '/v1/vault/notices',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ notices: ['x'.repeat(VAULT_NOTICE_MAX_BODY_BYTES)] }),
      });
      expect(tooLarge.statusCode).toBe(413);
      expect(tooLarge.json()).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
      // Other routes keep the server's default limit.
      const session = await call(run, 'POST', '/v1/sessions', { body: { displayName: 'x'.repeat(CHAT_MAX_BODY_BYTES) } });
      expect(session).toMatchObject({ status: 413, body: { error: { code: 'BODY_TOO_LARGE' } } });
    });

    it('still accepts the single { notice } form, answered { accepted, seq }', async ({ run }) => {
      const f = await flow(run);
      const res = await post(run, await sign(claimsFor(f)));
      expect(res).toMatchObject({ status: 200, body: { accepted: true, seq: expect.any(Number) } });
    });
  });

  it('answers a batch with 502 JWKS_UNAVAILABLE (the whole request) when the vault keys cannot be fetched', async ({ dir, onTestFinished }) => {
    const run = await startChat(dir, { CHAT_VAULT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json' })
    onTestFinished(() => run.close());
    const f = await flow(run);
    const res = await call(run, 'POST', '/v1/vault/notices', { body: { notices: [await sign(claimsFor(f)), await sign(claimsFor(f))] }, origin: null });
    expect(res).toMatchObject({ status: 502, body: { error: { code: 'JWKS_UNAVAILABLE' } } });
  });

  it('answers 502 JWKS_UNAVAILABLE when the vault keys cannot be fetched', async ({ dir, onTestFinished }) => {
    const run = await startChat(dir, { CHAT_VAULT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json' })
    onTestFinished(() => run.close());
    const f = await flow(run);
    expect(await post(run, await sign(claimsFor(f)))).toMatchObject({ status: 502, body: { error: { code: 'JWKS_UNAVAILABLE' } } });
  });
});
