import { createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { sameOriginIssuerKeys } from '../../../vault/frame/issuer-keys.ts';
import { verifyPivotToken } from '../../../vault/shared/verify-pivot-token.ts';
import { BANK_ORIGIN, CHAT_ORIGIN, VAULT_ORIGIN, createIssuer, pivotClaims, type Issuer } from '../helpers.ts';

let issuer: Issuer;
beforeAll(async () => {
  issuer = await createIssuer();
});

function fakeFetch(answer: () => Response | Promise<Response>) {
  let calls = 0;
  const f = (async () => {
    calls++;
    return answer();
  }) as unknown as typeof fetch;
  return { f, calls: () => calls };
}
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const opts = { issuer: CHAT_ORIGIN, audience: VAULT_ORIGIN, allowedOrigins: [BANK_ORIGIN] };

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => 'OK', (e: { code: string }) => e.code);
}

describe("the frame's same-origin issuer key resolver", () => {
  it('verifies with the key named by kid, fetching the JWKS once', async () => {
    const { f, calls } = fakeFetch(() => json(issuer.jwks));
    const getKey = sameOriginIssuerKeys('http://vault.localhost:8082/v1/issuer-jwks', f);
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('OK');
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('OK');
    expect(calls()).toBe(1);
  });

  it('agrees with jose createLocalJWKSet on an unknown kid (TOKEN_KID_UNKNOWN)', async () => {
    const token = await issuer.sign(pivotClaims(), { kid: 'other' });
    const getKey = sameOriginIssuerKeys('x', fakeFetch(() => json(issuer.jwks)).f);
    expect(await code(verifyPivotToken(token, { ...opts, getKey }))).toBe('TOKEN_KID_UNKNOWN');
    expect(await code(verifyPivotToken(token, { ...opts, getKey: createLocalJWKSet(issuer.jwks) }))).toBe('TOKEN_KID_UNKNOWN');
  });

  it('ignores keys that are not EC P-256 public keys', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivate = { keys: [{ ...(await exportJWK(privateKey)), kid: issuer.kid }] };
    const rsa = { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: issuer.kid }] };
    for (const set of [withPrivate, rsa, { keys: [{ ...issuer.jwks.keys[0], alg: 'ES384' }] }, { keys: [] }]) {
      const getKey = sameOriginIssuerKeys('x', fakeFetch(() => json(set)).f);
      expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('TOKEN_KID_UNKNOWN');
    }
  });

  it('maps a body that is not a key set to JWKS_UNAVAILABLE', async () => {
    const getKey = sameOriginIssuerKeys('x', fakeFetch(() => json({ keys: 'none' })).f);
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('JWKS_UNAVAILABLE');
  });

  it('refuses two keys under one kid', async () => {
    const twice = { keys: [issuer.jwks.keys[0], issuer.jwks.keys[0]] };
    const getKey = sameOriginIssuerKeys('x', fakeFetch(() => json(twice)).f);
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('TOKEN_KID_UNKNOWN');
  });

  it('maps a failed fetch or a non-200 to JWKS_UNAVAILABLE, and tries again next time', async () => {
    let n = 0;
    const { f } = fakeFetch(() => {
      n++;
      if (n === 1) throw new TypeError('fetch failed');
      if (n === 2) return json({}, 502);
      return json(issuer.jwks);
    });
    const getKey = sameOriginIssuerKeys('x', f);
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('JWKS_UNAVAILABLE');
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('JWKS_UNAVAILABLE');
    expect(await code(verifyPivotToken(await issuer.sign(pivotClaims()), { ...opts, getKey }))).toBe('OK');
  });
});
