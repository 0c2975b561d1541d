import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CHARGE_MAX_BODY_BYTES,
  CLIENT_CREDENTIAL_MAX_LIFETIME_S,
  ChargeResponseSchema,
  VAULT_CLIENT_TYP,
} from '../../../../protocol/vault-api.ts';
import * as v from 'valibot';
import { loadClientKeys } from '../../../../vault/service/charges/client-auth.ts';
import { loadVaultConfig } from '../../../../vault/service/config.ts';
import { CVC_TTL_MS, createMemoryCvcStore } from '../../../../vault/service/charges/cvc-store.ts';
import { AMEX, MASTERCARD, VISA, VAULT_ORIGIN, b64url, startVault, tempDir } from '../../helpers.ts';
import { CLIENT_ID, CLIENT_KID, HANG_TIMEOUT_MS, chargeBody, idemKey, startChargeVault, type ChargeVault } from '../../charge-fixtures.ts';
import { JWT_PATTERN, secretsIn } from '../../../secret-scan.ts';

/** A 4-digit CVC (amex), scanned for in files and logs as a number of its own (test/secret-scan.ts). */
const CVC = '9183';
/**
 * "Just before the TTL" on a clock that keeps running: more than any test may take (testTimeout
 * 20 s), so the CVC cannot expire by the machine being slow. The exact limit is tested on a held
 * clock in "CVC store (memory)".
 */
const BEFORE_TTL_MARGIN_MS = 30_000;
let vault: ChargeVault;
/** Every response body of this file: none may carry a PAN. */
const bodies: string[] = [];

beforeAll(async () => {
  vault = await startChargeVault();
});
afterAll(() => vault.close());
beforeEach(() => {
  vault.processor.mode = 'approve';
  vault.clockOffsetMs = 0;
});

async function charge(body: unknown, options?: Parameters<ChargeVault['charge']>[1]) {
  const res = await vault.charge(body, options);
  bodies.push(res.body);
  return res;
}
const codeOf = (res: { json(): unknown }) => (res.json() as { error?: { code?: string } }).error?.code;

function dbBytes(): string {
  return Buffer.concat(
    readdirSync(vault.dataDir)
      .filter((f) => f.startsWith('vault.db'))
      .map((f) => readFileSync(join(vault.dataDir, f))),
  ).toString('latin1');
}

