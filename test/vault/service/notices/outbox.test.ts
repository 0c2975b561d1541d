import { createServer } from 'node:net';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { VAULT_NOTICE_BATCH_MAX, VAULT_NOTICE_TTL_S, VAULT_NOTICE_TYP, VaultNoticeClaimsSchema, VaultNoticeEnvelopeSchema } from '../../../../protocol/vault-api.ts';
import { NOTICE_BATCH_SIZE, backoffMs, readAnswer } from '../../../../vault/service/notices/outbox.ts';
import { CHAT_ORIGIN, VAULT_ORIGIN, createIssuer, listen, logCapture, pivotClaims, postTokens, startVault, tempDir, tokenizeBody, waitFor, type TestServer, type VaultFixture } from '../../helpers.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/**
 * A stand-in for the chat server's notice endpoint: `respond` answers the single `{ notice }` form
 * (n = notices received so far), `respondBatch` the `{ notices }` form (default: all accepted).
 */
async function receiver(
  respond: (n: number) => { status: number; body?: unknown } = () => ({ status: 202 }),
  respondBatch: (batch: string[]) => { status: number; body?: unknown } = (batch) => ({
    status: 200,
    body: { results: batch.map((n) => ({ jti: jtiOf(n), status: 'accepted' })) },
  }),
): Promise<TestServer & { notices: string[]; posts: string[][] }> {
  const notices: string[] = [];
  const posts: string[][] = [];
  const server = await listen((req, res, body) => {
    const parsed = v.safeParse(VaultNoticeEnvelopeSchema, JSON.parse(body || 'null'));
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json' || !parsed.success) {
      res.writeHead(400).end();
      return;
    }
    const batch = 'notice' in parsed.output ? [parsed.output.notice] : parsed.output.notices;
    notices.push(...batch);
    posts.push(batch);
    const { status, body: out } = 'notice' in parsed.output ? respond(notices.length) : respondBatch(batch);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out ?? {}));
  });
  return Object.assign(server, { notices, posts });
}

const jtiOf = (notice: string): string => decodeJwt(notice).jti!;

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
    // One more worker pass, awaited: nothing is owed, so nothing is sent again.
    await vault.service.notices.deliverDue();
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
    await vault.service.notices.deliverDue();
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

/**
 * A vault whose first attempts found the chat server down (no retry for a minute), holding `count`
 * undelivered notices; the receiver then comes up on that port and the notices are made due, so
 * the next worker pass finds them all at once.
 */
async function backlog(count: number, chat: Awaited<ReturnType<typeof receiver>>) {
  const port = (chat.server.address() as { port: number }).port;
  chat.server.close();
  const log = logCapture();
  const vault = await startVault({
    noticeUrl: `http://127.0.0.1:${port}/v1/vault/notices`,
    tuning: { noticeRetryInitialMs: 60_000, noticeRetryMaxMs: 60_000 },
    deps: { logStream: log.stream },
  });
  cleanup.push(() => vault.close());
  for (let i = 0; i < count; i++) {
    expect((await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims())))).statusCode).toBe(201);
  }
  const rows = () => vault.service.db.selectFrom('notice_outbox').selectAll().orderBy('created_at').execute();
  await waitFor(async () => (await rows()).filter((r) => r.attempts >= 1).length === count);
  const ids = (await rows()).map((r) => r.id);
  await new Promise<void>((r) => chat.server.listen(port, '127.0.0.1', r));
  const makeDue = () => vault.service.db.updateTable('notice_outbox').set({ next_attempt_at: 0 }).execute();
  await makeDue();
  return { vault, log, ids, rows, makeDue };
}

