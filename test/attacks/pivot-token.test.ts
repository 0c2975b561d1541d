/**
 * Attacks on the pivot token, presented to the REAL vault service API (POST /v1/tokens, with the
 * vault's own Origin and a valid card). Each test names the attack and the refusal: HTTP status
 * and the stable `error.code` of protocol/errors.ts. Every refusal is also checked to have
 * consumed no `jti` and stored no card (helpers.ts `expectRefusal`).
 */
import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect } from 'vitest';
import { PIVOT_TOKEN_CLOCK_SKEW_S, PIVOT_TOKEN_MAX_LIFETIME_S, PIVOT_TOKEN_TYP } from '../../protocol/pivot-token.ts';
import { VAULT_NOTICE_TYP } from '../../protocol/vault-api.ts';
import { signNotice } from '../../vault/service/notices/outbox.ts';
import { CHAT_ORIGIN, VAULT_ORIGIN, b64url, listen, nowS, pivotClaims, vaultTest } from '../vault/helpers.ts';
import { expectRefusal, tryTokenize } from './helpers.ts';

/**
 * The file's vault, and the attacker's own ES256 key and a JWKS server of theirs that counts
 * every request it gets.
 */
const it = vaultTest
  .extend('attacker', { scope: 'file' }, async ({ vault }, { onCleanup }) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: vault.issuer.kid, alg: 'ES256', use: 'sig' };
    const hits: IncomingMessage[] = [];
    const server = await listen((req, res) => {
      hits.push(req);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    onCleanup(() => server.close());
    return { privateKey, publicJwk: publicJwk as Record<string, unknown>, server, hits };
  })
  .extend('trustedHeader', { scope: 'file' }, ({ vault }) => (extra: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: PIVOT_TOKEN_TYP, kid: vault.issuer.kid, ...extra }));

