import { SignJWT, createLocalJWKSet, createRemoteJWKSet, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIVOT_TOKEN_CLOCK_SKEW_S, PIVOT_TOKEN_MAX_LIFETIME_S, PIVOT_TOKEN_TYP } from '../../../protocol/pivot-token.ts';
import { isErrorCode } from '../../../protocol/errors.ts';
import { PivotTokenError, verifyPivotToken, type VerifyPivotTokenOptions } from '../../../vault/shared/verify-pivot-token.ts';
import {
  BANK_ORIGIN,
  CHAT_ORIGIN,
  OTHER_BANK_ORIGIN,
  VAULT_ORIGIN,
  b64url,
  createIssuer,
  listen,
  nowS,
  pivotClaims,
  serveJwks,
  type Issuer,
  type TestServer,
} from '../helpers.ts';

let issuer: Issuer;
let options: VerifyPivotTokenOptions;

beforeAll(async () => {
  issuer = await createIssuer();
  options = {
    getKey: createLocalJWKSet(issuer.jwks),
    issuer: CHAT_ORIGIN,
    audience: VAULT_ORIGIN,
    allowedOrigins: [BANK_ORIGIN, OTHER_BANK_ORIGIN],
  };
});

async function codeOf(token: string, opts: Partial<VerifyPivotTokenOptions> = {}): Promise<string> {
  try {
    await verifyPivotToken(token, { ...options, ...opts });
  } catch (error) {
    expect(error).toBeInstanceOf(PivotTokenError);
    const code = (error as PivotTokenError).code;
    expect(isErrorCode(code)).toBe(true);
    return code;
  }
  return 'OK';
}

function without(claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...claims };
  delete copy[name];
  return copy;
}