describe('POST /v1/charges: first charge with CVC, then card-on-file', () => {
  it('keeps the CVC only in memory after tokenize: not in the database files, not in the logs', async () => {
    const before = vault.service.cvcs.size();
    await vault.tokenize({ number: AMEX, cvc: CVC, name: 'Ada Lovelace' });
    expect(vault.service.cvcs.size()).toBe(before + 1);
    const bytes = dbBytes();
    expect(secretsIn(bytes, [AMEX, CVC, `"cvc":"${CVC}"`, '"cvc"', 'Ada Lovelace'])).toEqual([]);
    const log = vault.log.text();
    expect(secretsIn(log, [AMEX, CVC, '"cvc"', 'Ada Lovelace'])).toEqual([]);
  });

  it('charges: the processor gets PAN, expiry and CVC once; the answer has brand and last 4 only', async () => {
    const token = await vault.tokenize({ number: AMEX, cvc: CVC });
    const sent = vault.processor.requests.length;
    const first = await charge(chargeBody(token, { amount: { minor: 4999, currency: 'EUR' } }));
    expect(first.statusCode).toBe(201);
    const body = first.json() as v.InferOutput<typeof ChargeResponseSchema>;
    expect(v.is(ChargeResponseSchema, body)).toBe(true);
    expect(body).toEqual({ chargeId: expect.stringMatching(/^chg_/), status: 'approved', processorReference: expect.stringMatching(/^psp_/), card: { brand: 'amex', last4: '0005' } });
    expect(first.body).not.toContain(AMEX);
    const [toProcessor] = vault.processor.requests.slice(sent);
    expect(toProcessor).toEqual({
      chargeId: body.chargeId,
      pan: AMEX,
      expMonth: 12,
      expYear: expect.any(Number),
      cvc: CVC,
      amount: { minor: 4999, currency: 'EUR' },
      reference: 'INV-2025-0042',
    });

    // Second charge of the same card: card-on-file, no CVC.
    const second = await charge(chargeBody(token));
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ status: 'approved', card: { brand: 'amex', last4: '0005' } });
    const again = vault.processor.requests.at(-1)!;
    expect(again.pan).toBe(AMEX);
    expect(again).not.toHaveProperty('cvc');

    const rows = await vault.service.db.selectFrom('charges').select(['id', 'with_cvc', 'status', 'client_id']).where('card_token', '=', token).orderBy('created_at').execute();
    expect(rows.map((r) => [r.with_cvc, r.status, r.client_id]).sort()).toEqual([[0, 'approved', CLIENT_ID], [1, 'approved', CLIENT_ID]]);
  });

  it('answers a decline as 201 status declined (not an error); the decline used the CVC up', async () => {
    const token = await vault.tokenize({ number: MASTERCARD, cvc: '739' });
    vault.processor.mode = 'decline';
    const res = await charge(chargeBody(token));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'declined', card: { brand: 'mastercard', last4: '4444' } });
    expect(vault.processor.requests.at(-1)!.cvc).toBe('739');
    vault.processor.mode = 'approve';
    await charge(chargeBody(token));
    expect(vault.processor.requests.at(-1)).not.toHaveProperty('cvc');
  });

  it(`drops the CVC after CVC_TTL_MS (${CVC_TTL_MS} ms): a later first charge goes without it`, async () => {
    const token = await vault.tokenize({ number: VISA, cvc: '123' });
    vault.clockOffsetMs = CVC_TTL_MS + 1000;
    expect(vault.service.cvcs.sweep()).toBeGreaterThanOrEqual(1);
    const res = await charge(chargeBody(token));
    expect(res.statusCode).toBe(201);
    expect(vault.processor.requests.at(-1)).not.toHaveProperty('cvc');
    expect(vault.processor.requests.at(-1)!.pan).toBe(VISA);
  });

  it('still has the CVC just before CVC_TTL_MS', async () => {
    const token = await vault.tokenize({ number: VISA, cvc: '456' });
    vault.clockOffsetMs = CVC_TTL_MS - BEFORE_TTL_MARGIN_MS;
    expect((await charge(chargeBody(token))).statusCode).toBe(201);
    expect(vault.processor.requests.at(-1)!.cvc).toBe('456');
  });
});

describe('CVC store (memory)', () => {
  it('is take-once, expires at the TTL, restores with the original expiry only, and binds each CVC to its token', async () => {
    let now = 1_000_000;
    const store = createMemoryCvcStore({ clock: () => now, ttlMs: 1000 });
    await store.put('tok_a', '123');
    await store.put('tok_b', '4567');
    const taken = await store.take('tok_a');
    expect(taken).toEqual({ cvc: '123', expiresAt: 1_001_000 });
    expect(await store.take('tok_a')).toBeUndefined();
    await store.restore('tok_a', taken!);
    now = 1_000_999;
    expect((await store.take('tok_a'))?.cvc).toBe('123');
    now = 1_001_000;
    expect(await store.take('tok_b')).toBeUndefined();
    await store.restore('tok_a', taken!);
    expect(store.size()).toBe(0);
    await store.put('tok_c', '789');
    now += 1000;
    expect(store.sweep()).toBe(1);
    store.close();
  });

  it('evicts the oldest entry beyond its maximum size', async () => {
    const store = createMemoryCvcStore({ maxEntries: 2 });
    await store.put('tok_1', '111');
    await store.put('tok_2', '222');
    await store.put('tok_3', '333');
    expect(store.size()).toBe(2);
    expect(await store.take('tok_1')).toBeUndefined();
    expect((await store.take('tok_3'))?.cvc).toBe('333');
    store.close();
  });
});

