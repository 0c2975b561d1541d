/**
 * Attacks on the processor-facing charge API (POST /v1/charges of the REAL vault service, a
 * processor double on port 0): forged, replayed, re-targeted and browser-borne client
 * credentials. Each asserts the HTTP status, the stable `error.code`, that the processor saw
 * nothing, and that the refusal is in the audit log.
 */
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_CREDENTIAL_MAX_LIFETIME_S, VAULT_CLIENT_TYP } from '../../protocol/vault-api.ts';
import { AMEX, VAULT_ORIGIN, b64url } from '../vault/helpers.ts';
import { CLIENT_ID, CLIENT_KID, OTHER_CLIENT_ID, chargeBody, idemKey, startChargeVault, type ChargeVault } from '../vault/charge-fixtures.ts';

let vault: ChargeVault;
let token: string;

beforeAll(async () => {
  vault = await startChargeVault();
  token = await vault.tokenize({ number: AMEX, cvc: '9183' });
});
afterAll(() => vault.close());

const claims = (over: Record<string, unknown> = {}) => ({ iss: CLIENT_ID, aud: VAULT_ORIGIN, iat: vault.nowS(), exp: vault.nowS() + 30, jti: `cj_${idemKey()}`, ...over });

/** Present `authorization` (null = none) and assert the refusal, that nothing was charged, and the audit entry. */
async function expectRefused(authorization: string | null, status: number, code: string, headers: Record<string, string> = {}): Promise<void> {
  const sent = vault.processor.requests.length;
  const audited = (await vault.service.audit.list()).length;
  const res = await vault.charge(chargeBody(token), { authorization, headers });
  expect({ status: res.statusCode, body: res.json() }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  expect(vault.processor.requests.length).toBe(sent);
  expect(res.body).not.toContain(AMEX);
  if (code.startsWith('CLIENT_CREDENTIAL_')) {
    const entries = (await vault.service.audit.list()).slice(audited);
    expect(entries.map((e) => [e.action, e.outcome, e.detail?.split(' ')[0]])).toEqual([['client_credential.refused', 'failure', code]]);
  }
}

describe('attack: charge API client credential', () => {
  it('no Authorization header -> 401 CLIENT_CREDENTIAL_MISSING', () => expectRefused(null, 401, 'CLIENT_CREDENTIAL_MISSING'));

  it('alg none (unsigned) -> 401 CLIENT_CREDENTIAL_INVALID', () =>
    expectRefused(`Bearer ${b64url({ alg: 'none', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID })}.${b64url(claims())}.`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('HS256 keyed with public material (algorithm confusion) -> 401 CLIENT_CREDENTIAL_INVALID', async () => {
    const jwt = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID }).sign(new TextEncoder().encode(CLIENT_KID));
    await expectRefused(`Bearer ${jwt}`, 401, 'CLIENT_CREDENTIAL_INVALID');
  });

  it('ES256 from an attacker key under the client kid -> 401 CLIENT_CREDENTIAL_INVALID', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID }).sign(privateKey);
    await expectRefused(`Bearer ${jwt}`, 401, 'CLIENT_CREDENTIAL_INVALID');
  });

  it('attacker key announced in the header (jwk) -> 401 CLIENT_CREDENTIAL_INVALID', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const { exportJWK } = await import('jose');
    const jwt = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: VAULT_CLIENT_TYP, kid: CLIENT_KID, jwk: await exportJWK(publicKey) }).sign(privateKey);
    await expectRefused(`Bearer ${jwt}`, 401, 'CLIENT_CREDENTIAL_INVALID');
  });

  it('unknown kid -> 401 CLIENT_CREDENTIAL_INVALID', async () => expectRefused(`Bearer ${await vault.client.sign({}, { kid: 'retired-key' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('credential for another audience (another vault) -> 401 CLIENT_CREDENTIAL_INVALID', async () =>
    expectRefused(`Bearer ${await vault.client.sign({ aud: 'http://vault.other.localhost:8082' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('client A key claiming to be client B (iss not bound to the kid) -> 401 CLIENT_CREDENTIAL_INVALID', async () =>
    expectRefused(`Bearer ${await vault.client.sign({ iss: OTHER_CLIENT_ID })}`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('pivot-token typ instead of the client typ -> 401 CLIENT_CREDENTIAL_INVALID', async () =>
    expectRefused(`Bearer ${await vault.client.sign({}, { typ: 'pivot+jwt' })}`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('expired credential -> 401 CLIENT_CREDENTIAL_EXPIRED', async () =>
    expectRefused(`Bearer ${await vault.client.sign({ iat: vault.nowS() - 120, exp: vault.nowS() - 60 })}`, 401, 'CLIENT_CREDENTIAL_EXPIRED'));

  it(`long-lived credential (exp - iat > ${CLIENT_CREDENTIAL_MAX_LIFETIME_S} s) -> 401 CLIENT_CREDENTIAL_INVALID`, async () =>
    expectRefused(`Bearer ${await vault.client.sign({ exp: vault.nowS() + 3600 })}`, 401, 'CLIENT_CREDENTIAL_INVALID'));

  it('replayed credential (captured and re-sent) -> 409 CLIENT_CREDENTIAL_REPLAYED', async () => {
    const authorization = `Bearer ${await vault.client.sign()}`;
    expect((await vault.charge(chargeBody(token), { authorization })).statusCode).toBe(201);
    await expectRefused(authorization, 409, 'CLIENT_CREDENTIAL_REPLAYED');
  });

  it('race: 10 concurrent requests with one credential -> exactly one accepted, nine 409 CLIENT_CREDENTIAL_REPLAYED', async () => {
    const authorization = `Bearer ${await vault.client.sign()}`;
    const responses = await Promise.all(Array.from({ length: 10 }, () => vault.charge(chargeBody(token), { authorization })));
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode !== 201).map((r) => [r.statusCode, r.json().error.code])).toEqual(Array.from({ length: 9 }, () => [409, 'CLIENT_CREDENTIAL_REPLAYED']));
  });

  it('browser request (a page calling with a stolen credential) -> 403 ORIGIN_NOT_ALLOWED', async () =>
    expectRefused(`Bearer ${await vault.client.sign()}`, 403, 'ORIGIN_NOT_ALLOWED', { origin: 'http://bank.localhost:8080' }));

  it('credential in a query string or cookie instead of the header -> 401 CLIENT_CREDENTIAL_MISSING', async () => {
    const jwt = await vault.client.sign();
    await expectRefused(null, 401, 'CLIENT_CREDENTIAL_MISSING', { cookie: `authorization=${jwt}` });
  });
});