describe('verifyPivotToken', () => {
  it('accepts a valid token and returns its claims', async () => {
    const claims = pivotClaims();
    const verified = await verifyPivotToken(await issuer.sign(claims), { ...options, expectedOrigin: BANK_ORIGIN });
    expect(verified.jti).toBe(claims.jti);
    expect(verified.step.kind === 'card_payment' && verified.step.amount).toEqual({ minor: 1250, currency: 'EUR' });
  });

  it('verifies against a JWKS served over HTTP (createRemoteJWKSet)', async () => {
    const server = await serveJwks(issuer.jwks);
    try {
      const getKey = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
      expect(await codeOf(await issuer.sign(pivotClaims()), { getKey })).toBe('OK');
    } finally {
      await server.close();
    }
  });

  describe('refuses each failing check with its own code', () => {
    const cases: [string, () => Promise<string>, string][] = [
      ['a non-JWS string', async () => 'not-a-token', 'TOKEN_MALFORMED'],
      ['two segments', async () => 'abc.def', 'TOKEN_MALFORMED'],
      ['a header that is not JSON', async () => `${b64url('{nope')}.${b64url({})}.c2ln`, 'TOKEN_MALFORMED'],
      ['a header that is a JSON array', async () => `${b64url([1])}.${b64url({})}.c2ln`, 'TOKEN_MALFORMED'],
      ['a payload that is not JSON', async () => {
        const good = await issuer.sign(pivotClaims());
        const [h, , s] = good.split('.');
        return `${h}.${b64url('not json')}.${s}`;
      }, 'TOKEN_SIGNATURE_INVALID'],
      ['the wrong typ', () => issuer.sign(pivotClaims(), { typ: 'JWT' }), 'TOKEN_TYP_INVALID'],
      ['no typ', () => issuer.sign(pivotClaims(), { typ: undefined }), 'TOKEN_TYP_INVALID'],
      ['an unknown kid', () => issuer.sign(pivotClaims(), { kid: 'someone-else' }), 'TOKEN_KID_UNKNOWN'],
      ['a signature by another key under the same kid', async () => {
        const forger = await createIssuer(issuer.kid);
        return forger.sign(pivotClaims());
      }, 'TOKEN_SIGNATURE_INVALID'],
      ['a tampered payload', async () => {
        const [h, , s] = (await issuer.sign(pivotClaims())).split('.');
        return `${h}.${b64url(pivotClaims({ step: { ...(pivotClaims().step as object), amount: { minor: 1, currency: 'EUR' } } }))}.${s}`;
      }, 'TOKEN_SIGNATURE_INVALID'],
      ['another issuer', () => issuer.sign(pivotClaims({ iss: 'http://evil.localhost:8081' })), 'TOKEN_ISSUER_INVALID'],
      ['another audience', () => issuer.sign(pivotClaims({ aud: 'http://other-vault.localhost:8082' })), 'TOKEN_AUDIENCE_INVALID'],
      ['an expired token', () => issuer.sign(pivotClaims({ iat: nowS() - 200, nbf: nowS() - 200, exp: nowS() - PIVOT_TOKEN_CLOCK_SKEW_S - 1 })), 'TOKEN_EXPIRED'],
      ['nbf in the future', () => issuer.sign(pivotClaims({ nbf: nowS() + PIVOT_TOKEN_CLOCK_SKEW_S + 60 })), 'TOKEN_NOT_YET_VALID'],
      ['iat in the future', () => issuer.sign(pivotClaims({ iat: nowS() + PIVOT_TOKEN_CLOCK_SKEW_S + 60, exp: nowS() + 200 })), 'TOKEN_NOT_YET_VALID'],
      ['no jti', () => issuer.sign(without(pivotClaims(), 'jti')), 'TOKEN_CLAIM_MISSING'],
      ['no exp', () => issuer.sign(without(pivotClaims(), 'exp')), 'TOKEN_CLAIM_MISSING'],
      ['no iat', () => issuer.sign(without(pivotClaims(), 'iat')), 'TOKEN_CLAIM_MISSING'],
      ['no nbf', () => issuer.sign(without(pivotClaims(), 'nbf')), 'TOKEN_CLAIM_MISSING'],
      ['no iss', () => issuer.sign(without(pivotClaims(), 'iss')), 'TOKEN_CLAIM_MISSING'],
      ['no aud', () => issuer.sign(without(pivotClaims(), 'aud')), 'TOKEN_CLAIM_MISSING'],
      ['a non-numeric nbf', () => issuer.sign(pivotClaims({ nbf: 'soon' })), 'TOKEN_CLAIM_INVALID'],
      ['a step that breaks the schema', () => issuer.sign(pivotClaims({ step: { id: 'x' } })), 'TOKEN_CLAIM_INVALID'],
      ['no origin claim', () => issuer.sign(without(pivotClaims(), 'origin')), 'TOKEN_CLAIM_INVALID'],
      ['an audience array', () => issuer.sign(pivotClaims({ aud: [VAULT_ORIGIN, 'http://x.localhost'] })), 'TOKEN_CLAIM_INVALID'],
      ['a lifetime longer than allowed', () => issuer.sign(pivotClaims({ exp: nowS() + PIVOT_TOKEN_MAX_LIFETIME_S + 1 })), 'TOKEN_LIFETIME_TOO_LONG'],
      ['an origin that is not allowed', () => issuer.sign(pivotClaims({ origin: 'http://evil.localhost:8080' })), 'TOKEN_ORIGIN_MISMATCH'],
    ];
    for (const [what, make, code] of cases) {
      it(`${what} -> ${code}`, async () => {
        expect(await codeOf(await make())).toBe(code);
      });
    }
  });

  it('refuses an allowed origin that is not the one the frame sits in (TOKEN_ORIGIN_MISMATCH)', async () => {
    const token = await issuer.sign(pivotClaims({ origin: OTHER_BANK_ORIGIN }));
    expect(await codeOf(token)).toBe('OK');
    expect(await codeOf(token, { expectedOrigin: BANK_ORIGIN })).toBe('TOKEN_ORIGIN_MISMATCH');
  });

  it('accepts a lifetime of exactly the maximum', async () => {
    const iat = nowS();
    expect(await codeOf(await issuer.sign(pivotClaims({ iat, nbf: iat, exp: iat + PIVOT_TOKEN_MAX_LIFETIME_S })))).toBe('OK');
  });

  describe('header attacks', () => {
    it('refuses alg "none" (TOKEN_ALG_NOT_ALLOWED)', async () => {
      const token = `${b64url({ alg: 'none', typ: PIVOT_TOKEN_TYP, kid: issuer.kid })}.${b64url(pivotClaims())}.`;
      expect(await codeOf(token)).toBe('TOKEN_ALG_NOT_ALLOWED');
    });

    it('refuses HS256, even keyed with the public key (TOKEN_ALG_NOT_ALLOWED)', async () => {
      const secret = new TextEncoder().encode(JSON.stringify(issuer.jwks.keys[0]));
      const token = await new SignJWT(pivotClaims()).setProtectedHeader({ alg: 'HS256', typ: PIVOT_TOKEN_TYP, kid: issuer.kid }).sign(secret);
      expect(await codeOf(token)).toBe('TOKEN_ALG_NOT_ALLOWED');
    });

    it('refuses RS256 (TOKEN_ALG_NOT_ALLOWED)', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const token = await new SignJWT(pivotClaims()).setProtectedHeader({ alg: 'RS256', typ: PIVOT_TOKEN_TYP, kid: issuer.kid }).sign(privateKey);
      expect(await codeOf(token)).toBe('TOKEN_ALG_NOT_ALLOWED');
    });

    it('refuses a token without kid (TOKEN_HEADER_INVALID)', async () => {
      expect(await codeOf(await issuer.sign(pivotClaims(), { kid: undefined }))).toBe('TOKEN_HEADER_INVALID');
    });

    for (const param of ['jku', 'x5u', 'x5c', 'jwk', 'crit'] as const) {
      it(`refuses a token whose header carries ${param} (TOKEN_HEADER_INVALID)`, async () => {
        const values = {
          jku: 'http://evil.localhost/jwks.json',
          x5u: 'http://evil.localhost/cert.pem',
          x5c: ['MIIB'],
          jwk: issuer.jwks.keys[0],
          crit: ['exp'],
        };
        // Signed properly by the trusted key: the header alone must be enough to refuse.
        const header = b64url({ alg: 'ES256', typ: PIVOT_TOKEN_TYP, kid: issuer.kid, [param]: values[param] });
        const [, payload, sig] = (await issuer.sign(pivotClaims())).split('.');
        expect(await codeOf(`${header}.${payload}.${sig}`)).toBe('TOKEN_HEADER_INVALID');
      });
    }
  });

  describe('issuer keys unavailable', () => {
    let down: TestServer;
    beforeAll(async () => {
      down = await listen((_req, res) => res.writeHead(503).end());
    });
    afterAll(() => down.close());

    it('maps a JWKS endpoint answering 503 to JWKS_UNAVAILABLE', async () => {
      const getKey = createRemoteJWKSet(new URL(`${down.url}/jwks`));
      expect(await codeOf(await issuer.sign(pivotClaims()), { getKey })).toBe('JWKS_UNAVAILABLE');
    });

    it('maps an unreachable JWKS endpoint to JWKS_UNAVAILABLE', async () => {
      const getKey = createRemoteJWKSet(new URL('http://127.0.0.1:9/jwks'));
      expect(await codeOf(await issuer.sign(pivotClaims()), { getKey })).toBe('JWKS_UNAVAILABLE');
    });

    it('maps a JWKS that is not a key set to JWKS_UNAVAILABLE', async () => {
      const bad = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"no"}'));
      try {
        const getKey = createRemoteJWKSet(new URL(`${bad.url}/jwks`));
        expect(await codeOf(await issuer.sign(pivotClaims()), { getKey })).toBe('JWKS_UNAVAILABLE');
      } finally {
        await bad.close();
      }
    });
  });
});