/** Compact ES256 JWS over ANY header (jose refuses to sign some, e.g. `crit`), by WebCrypto. */
async function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>, key: CryptoKey): Promise<string> {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const sig = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key as webcrypto.CryptoKey, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

function without(claims: Record<string, unknown>, name: string): Record<string, unknown> {
  const copy = { ...claims };
  delete copy[name];
  return copy;
}

describe('attack: pivot token presented to POST /v1/tokens', () => {
  it('control: a genuine token from the trusted issuer is accepted (201)', async ({ vault }) => {
    const res = await tryTokenize(vault.service, await vault.issuer.sign(pivotClaims()));
    expect(res.status).toBe(201);
  });

  describe('algorithm confusion', () => {
    it('alg "none" (unsigned) -> 401 TOKEN_ALG_NOT_ALLOWED', async ({ vault }) => {
      const token = `${b64url({ alg: 'none', typ: PIVOT_TOKEN_TYP, kid: vault.issuer.kid })}.${b64url(pivotClaims())}.`;
      await expectRefusal(vault.service, token, 401, 'TOKEN_ALG_NOT_ALLOWED');
    });

    it('alg "None"/"NONE" case variants -> 401 TOKEN_ALG_NOT_ALLOWED', async ({ vault }) => {
      for (const alg of ['None', 'NONE', 'nOnE']) {
        const token = `${b64url({ alg, typ: PIVOT_TOKEN_TYP, kid: vault.issuer.kid })}.${b64url(pivotClaims())}.`;
        await expectRefusal(vault.service, token, 401, 'TOKEN_ALG_NOT_ALLOWED');
      }
    });

    it("HS256 keyed with the issuer's PUBLIC key bytes (JWK JSON, SPKI PEM, raw point) -> 401 TOKEN_ALG_NOT_ALLOWED", async ({ vault }) => {
      const jwk = vault.issuer.jwks.keys[0]!;
      const keyObject = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      const spki = await exportSPKI(keyObject);
      const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
      const secrets = [new TextEncoder().encode(JSON.stringify(jwk)), new TextEncoder().encode(spki), new Uint8Array(raw)];
      for (const secret of secrets) {
        const token = await new SignJWT(pivotClaims()).setProtectedHeader({ alg: 'HS256', typ: PIVOT_TOKEN_TYP, kid: vault.issuer.kid }).sign(secret);
        await expectRefusal(vault.service, token, 401, 'TOKEN_ALG_NOT_ALLOWED');
      }
    });

    it('an all-zero ECDSA signature (r = s = 0, "psychic signature") -> 401 TOKEN_SIGNATURE_INVALID', async ({ vault, trustedHeader }) => {
      const token = `${b64url(trustedHeader())}.${b64url(pivotClaims())}.${Buffer.alloc(64).toString('base64url')}`;
      await expectRefusal(vault.service, token, 401, 'TOKEN_SIGNATURE_INVALID');
    });
  });

  describe('key selection from the token (the vault uses ONLY its configured JWKS)', () => {
    it('an unknown kid -> 401 TOKEN_KID_UNKNOWN', async ({ vault, attacker, trustedHeader }) => {
      const token = await signRaw(trustedHeader({ kid: 'chat-key-999' }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_KID_UNKNOWN');
    });

    it('a kid holding a path (../../etc/passwd) -> 401 TOKEN_KID_UNKNOWN', async ({ vault, attacker, trustedHeader }) => {
      for (const kid of ['../../etc/passwd', '/etc/passwd', '..\\..\\vault-keys.json', `../${vault.issuer.kid}`]) {
        const token = await signRaw(trustedHeader({ kid }), pivotClaims(), attacker.privateKey);
        await expectRefusal(vault.service, token, 401, 'TOKEN_KID_UNKNOWN');
      }
    });

    it("a kid holding the attacker's JWKS URL -> 401 TOKEN_KID_UNKNOWN, and the URL is never fetched", async ({ vault, attacker, trustedHeader }) => {
      const before = attacker.hits.length;
      const token = await signRaw(trustedHeader({ kid: `${attacker.server.url}/jwks.json` }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_KID_UNKNOWN');
      expect(attacker.hits.length).toBe(before);
    });

    it("a jku header pointing at the attacker's JWKS (token signed by the attacker) -> 401 TOKEN_HEADER_INVALID, never fetched", async ({ vault, attacker, trustedHeader }) => {
      const before = attacker.hits.length;
      const token = await signRaw(trustedHeader({ jku: `${attacker.server.url}/jwks.json` }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_HEADER_INVALID');
      expect(attacker.hits.length).toBe(before);
    });

    it('a jwk header embedding the attacker key (token signed by that key) -> 401 TOKEN_HEADER_INVALID', async ({ vault, attacker, trustedHeader }) => {
      const token = await signRaw(trustedHeader({ jwk: attacker.publicJwk }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_HEADER_INVALID');
      // Even with no kid at all, so that only the embedded key could verify it.
      const noKid = await new SignJWT(pivotClaims())
        .setProtectedHeader({ alg: 'ES256', typ: PIVOT_TOKEN_TYP, jwk: { kty: 'EC', crv: 'P-256', x: attacker.publicJwk['x'] as string, y: attacker.publicJwk['y'] as string } })
        .sign(attacker.privateKey);
      await expectRefusal(vault.service, noKid, 401, 'TOKEN_HEADER_INVALID');
    });

    it('an x5u header (attacker certificate URL) -> 401 TOKEN_HEADER_INVALID, never fetched', async ({ vault, attacker, trustedHeader }) => {
      const before = attacker.hits.length;
      const token = await signRaw(trustedHeader({ x5u: `${attacker.server.url}/cert.pem` }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_HEADER_INVALID');
      expect(attacker.hits.length).toBe(before);
    });

    it('an x5c header (embedded certificate chain) -> 401 TOKEN_HEADER_INVALID', async ({ vault, attacker, trustedHeader }) => {
      const token = await signRaw(trustedHeader({ x5c: ['MIIBszCCAVmgAwIBAgIUattacker'] }), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_HEADER_INVALID');
    });

    it('a crit header, even on a token signed by the TRUSTED key -> 401 TOKEN_HEADER_INVALID', async ({ vault, trustedHeader }) => {
      const token = await signRaw(trustedHeader({ crit: ['exp'] }), pivotClaims(), vault.issuer.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_HEADER_INVALID');
    });

    it('no kid, even signed by the trusted key -> 401 TOKEN_HEADER_INVALID', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims(), { kid: undefined }), 401, 'TOKEN_HEADER_INVALID');
    });

    it('another ES256 key using the trusted kid -> 401 TOKEN_SIGNATURE_INVALID', async ({ vault, attacker, trustedHeader }) => {
      const token = await signRaw(trustedHeader(), pivotClaims(), attacker.privateKey);
      await expectRefusal(vault.service, token, 401, 'TOKEN_SIGNATURE_INVALID');
    });

    it("tampered payload (amount changed from 12.50 to 0.01, issuer's signature kept) -> 401 TOKEN_SIGNATURE_INVALID", async ({ vault }) => {
      const claims = pivotClaims();
      const [header, , signature] = (await vault.issuer.sign(claims)).split('.');
      const step = claims['step'] as Record<string, unknown>;
      const forged = { ...claims, step: { ...step, amount: { minor: 1, currency: 'EUR' } } };
      await expectRefusal(vault.service, `${header}.${b64url(forged)}.${signature}`, 401, 'TOKEN_SIGNATURE_INVALID');
    });

    it("a vault notice (typ vault-notice+jwt, signed by the vault's OWN notice key) presented as a pivot token -> 401 TOKEN_KID_UNKNOWN", async ({ vault }) => {
      const claims = pivotClaims();
      const notice = await signNotice(
        {
          iss: VAULT_ORIGIN,
          aud: CHAT_ORIGIN,
          jti: 'notice_jti_0123456789abcdef',
          cnv: claims['cnv'] as string,
          stp: (claims['step'] as { id: string }).id,
          ptj: claims['jti'] as string,
          event: 'card_tokenized',
          card: { token: 'tok_0123456789abcdefghij', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
        },
        vault.service.keys,
        nowS(),
      );
      expect(JSON.parse(Buffer.from(notice.split('.')[0]!, 'base64url').toString())).toMatchObject({ typ: VAULT_NOTICE_TYP });
      await expectRefusal(vault.service, notice, 401, 'TOKEN_KID_UNKNOWN');
    });
  });

  describe('other token types presented as a pivot token', () => {
    it('a chat session bearer (an opaque random value, not a JWS) -> 401 TOKEN_MALFORMED', async ({ vault }) => {
      const session = randomBytes(32).toString('base64url');
      await expectRefusal(vault.service, session, 401, 'TOKEN_MALFORMED');
    });

    it("a bank IdP's id_token (its own ES256 key, typ JWT, the customer's sub) -> 401 TOKEN_KID_UNKNOWN", async ({ vault }) => {
      const { privateKey } = await generateKeyPair('ES256');
      const idToken = await new SignJWT({ nonce: 'n-0123456789abcdef', ...pivotClaims() })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'bank-idp-1' })
        .sign(privateKey);
      await expectRefusal(vault.service, idToken, 401, 'TOKEN_KID_UNKNOWN');
    });
  });

  describe('claims', () => {
    it('no exp -> 401 TOKEN_CLAIM_MISSING', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(without(pivotClaims(), 'exp')), 401, 'TOKEN_CLAIM_MISSING');
    });

    it('no jti -> 401 TOKEN_CLAIM_MISSING', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(without(pivotClaims(), 'jti')), 401, 'TOKEN_CLAIM_MISSING');
    });

    it('no iat -> 401 TOKEN_CLAIM_MISSING', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(without(pivotClaims(), 'iat')), 401, 'TOKEN_CLAIM_MISSING');
    });

    it('expired (exp beyond the clock skew in the past) -> 401 TOKEN_EXPIRED', async ({ vault }) => {
      const t = nowS();
      const token = await vault.issuer.sign(pivotClaims({ iat: t - 200, nbf: t - 200, exp: t - PIVOT_TOKEN_CLOCK_SKEW_S - 5 }));
      await expectRefusal(vault.service, token, 401, 'TOKEN_EXPIRED');
    });

    it('not yet valid (nbf beyond the clock skew in the future) -> 401 TOKEN_NOT_YET_VALID', async ({ vault }) => {
      const t = nowS();
      const token = await vault.issuer.sign(pivotClaims({ iat: t, nbf: t + PIVOT_TOKEN_CLOCK_SKEW_S + 60, exp: t + 200 }));
      await expectRefusal(vault.service, token, 401, 'TOKEN_NOT_YET_VALID');
    });

    it(`lifetime longer than PIVOT_TOKEN_MAX_LIFETIME_S (${PIVOT_TOKEN_MAX_LIFETIME_S} s) -> 401 TOKEN_LIFETIME_TOO_LONG`, async ({ vault }) => {
      const t = nowS();
      for (const exp of [t + PIVOT_TOKEN_MAX_LIFETIME_S + 1, t + 365 * 24 * 3600]) {
        await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims({ iat: t, nbf: t, exp })), 401, 'TOKEN_LIFETIME_TOO_LONG');
      }
    });

    it('wrong aud (another vault) -> 401 TOKEN_AUDIENCE_INVALID', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims({ aud: 'http://other-vault.localhost:8082' })), 401, 'TOKEN_AUDIENCE_INVALID');
    });

    it('wrong iss (an untrusted issuer, signed by the trusted key) -> 401 TOKEN_ISSUER_INVALID', async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims({ iss: 'http://evil.localhost:8081' })), 401, 'TOKEN_ISSUER_INVALID');
    });

    it("wrong typ ('JWT', or none) -> 401 TOKEN_TYP_INVALID", async ({ vault }) => {
      await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims(), { typ: 'JWT' }), 401, 'TOKEN_TYP_INVALID');
      await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims(), { typ: undefined }), 401, 'TOKEN_TYP_INVALID');
    });

    it('wrong origin claim (not an allowed bank origin) -> 401 TOKEN_ORIGIN_MISMATCH', async ({ vault }) => {
      for (const origin of ['http://evil.localhost:8080', VAULT_ORIGIN, 'http://bank.localhost.evil.example:8080', 'https://bank.localhost:8080', 'http://bank.localhost:8081']) {
        await expectRefusal(vault.service, await vault.issuer.sign(pivotClaims({ origin })), 401, 'TOKEN_ORIGIN_MISMATCH');
      }
    });
  });
});