describe('idempotency', () => {
  it('answers the same idempotency key with the first result, without charging again', async () => {
    const token = await vault.tokenize({ number: VISA, cvc: '321' });
    const body = chargeBody(token);
    const first = await charge(body);
    const sent = vault.processor.requests.length;
    const second = await charge(body);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(vault.processor.requests.length).toBe(sent);
  });

  it('refuses the same key for a different charge (409 IDEMPOTENCY_KEY_REUSED)', async () => {
    const token = await vault.tokenize();
    const body = chargeBody(token);
    expect((await charge(body)).statusCode).toBe(201);
    const res = await charge({ ...body, amount: { minor: 9999, currency: 'EUR' } });
    expect(res.statusCode).toBe(409);
    expect(codeOf(res)).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('scopes keys per client: another client with the same key charges anew', async () => {
    const token = await vault.tokenize();
    const body = chargeBody(token);
    const a = await charge(body);
    const b = await charge(body, { authorization: `Bearer ${await vault.otherClient.sign()}` });
    expect(b.statusCode).toBe(201);
    expect(b.json().chargeId).not.toBe(a.json().chargeId);
  });

  it('lets two concurrent requests with one key charge once (the other: 201 replay or 409 CHARGE_IN_PROGRESS)', async () => {
    const token = await vault.tokenize();
    const body = chargeBody(token);
    const sent = vault.processor.requests.length;
    const [x, y] = await Promise.all([charge(body), charge(body)]);
    expect(vault.processor.requests.length).toBe(sent + 1);
    const statuses = [x.statusCode, y.statusCode].sort();
    expect(statuses[0]).toBe(201);
    if (statuses[1] === 409) expect([codeOf(x), codeOf(y)]).toContain('CHARGE_IN_PROGRESS');
  });
});

describe('client credential', () => {
  const sign = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => vault.client.sign(claims, header);
  const cases: Array<[string, () => Promise<string | null>, number, string]> = [
    ['missing', async () => null, 401, 'CLIENT_CREDENTIAL_MISSING'],
    ['not Bearer', async () => `Basic ${Buffer.from('a:b').toString('base64')}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['alg none', async () => `Bearer ${b64url({ alg: 'none', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID })}.${b64url({ iss: CLIENT_ID, aud: VAULT_ORIGIN, iat: vault.nowS(), exp: vault.nowS() + 30, jti: `cj_${idemKey()}` })}.`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    [
      'HS256 with the public key as secret',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(CLIENT_KID));
        const jwt = await new SignJWT({ iss: CLIENT_ID, aud: VAULT_ORIGIN, jti: `cj_${idemKey()}` }).setProtectedHeader({ alg: 'HS256', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID }).setIssuedAt(vault.nowS()).setExpirationTime(vault.nowS() + 30).sign(secret);
        return `Bearer ${jwt}`;
      },
      401,
      'CLIENT_CREDENTIAL_INVALID',
    ],
    ['wrong aud', async () => `Bearer ${await sign({ aud: 'http://vault.evil.localhost' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['wrong typ', async () => `Bearer ${await sign({}, { typ: 'JWT' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['unknown kid', async () => `Bearer ${await sign({}, { kid: 'stolen-kid' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['iss not the key’s client', async () => `Bearer ${await sign({ iss: 'bank-batch' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['jku header', async () => `Bearer ${await sign({}, { jku: 'http://evil.localhost/jwks' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['no jti', async () => `Bearer ${await sign({ jti: undefined })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['expired', async () => `Bearer ${await sign({ iat: vault.nowS() - 200, exp: vault.nowS() - 100 })}`, 401, 'CLIENT_CREDENTIAL_EXPIRED'],
    ['issued in the future', async () => `Bearer ${await sign({ iat: vault.nowS() + 300, exp: vault.nowS() + 330 })}`, 401, 'CLIENT_CREDENTIAL_EXPIRED'],
    [`exp more than ${CLIENT_CREDENTIAL_MAX_LIFETIME_S} s after iat`, async () => `Bearer ${await sign({ exp: vault.nowS() + CLIENT_CREDENTIAL_MAX_LIFETIME_S + 1 })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
    ['signed by another key under our kid', async () => `Bearer ${await vault.otherClient.sign({ iss: CLIENT_ID }, { kid: CLIENT_KID })}`, 401, 'CLIENT_CREDENTIAL_INVALID'],
  ];

  it.each(cases)('refuses a credential: %s (status and code asserted), charges nothing', async (_name, make, status, code) => {
    const token = await vault.tokenize();
    const sent = vault.processor.requests.length;
    const res = await charge(chargeBody(token), { authorization: await make() });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
    expect(vault.processor.requests.length).toBe(sent);
  });

  it(`accepts a lifetime of exactly ${CLIENT_CREDENTIAL_MAX_LIFETIME_S} s`, async () => {
    const token = await vault.tokenize();
    const res = await charge(chargeBody(token), { authorization: `Bearer ${await sign({ exp: vault.nowS() + CLIENT_CREDENTIAL_MAX_LIFETIME_S })}` });
    expect(res.statusCode).toBe(201);
  });

  it('refuses a replayed credential (409 CLIENT_CREDENTIAL_REPLAYED), even for another body', async () => {
    const token = await vault.tokenize();
    const authorization = `Bearer ${await sign()}`;
    expect((await charge(chargeBody(token), { authorization })).statusCode).toBe(201);
    const res = await charge(chargeBody(token), { authorization });
    expect(res.statusCode).toBe(409);
    expect(codeOf(res)).toBe('CLIENT_CREDENTIAL_REPLAYED');
  });

  it('refuses any browser request: an Origin (even the vault’s own) or Sec-Fetch-Mode -> 403 ORIGIN_NOT_ALLOWED, no CORS header', async () => {
    const token = await vault.tokenize();
    for (const headers of [{ origin: VAULT_ORIGIN }, { origin: 'http://bank.localhost:8080' }, { origin: 'null' }, { 'sec-fetch-mode': 'cors' }] as Record<string, string>[]) {
      const res = await charge(chargeBody(token), { headers });
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('ORIGIN_NOT_ALLOWED');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    }
    const preflight = await vault.service.app.inject({ method: 'OPTIONS', url: '/v1/charges', headers: { origin: 'http://bank.localhost:8080', 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.statusCode).toBe(404);
  });
});

describe('request checks', () => {
  it('answers 404 CARD_TOKEN_NOT_FOUND for an unknown card token', async () => {
    const res = await charge(chargeBody(`tok_${'A'.repeat(32)}`));
    expect(res.statusCode).toBe(404);
    expect(codeOf(res)).toBe('CARD_TOKEN_NOT_FOUND');
  });

  it.each([
    ['amount 0', { amount: { minor: 0, currency: 'EUR' } }],
    ['amount above 100,000,000 minor units', { amount: { minor: 100_000_001, currency: 'EUR' } }],
    ['fractional amount', { amount: { minor: 12.5, currency: 'EUR' } }],
    ['lower-case currency', { amount: { minor: 100, currency: 'eur' } }],
    ['short idempotency key', { idempotencyKey: 'abc' }],
    ['extra field', { pan: VISA }],
    ['bad token', { token: 'card_123' }],
  ])('refuses %s (400 BAD_REQUEST)', async (_name, overrides) => {
    const token = await vault.tokenize();
    const res = await charge(chargeBody(token, overrides));
    expect(res.statusCode).toBe(400);
    expect(codeOf(res)).toBe('BAD_REQUEST');
  });

  it(`refuses a body over CHARGE_MAX_BODY_BYTES (${CHARGE_MAX_BODY_BYTES}) with 413 BODY_TOO_LARGE`, async () => {
    const token = await vault.tokenize();
    const base = JSON.stringify(chargeBody(token));
    const exact = base.slice(0, -1) + ' '.repeat(CHARGE_MAX_BODY_BYTES - base.length) + '}';
    expect((await charge(exact)).statusCode).toBe(201);
    const over = base.slice(0, -1) + ' '.repeat(CHARGE_MAX_BODY_BYTES - base.length + 1) + '}';
    const res = await charge(over);
    expect(res.statusCode).toBe(413);
    expect(codeOf(res)).toBe('BODY_TOO_LARGE');
  });

  it('answers 404 CHARGES_NOT_CONFIGURED when no clients are configured', async () => {
    const plain = await startVault();
    try {
      const res = await plain.service.app.inject({ method: 'POST', url: '/v1/charges', headers: { 'content-type': 'application/json' }, payload: '{}' });
      expect(res.statusCode).toBe(404);
      expect(codeOf(res)).toBe('CHARGES_NOT_CONFIGURED');
    } finally {
      await plain.close();
    }
  });
});

describe('processor unavailable', () => {
  it.each([
    ['connection reset', 'reset'],
    ['503', 'unavailable'],
    ['an answer outside the protocol', 'garbage'],
    [`no answer within the timeout (${HANG_TIMEOUT_MS} ms here)`, 'hang'],
  ] as const)('%s -> 502 PROCESSOR_UNAVAILABLE; the CVC is kept for a retry with the same key and same chargeId', async (_name, mode) => {
    const token = await vault.tokenize({ number: VISA, cvc: '852' });
    const body = chargeBody(token);
    vault.processor.mode = mode;
    const failed = await charge(body);
    expect(failed.statusCode).toBe(502);
    expect(codeOf(failed)).toBe('PROCESSOR_UNAVAILABLE');
    const firstAttempt = vault.processor.requests.at(-1)!;
    expect(firstAttempt.cvc).toBe('852');

    vault.processor.mode = 'approve';
    const retry = await charge(body);
    expect(retry.statusCode).toBe(201);
    const secondAttempt = vault.processor.requests.at(-1)!;
    expect(secondAttempt.cvc).toBe('852');
    expect(secondAttempt.chargeId).toBe(firstAttempt.chargeId);
    expect(retry.json().chargeId).toBe(firstAttempt.chargeId);
  });

  it('never extends the CVC lifetime by a failed attempt', async () => {
    const token = await vault.tokenize({ number: VISA, cvc: '963' });
    const body = chargeBody(token);
    vault.processor.mode = 'unavailable';
    vault.clockOffsetMs = CVC_TTL_MS - BEFORE_TTL_MARGIN_MS;
    expect((await charge(body)).statusCode).toBe(502);
    expect(vault.processor.requests.at(-1)!.cvc).toBe('963'); // the failed attempt had it
    vault.processor.mode = 'approve';
    vault.clockOffsetMs = CVC_TTL_MS + 2000;
    expect((await charge(body)).statusCode).toBe(201);
    expect(vault.processor.requests.at(-1)).not.toHaveProperty('cvc');
  });
});

describe('no card data leaves the vault', () => {
  it('no response carried a PAN; no log line carries a PAN, a CVC or a credential', () => {
    expect(bodies.length).toBeGreaterThan(30);
    for (const body of bodies) for (const pan of [AMEX, VISA, MASTERCARD]) expect(body).not.toContain(pan);
    const log = vault.log.text();
    expect(log).toContain('charge answered');
    expect(secretsIn(log, [AMEX, VISA, MASTERCARD, CVC, '"cvc"', '"pan"', 'Bearer'])).toEqual([]);
    expect(log).not.toMatch(JWT_PATTERN);
    const bytes = dbBytes();
    expect(secretsIn(bytes, [AMEX, VISA, MASTERCARD, CVC, `"cvc"`, '"pan"'])).toEqual([]);
  });
});

describe('configuration', () => {
  it('requires VAULT_PROCESSOR_URL with VAULT_CLIENT_JWKS_FILE, and leaves charges off without both', () => {
    expect(() => loadVaultConfig({ VAULT_CLIENT_JWKS_FILE: '/x/clients.json' })).toThrow(/VAULT_PROCESSOR_URL/);
    expect(() => loadVaultConfig({ VAULT_CLIENT_JWKS_FILE: '/x/clients.json', VAULT_PROCESSOR_URL: 'ftp://psp' })).toThrow(/VAULT_PROCESSOR_URL/);
    const off = loadVaultConfig({});
    expect([off.clientJwksFile, off.processorUrl]).toEqual([undefined, undefined]);
    const on = loadVaultConfig({ VAULT_CLIENT_JWKS_FILE: '/x/clients.json', VAULT_PROCESSOR_URL: 'https://psp.example/charges' });
    expect([on.clientJwksFile, on.processorUrl]).toEqual(['/x/clients.json', 'https://psp.example/charges']);
  });

  it('refuses a client JWKS file with a private key, another key type, no client_id or a duplicate kid', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const pub = { ...(await exportJWK(publicKey)), kid: 'k1', client_id: 'bank' };
    const dir = tempDir();
    try {
      const file = join(dir.path, 'clients.json');
      const attempt = (jwks: unknown) => {
        writeFileSync(file, JSON.stringify(jwks));
        return loadClientKeys(file);
      };
      expect((await attempt({ keys: [pub] })).size).toBe(1);
      await expect(attempt({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', client_id: 'bank' }] })).rejects.toThrow(/VAULT_CLIENT_JWKS_FILE/);
      await expect(attempt({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k1', client_id: 'bank' }] })).rejects.toThrow(/VAULT_CLIENT_JWKS_FILE/);
      await expect(attempt({ keys: [{ ...pub, client_id: undefined }] })).rejects.toThrow(/VAULT_CLIENT_JWKS_FILE/);
      await expect(attempt({ keys: [pub, { ...pub, client_id: 'other' }] })).rejects.toThrow(/duplicate kid/);
      writeFileSync(file, 'not json');
      await expect(loadClientKeys(file)).rejects.toThrow(/VAULT_CLIENT_JWKS_FILE/);
    } finally {
      dir.remove();
    }
  });
});
