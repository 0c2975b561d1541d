/**
 * Attacks on the tokenize request itself (POST /v1/tokens of the REAL vault service): replay,
 * races, size, parsing, media type, Origin, schema strictness. Each asserts the HTTP status and
 * the stable `error.code`.
 */
import { describe, expect } from 'vitest';
import { TOKENIZE_MAX_BODY_BYTES } from '../../protocol/vault-api.ts';
import { MASTERCARD, VISA, VAULT_ORIGIN, pivotClaims, postTokens, startVault, tempDir, tokenizeBody, vaultTest } from '../vault/helpers.ts';

/** The file's vault, also listening over HTTP at `address`; `cardsFor` lists the cards stored under a jti. */
const it = vaultTest
  .extend('address', { scope: 'file' }, ({ vault }) => vault.service.app.listen({ host: '127.0.0.1', port: 0 }))
  .extend('cardsFor', { scope: 'file' }, ({ vault }) => (jti: string) => vault.service.db.selectFrom('cards').select('token').where('pivot_jti', '=', jti).execute());

const jtiOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

function errorOf(res: { statusCode: number; body: string }): { status: number; code: string | undefined } {
  let code: string | undefined;
  try {
    code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.statusCode, code };
}

describe('attack: tokenize request (POST /v1/tokens)', () => {
  it('replayed jti: the second POST of a used pivot token -> 409 TOKEN_REPLAYED', async ({ vault, newToken, cardsFor }) => {
    const token = await newToken();
    expect((await postTokens(vault.service, tokenizeBody(token))).statusCode).toBe(201);
    const again = await postTokens(vault.service, tokenizeBody(token, { number: MASTERCARD }));
    expect(errorOf(again)).toEqual({ status: 409, code: 'TOKEN_REPLAYED' });
    expect(await cardsFor(jtiOf(token))).toHaveLength(1);
  });

  it('race: 20 concurrent POSTs with the same pivot token over HTTP -> exactly one 201, nineteen 409 TOKEN_REPLAYED', async ({ newToken, address, cardsFor }) => {
    const token = await newToken();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${address}/v1/tokens`, {
          method: 'POST',
          headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json' },
          body: JSON.stringify(tokenizeBody(token, { number: i % 2 ? MASTERCARD : VISA })),
        }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { error?: { code?: string } }).error?.code })),
      ),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.status !== 201)).toEqual(Array.from({ length: 19 }, () => ({ status: 409, code: 'TOKEN_REPLAYED' })));
    expect(await cardsFor(jtiOf(token))).toHaveLength(1);
  });

  it('replayed jti across a service restart (same data directory) -> 409 TOKEN_REPLAYED', async ({ vault }) => {
    const dir = tempDir();
    const first = await startVault({ dataDir: dir.path, issuer: vault.issuer });
    const token = await vault.issuer.sign(pivotClaims());
    try {
      expect((await postTokens(first.service, tokenizeBody(token))).statusCode).toBe(201);
    } finally {
      await first.close();
    }
    const second = await startVault({ dataDir: dir.path, issuer: vault.issuer });
    try {
      const again = await postTokens(second.service, tokenizeBody(token, { number: MASTERCARD }));
      expect(errorOf(again)).toEqual({ status: 409, code: 'TOKEN_REPLAYED' });
      const cards = await second.service.db.selectFrom('cards').select('token').where('pivot_jti', '=', jtiOf(token)).execute();
      expect(cards).toHaveLength(1);
    } finally {
      await second.close();
      dir.remove();
    }
  });

  it(`oversized body (> TOKENIZE_MAX_BODY_BYTES = ${TOKENIZE_MAX_BODY_BYTES}) -> 413 BODY_TOO_LARGE`, async ({ vault, newToken }) => {
    const base = JSON.stringify(tokenizeBody(await newToken()));
    const over = base.slice(0, -1) + ' '.repeat(TOKENIZE_MAX_BODY_BYTES - base.length + 1) + '}';
    expect(Buffer.byteLength(over)).toBe(TOKENIZE_MAX_BODY_BYTES + 1);
    expect(errorOf(await postTokens(vault.service, over))).toEqual({ status: 413, code: 'BODY_TOO_LARGE' });
    const huge = JSON.stringify({ ...tokenizeBody(await newToken()), pad: 'x'.repeat(1024 * 1024) });
    expect(errorOf(await postTokens(vault.service, huge))).toEqual({ status: 413, code: 'BODY_TOO_LARGE' });
  });

  it('oversized body over real HTTP, streamed without Content-Length -> 413 BODY_TOO_LARGE', async ({ address }) => {
    const chunk = new TextEncoder().encode(' '.repeat(4096));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 64) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${address}/v1/tokens`, {
      method: 'POST',
      headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
  });

  it('malformed JSON carrying a PAN and a token -> 400 BAD_REQUEST, and the response does not echo the input', async ({ vault, newToken }) => {
    const token = await newToken();
    const inputs = [
      `{"pivotToken":"${token}","card":{"number":"${VISA}",`,
      `{"pivotToken":"${token}","card":{"number":${VISA}x}}`,
      `{'card': '${VISA}'}`,
      `${VISA}`.slice(0, 12) + 'garbage',
    ];
    for (const input of inputs) {
      const res = await postTokens(vault.service, input);
      expect(errorOf(res), input).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
      expect(res.body).not.toContain(VISA);
      expect(res.body).not.toContain(VISA.slice(0, 12));
      expect(res.body).not.toContain(token.split('.')[1]!.slice(0, 24));
      expect(res.body).not.toMatch(/Unexpected token|position \d+|SyntaxError|at .*\.ts/);
    }
    // None of them consumed the token.
    expect((await postTokens(vault.service, tokenizeBody(token))).statusCode).toBe(201);
  });

  it('wrong content type (text/plain, urlencoded form, multipart form, none) -> 415 UNSUPPORTED_MEDIA_TYPE', async ({ vault, newToken, cardsFor }) => {
    const token = await newToken();
    const json = JSON.stringify(tokenizeBody(token));
    const cases: [string | undefined, string][] = [
      ['text/plain', json],
      ['text/plain;charset=UTF-8', json],
      ['application/x-www-form-urlencoded', `pivotToken=${token}&card[number]=${VISA}`],
      ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="pivotToken"\r\n\r\n${token}\r\n--x--\r\n`],
    ];
    for (const [type, payload] of cases) {
      const res = await postTokens(vault.service, payload, type ? { 'content-type': type } : {});
      expect(errorOf(res), type).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    }
    const noType = await vault.service.app.inject({ method: 'POST', url: '/v1/tokens', headers: { origin: VAULT_ORIGIN }, payload: json });
    expect(noType.statusCode).toBe(415);
    expect(errorOf(noType).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await cardsFor(jtiOf(token))).toHaveLength(0);
  });

  it('foreign Origin header (the bank page, another site, "null", a look-alike) -> 403 ORIGIN_NOT_ALLOWED', async ({ vault, newToken, cardsFor }) => {
    const token = await newToken();
    for (const origin of ['http://bank.localhost:8080', 'http://evil.localhost:9999', 'null', 'http://vault.localhost:8083', 'https://vault.localhost:8082', `${VAULT_ORIGIN}.evil.example`]) {
      const res = await postTokens(vault.service, tokenizeBody(token), { origin });
      expect(errorOf(res), origin).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    }
    expect(await cardsFor(jtiOf(token))).toHaveLength(0);
  });

  it('missing Origin header -> 403 ORIGIN_NOT_ALLOWED', async ({ vault, newToken, cardsFor }) => {
    const token = await newToken();
    const res = await vault.service.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(tokenizeBody(token)),
    });
    expect(errorOf(res)).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await cardsFor(jtiOf(token))).toHaveLength(0);
  });

  it('extra unknown field in the body (top level, in card, __proto__) -> 400 BAD_REQUEST (strict schema)', async ({ vault, newToken, cardsFor }) => {
    const token = await newToken();
    const body = tokenizeBody(token);
    const payloads = [
      JSON.stringify({ ...body, amount: { minor: 1, currency: 'EUR' } }),
      JSON.stringify({ ...body, card: { ...body.card, pan: VISA } }),
      `{"__proto__":{"isAdmin":true},${JSON.stringify(body).slice(1)}`,
      `{"constructor":{"prototype":{"polluted":1}},${JSON.stringify(body).slice(1)}`,
    ];
    for (const payload of payloads) {
      const res = await postTokens(vault.service, payload);
      expect(errorOf(res), payload.slice(0, 40)).toEqual({ status: 400, code: 'BAD_REQUEST' });
    }
    expect(({} as Record<string, unknown>)['isAdmin']).toBeUndefined();
    expect(await cardsFor(jtiOf(token))).toHaveLength(0);
  });
});
