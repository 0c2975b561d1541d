import { createServer } from 'node:net';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { VAULT_NOTICE_TTL_S, VAULT_NOTICE_TYP, VaultNoticeClaimsSchema, VaultNoticeEnvelopeSchema } from '../../protocol/vault-api.ts';
import { backoffMs } from '../../vault/service/notices.ts';
import { CHAT_ORIGIN, VAULT_ORIGIN, createIssuer, listen, pivotClaims, postTokens, startVault, tempDir, tokenizeBody, waitFor, type TestServer, type VaultFixture } from './helpers.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A stand-in for the chat server's notice endpoint. */
async function receiver(respond: (n: number) => { status: number; body?: unknown } = () => ({ status: 202 })): Promise<TestServer & { notices: string[] }> {
  const notices: string[] = [];
  const server = await listen((req, res, body) => {
    const parsed = v.safeParse(VaultNoticeEnvelopeSchema, JSON.parse(body || 'null'));
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json' || !parsed.success) {
      res.writeHead(400).end();
      return;
    }
    notices.push(parsed.output.notice);
    const { status, body: out } = respond(notices.length);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out ?? {}));
  });
  return Object.assign(server, { notices });
}

async function vaultJwks(vault: VaultFixture) {
  return createLocalJWKSet((await vault.service.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The notice still owed to the chat server, or undefined once delivered (delivered rows are deleted). */
async function outboxRow(vault: VaultFixture, id: string) {
  return vault.service.db.selectFrom('notice_outbox').selectAll().where('id', '=', id).executeTakeFirst();
}

describe('notices to the chat server', () => {
  it('delivers a signed notice that verifies with the vault JWKS', async () => {
    const chat = await receiver();
    cleanup.push(() => chat.close());
    const vault = await startVault({ noticeUrl: `${chat.url}/v1/vault/notices` });
    cleanup.push(() => vault.close());

    const claims = pivotClaims();
    const res = await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(claims)));
    expect(res.statusCode).toBe(201);
    const card = res.json();
    await waitFor(() => chat.notices.length === 1);

    const notice = chat.notices[0]!;
    expect(decodeProtectedHeader(notice)).toMatchObject({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid: expect.stringMatching(/^nk_/) });
    const { payload } = await jwtVerify(notice, await vaultJwks(vault), {
      algorithms: ['ES256'],
      typ: VAULT_NOTICE_TYP,
      issuer: VAULT_ORIGIN,
      audience: CHAT_ORIGIN,
      requiredClaims: ['jti', 'iat', 'exp'],
    });
    const parsed = v.parse(VaultNoticeClaimsSchema, payload);
    expect(parsed).toMatchObject({ cnv: claims.cnv, stp: (claims.step as { id: string }).id, ptj: claims.jti, event: 'card_tokenized', card });
    expect(parsed.exp - parsed.iat).toBe(VAULT_NOTICE_TTL_S);
    expect(notice).not.toContain('4242424242424242');
    // Delivered: nothing is owed any more.
    await waitFor(async () => (await vault.service.db.selectFrom('notice_outbox').selectAll().execute()).length === 0);
  });

  it('retries until a receiver that was down comes up, with a fresh signature and the same jti', async () => {
    const port = await freePort();
    const vault = await startVault({ noticeUrl: `http://127.0.0.1:${port}/v1/vault/notices` });
    cleanup.push(() => vault.close());
    expect((await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims())))).statusCode).toBe(201);
    const { id } = await vault.service.db.selectFrom('notice_outbox').select('id').executeTakeFirstOrThrow();
    await waitFor(async () => ((await outboxRow(vault, id))?.attempts ?? 0) >= 2);
    expect(await outboxRow(vault, id)).toMatchObject({ last_error: 'network' });

    const chat = await receiver();
    cleanup.push(() => chat.close());
    chat.server.close();
    await new Promise<void>((r) => chat.server.listen(port, '127.0.0.1', r));
    await waitFor(() => chat.notices.length >= 1);
    await waitFor(async () => (await outboxRow(vault, id)) === undefined);
    const { payload } = await jwtVerify(chat.notices[0]!, await vaultJwks(vault), { issuer: VAULT_ORIGIN, audience: CHAT_ORIGIN });
    expect(payload.jti).toBe(id);
  });

  it('retries after a 5xx answer, and stops once delivered', async () => {
    const chat = await receiver((n) => (n < 3 ? { status: 503 } : { status: 200 }));
    cleanup.push(() => chat.close());
    const vault = await startVault({ noticeUrl: chat.url });
    cleanup.push(() => vault.close());
    await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims())));
    const row = await vault.service.db.selectFrom('notice_outbox').selectAll().executeTakeFirstOrThrow();
    await waitFor(() => chat.notices.length === 3);
    await waitFor(async () => (await outboxRow(vault, row.id)) === undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(chat.notices).toHaveLength(3);
    expect(new Set(chat.notices.map((n) => JSON.parse(Buffer.from(n.split('.')[1]!, 'base64url').toString()).jti)).size).toBe(1);
  });

  it('treats 409 NOTICE_REPLAYED as delivered, and any other 409 as not', async () => {
    const chat = await receiver((n) => (n === 1 ? { status: 409, body: { error: { code: 'STEP_ALREADY_COMPLETED', message: '' } } } : { status: 409, body: { error: { code: 'NOTICE_REPLAYED', message: '' } } }));
    cleanup.push(() => chat.close());
    const vault = await startVault({ noticeUrl: chat.url });
    cleanup.push(() => vault.close());
    await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims())));
    const { id } = await vault.service.db.selectFrom('notice_outbox').select('id').executeTakeFirstOrThrow();
    await waitFor(async () => (await outboxRow(vault, id)) === undefined);
    expect(chat.notices).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(chat.notices).toHaveLength(2);
  });

  it('delivers notices left undelivered by a previous run when it starts', async () => {
    const dir = tempDir();
    cleanup.push(() => dir.remove());
    const issuer = await createIssuer();
    const first = await startVault({ dataDir: dir.path, issuer, noticeUrl: 'http://127.0.0.1:9/down', tuning: { noticeRetryInitialMs: 60_000, noticeRetryMaxMs: 60_000 } });
    expect((await postTokens(first.service, tokenizeBody(await issuer.sign(pivotClaims())))).statusCode).toBe(201);
    await waitFor(async () => (await first.service.db.selectFrom('notice_outbox').select('attempts').executeTakeFirstOrThrow()).attempts >= 1);
    await first.close();

    const chat = await receiver();
    cleanup.push(() => chat.close());
    // The row is not due for a minute: make it due, as time passing would.
    const second = await startVault({ dataDir: dir.path, issuer, noticeUrl: chat.url });
    cleanup.push(() => second.close());
    await second.service.db.updateTable('notice_outbox').set({ next_attempt_at: 0 }).execute();
    await waitFor(() => chat.notices.length === 1);
  });
});

describe('backoffMs', () => {
  it('doubles from the initial delay up to the cap, with jitter in [half, full]', () => {
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(2, 1000, 60_000, () => 1)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