describe('batched notices', () => {
  it('sends the notices due together in ONE post of separately signed notices, each verified and delivered', async () => {
    const chat = await receiver();
    cleanup.push(() => chat.close());
    const { vault, ids } = await backlog(5, chat);
    await waitFor(async () => (await vault.service.db.selectFrom('notice_outbox').selectAll().execute()).length === 0);
    expect(chat.posts).toHaveLength(1);
    expect(chat.posts[0]!.map(jtiOf).sort()).toEqual([...ids].sort());
    const jwks = await vaultJwks(vault);
    for (const notice of chat.posts[0]!) {
      const { payload } = await jwtVerify(notice, jwks, { algorithms: ['ES256'], typ: VAULT_NOTICE_TYP, issuer: VAULT_ORIGIN, audience: CHAT_ORIGIN });
      expect(v.parse(VaultNoticeClaimsSchema, payload).event).toBe('card_tokenized');
    }
    await vault.service.notices.deliverDue();
    expect(chat.posts).toHaveLength(1);
  });

  it('marks accepted and replayed results delivered, retries an invalid one with the backoff, and logs it', async () => {
    let batches = 0;
    const chat = await receiver(undefined, (batch) => {
      batches++;
      const status = ['accepted', 'replayed', 'invalid'] as const;
      return {
        status: 200,
        body: { results: batch.map((n, i) => ({ jti: jtiOf(n), status: status[i], ...(i === 2 ? { code: 'NOTICE_INVALID' } : {}) })) },
      };
    });
    cleanup.push(() => chat.close());
    const started = Date.now();
    const { log, rows, makeDue } = await backlog(3, chat);
    await waitFor(async () => (await rows()).length === 1);
    const sent = chat.posts[0]!.map(jtiOf);
    expect(sent).toHaveLength(3);
    const [left] = await rows();
    expect(left).toMatchObject({ id: sent[2], attempts: 2, last_error: 'invalid NOTICE_INVALID' });
    // Retried after the backoff (60 s here, jittered down to half at least), counted from the
    // attempt, which came after `started`: a bound no slow machine can break.
    expect(left!.next_attempt_at).toBeGreaterThanOrEqual(started + 30_000);
    expect(log.text()).toContain('notice not delivered; will retry');
    expect(log.text()).toContain(sent[2]);
    // Once due again it is sent again (alone: the single form), same jti, fresh signature, and delivered.
    await makeDue();
    await waitFor(async () => (await rows()).length === 0);
    expect(batches).toBe(1);
    expect(chat.posts.at(-1)!.map(jtiOf)).toEqual([sent[2]]);
    expect(chat.posts.at(-1)![0]).not.toBe(chat.posts[0]![2]);
  });

  it('retries every notice of a batch whose answer does not match it (no results, wrong count or jti, non-2xx)', async () => {
    const answers = [
      { status: 200, body: {} },
      { status: 200, body: { results: [{ status: 'accepted' }] } },
      { status: 200, body: { results: [{ jti: 'ntc_not_one_of_the_sent_notices', status: 'accepted' }, { status: 'accepted' }] } },
      { status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: '' } } },
    ];
    const expected = ['bad response', 'bad response', 'bad response', 'http 413'];
    let n = 0;
    const chat = await receiver(undefined, (batch) => answers[n++] ?? { status: 200, body: { results: batch.map((x) => ({ jti: jtiOf(x), status: 'accepted' })) } });
    cleanup.push(() => chat.close());
    const { rows, makeDue } = await backlog(2, chat);
    for (const [i, reason] of expected.entries()) {
      // Attempt 1 found the receiver down; attempt i + 2 got answers[i].
      await waitFor(async () => (await rows()).every((r) => r.attempts === i + 2));
      expect(chat.posts).toHaveLength(i + 1);
      expect(await rows()).toEqual([expect.objectContaining({ last_error: reason }), expect.objectContaining({ last_error: reason })]);
      await makeDue();
    }
    // Then an answer that matches: both delivered.
    await waitFor(async () => (await rows()).length === 0);
    expect(chat.posts.every((p) => p.length === 2)).toBe(true);
  });

  it('reads answers exactly: one result per notice, in order', () => {
    const ids = ['ntc_aaaaaaaaaaaaaaaaaaaa', 'ntc_bbbbbbbbbbbbbbbbbbbb'];
    expect(readAnswer(ids, 200, { results: [{ jti: ids[0], status: 'replayed' }, { status: 'invalid', code: 'STEP_ALREADY_COMPLETED' }] })).toEqual([
      { delivered: true, status: 'replayed' },
      { delivered: false, reason: 'invalid STEP_ALREADY_COMPLETED' },
    ]);
    expect(readAnswer(ids, 200, { results: [{ jti: ids[1], status: 'accepted' }, { jti: ids[0], status: 'accepted' }] })).toEqual([
      { delivered: false, reason: 'bad response' },
      { delivered: false, reason: 'bad response' },
    ]);
    expect(readAnswer(ids, 502, null).map((o) => o.delivered)).toEqual([false, false]);
    // The single form: any 2xx, or 409 NOTICE_REPLAYED.
    expect(readAnswer(ids.slice(0, 1), 202, null)).toEqual([{ delivered: true, status: '202' }]);
    expect(readAnswer(ids.slice(0, 1), 409, { error: { code: 'NOTICE_REPLAYED' } })[0]!.delivered).toBe(true);
    expect(readAnswer(ids.slice(0, 1), 409, { error: { code: 'STEP_ALREADY_COMPLETED' } })[0]!.delivered).toBe(false);
  });

  it(`sends at most NOTICE_BATCH_SIZE (${VAULT_NOTICE_BATCH_MAX}) notices per post`, async () => {
    expect(NOTICE_BATCH_SIZE).toBe(VAULT_NOTICE_BATCH_MAX);
    const chat = await receiver();
    cleanup.push(() => chat.close());
    const { vault, rows } = await backlog(NOTICE_BATCH_SIZE + 3, chat);
    // Two worker passes (one per NOTICE_BATCH_SIZE due rows); every post within the limit.
    await vault.service.notices.deliverDue();
    await waitFor(async () => (await rows()).length === 0);
    expect(chat.notices).toHaveLength(NOTICE_BATCH_SIZE + 3);
    expect(Math.max(...chat.posts.map((p) => p.length))).toBeLessThanOrEqual(NOTICE_BATCH_SIZE);
    expect(chat.posts.length).toBeGreaterThanOrEqual(2);
  }, 30_000);
});

describe('backoffMs', () => {
  it('doubles from the initial delay up to the cap, with jitter in [half, full]', () => {
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(2, 1000, 60_000, () => 1)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
