import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { TOKENIZE_MAX_BODY_BYTES } from '../../../protocol/vault-api.ts';
import { openCard } from '../../../vault/service/keys/card-crypto.ts';
import { KEY_FILE_NAME } from '../../../vault/service/keys/key-provider.ts';
import { AMEX, MASTERCARD, VISA, nowS, postTokens, tokenizeBody, vaultTest } from '../helpers.ts';
import { secretsIn } from '../../secret-scan.ts';

const it = vaultTest;

/** Every byte of the database files (main file, WAL, shared memory). */
function dbBytes(dataDir: string): Buffer {
  return Buffer.concat(
    readdirSync(dataDir)
      .filter((f) => f.startsWith('vault.db'))
      .map((f) => readFileSync(join(dataDir, f))),
  );
}

describe('POST /v1/tokens', () => {
  it('tokenizes a card: 201 with an opaque token, display data only', async ({ vault, newToken }) => {
    const res = await postTokens(vault.service, tokenizeBody(await newToken()));
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({ token: expect.stringMatching(/^tok_[A-Za-z0-9_-]{16,64}$/), brand: 'visa', last4: '4242', expMonth: 12, expYear: new Date().getFullYear() + 3 });
    // Opaque: it does not carry the number (last 4 alone could turn up in a random token by chance).
    expect(body.token).not.toContain('4242424242424242');
  });

  it('stores the PAN encrypted, and neither the PAN nor the CVC appears in the database files', async ({ vault, newToken }) => {
    const cvc = '8513';
    const res = await postTokens(vault.service, tokenizeBody(await newToken(), { number: '3782 822463 10005', cvc, name: 'Ada Lovelace' }));
    expect(res.statusCode).toBe(201);
    const { token } = res.json();
    const row = await vault.service.db.selectFrom('cards').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ brand: 'amex', last4: '0005', exp_month: 12 });
    expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(row)).not.toContain('cvc');
    const key = await vault.service.keys.getDataKey(row.key_id);
    expect(openCard({ keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, tag: row.auth_tag }, token, key)).toEqual({ pan: AMEX, name: 'Ada Lovelace' });

    const bytes = dbBytes(vault.dataDir).toString('latin1');
    expect(secretsIn(bytes, [AMEX, '3782 822463 10005', VISA, MASTERCARD, cvc, '"cvc"', 'Ada Lovelace'])).toEqual([]);
  });

  it('refuses to decrypt a ciphertext moved to another row (the token is the AAD)', async ({ vault, newToken }) => {
    const a = (await postTokens(vault.service, tokenizeBody(await newToken()))).json();
    const b = (await postTokens(vault.service, tokenizeBody(await newToken(), { number: MASTERCARD }))).json();
    const rowA = await vault.service.db.selectFrom('cards').selectAll().where('token', '=', a.token).executeTakeFirstOrThrow();
    // Copy A's sealed card into B's row, as an attacker with database access might.
    await vault.service.db.updateTable('cards').set({ iv: rowA.iv, ciphertext: rowA.ciphertext, auth_tag: rowA.auth_tag, key_id: rowA.key_id }).where('token', '=', b.token).execute();
    const rowB = await vault.service.db.selectFrom('cards').selectAll().where('token', '=', b.token).executeTakeFirstOrThrow();
    const key = await vault.service.keys.getDataKey(rowB.key_id);
    expect(() => openCard({ keyId: rowB.key_id, iv: rowB.iv, ciphertext: rowB.ciphertext, tag: rowB.auth_tag }, b.token, key)).toThrow();
    expect(openCard({ keyId: rowB.key_id, iv: rowB.iv, ciphertext: rowB.ciphertext, tag: rowB.auth_tag }, a.token, key).pan).toBe(VISA);
  });

  it('refuses a replayed pivot token (409 TOKEN_REPLAYED)', async ({ vault, newToken }) => {
    const token = await newToken();
    expect((await postTokens(vault.service, tokenizeBody(token))).statusCode).toBe(201);
    const again = await postTokens(vault.service, tokenizeBody(token, { number: MASTERCARD }));
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ error: { code: 'TOKEN_REPLAYED', message: expect.any(String) } });
  });

  it('lets exactly one of 20 concurrent requests with the same pivot token succeed (over HTTP)', async ({ vault, newToken }) => {
    const address = await vault.service.app.listen({ host: '127.0.0.1', port: 0 });
    const token = await newToken();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${address}/v1/tokens`, {
          method: 'POST',
          headers: { origin: vault.config.origin, 'content-type': 'application/json' },
          body: JSON.stringify(tokenizeBody(token)),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } })),
      ),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = responses.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r).toMatchObject({ status: 409, body: { error: { code: 'TOKEN_REPLAYED' } } });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    const rows = await vault.service.db.selectFrom('cards').select('token').where('pivot_jti', '=', claims.jti).execute();
    expect(rows).toHaveLength(1);
  });

  it('does not consume the pivot token when the card is refused (422), so the customer can correct it', async ({ vault, newToken }) => {
    const token = await newToken();
    const bad = await postTokens(vault.service, tokenizeBody(token, { number: '4242424242424241' }));
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('CARD_NUMBER_INVALID');
    expect((await postTokens(vault.service, tokenizeBody(token))).statusCode).toBe(201);
  });

  it.for([
    [{ number: '4242424242424241' }, 'CARD_NUMBER_INVALID'],
    [{ number: '9999999999999995' }, 'CARD_BRAND_UNSUPPORTED'],
    [{ expMonth: 1, expYear: 2020 }, 'CARD_EXPIRED'],
    [{ expMonth: 1, expYear: 2099 }, 'CARD_EXPIRY_INVALID'],
    [{ cvc: '1234' }, 'CARD_CVC_INVALID'],
    [{ number: AMEX, cvc: '123' }, 'CARD_CVC_INVALID'],
  ] as const)('refuses card %o with 422 %s', async ([card, code], { vault, newToken }) => {
    const res = await postTokens(vault.service, tokenizeBody(await newToken(), card));
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe(code);
  });

  it('refuses a token that fails verification with its code (401)', async ({ vault, newToken }) => {
    const expired = await newToken({ iat: nowS() - 400, nbf: nowS() - 400, exp: nowS() - 200 });
    const res = await postTokens(vault.service, tokenizeBody(expired));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
    const foreign = await newToken({ origin: 'http://evil.localhost:8080' });
    expect((await postTokens(vault.service, tokenizeBody(foreign))).json().error.code).toBe('TOKEN_ORIGIN_MISMATCH');
  });

  it('refuses a request from another Origin, or without one (403 ORIGIN_NOT_ALLOWED)', async ({ vault, newToken }) => {
    const body = tokenizeBody(await newToken());
    for (const origin of ['http://bank.localhost:8080', 'null', 'http://vault.localhost:8083']) {
      const res = await postTokens(vault.service, body, { origin });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ error: { code: 'ORIGIN_NOT_ALLOWED', message: expect.any(String) } });
    }
    const none = await vault.service.app.inject({ method: 'POST', url: '/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    expect(none.statusCode).toBe(403);
  });

  it('refuses a body that is not JSON by content type (415 UNSUPPORTED_MEDIA_TYPE)', async ({ vault, newToken }) => {
    const body = JSON.stringify(tokenizeBody(await newToken()));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await postTokens(vault.service, body, { 'content-type': type });
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it(`refuses a body over ${TOKENIZE_MAX_BODY_BYTES} bytes (413 BODY_TOO_LARGE)`, async ({ vault, newToken }) => {
    const big = JSON.stringify({ ...tokenizeBody(await newToken()), pad: 'x'.repeat(TOKENIZE_MAX_BODY_BYTES) });
    const res = await postTokens(vault.service, big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('BODY_TOO_LARGE');
  });

  it('accepts a body of exactly the limit as far as size goes', async ({ vault, newToken }) => {
    const base = JSON.stringify(tokenizeBody(await newToken()));
    const exact = base.slice(0, -1) + ' '.repeat(TOKENIZE_MAX_BODY_BYTES - base.length) + '}';
    expect(Buffer.byteLength(exact)).toBe(TOKENIZE_MAX_BODY_BYTES);
    expect((await postTokens(vault.service, exact)).statusCode).toBe(201);
  });

  it('refuses malformed JSON and schema violations (400 BAD_REQUEST)', async ({ vault, newToken }) => {
    const token = await newToken();
    for (const body of ['{"pivotToken":', '', 'null', '[]', JSON.stringify({ pivotToken: token }), JSON.stringify({ ...tokenizeBody(token), extra: 1 }), JSON.stringify(tokenizeBody(token, { number: '4242-4242' })), `{"__proto__":{"admin":true},${JSON.stringify(tokenizeBody(token)).slice(1)}`]) {
      const res = await postTokens(vault.service, body);
      expect(res.statusCode, body).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
    }
  });

  it('never returns a stack in an error body', async ({ vault }) => {
    const res = await postTokens(vault.service, '{"pivotToken":');
    expect(res.body).not.toMatch(/at .*\.ts|stack/i);
  });

  it('answers unknown paths with 404 NOT_FOUND', async ({ vault }) => {
    const res = await vault.service.app.inject({ method: 'GET', url: '/v1/cards' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});

describe('keys', () => {
  it('creates DATA_DIR/vault-keys.json with mode 0600', ({ vault }) => {
    const mode = statSync(join(vault.dataDir, KEY_FILE_NAME)).mode & 0o777;
    expect(mode).toBe(0o600);
  });
});

describe('used jti retention', () => {
  it(`purges consumed jtis only once their token expired more than USED_JTI_RETENTION_S ago`, async ({ vault }) => {
    const { purgeUsedJtis, USED_JTI_RETENTION_S } = await import('../../../vault/service/app.ts');
    const now = nowS();
    await vault.service.db
      .insertInto('used_jti')
      .values([
        { jti: 'old_jti_0000000000000', exp: now - USED_JTI_RETENTION_S - 1, used_at: 'x' },
        { jti: 'recent_jti_0000000000', exp: now - USED_JTI_RETENTION_S + 60, used_at: 'x' },
      ])
      .execute();
    expect(await purgeUsedJtis(vault.service.db, now)).toBe(1);
    const left = await vault.service.db.selectFrom('used_jti').select('jti').where('jti', 'in', ['old_jti_0000000000000', 'recent_jti_0000000000']).execute();
    expect(left.map((r) => r.jti)).toEqual(['recent_jti_0000000000']);
  });
});
