/**
 * The bank's identity provider, for tests: one ES256 key per test file, its JWKS served on a
 * local port, and id_tokens signed with it. A chat server started by `startChat` trusts it
 * (BANK_IDP_ISSUER, BANK_IDP_JWKS_URL), so a test reaches acr `bank` exactly as a customer does:
 * a nonce from POST /v1/sessions/nonce, an id_token carrying it, POST /v1/sessions/step-up.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export const TEST_IDP_ISSUER = 'https://idp.bank.test';
/** The chat server's default client id at the IdP (BANK_IDP_CLIENT_ID). */
export const TEST_IDP_CLIENT_ID = 'secure-pivot-chat';
const KID = 'test-idp-1';

export interface TestIdp {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** The chat server's environment that trusts this IdP. */
  readonly env: Readonly<Record<string, string>>;
  /** An id_token for `sub` carrying `nonce`, issued at `now` (ms, the chat server's clock). */
  idToken(sub: string, nonce: string, now: number, extra?: Readonly<Record<string, unknown>>): Promise<string>;
}

let started: Promise<TestIdp> | undefined;

/** The file's IdP, started on first use; its port closes with the test worker. */
export function testIdp(): Promise<TestIdp> {
  started ??= start();
  return started;
}

async function start(): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' };
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    issuer: TEST_IDP_ISSUER,
    jwksUrl,
    env: { BANK_IDP_ISSUER: TEST_IDP_ISSUER, BANK_IDP_JWKS_URL: jwksUrl },
    idToken: (sub, nonce, now, extra) => sign(privateKey, sub, nonce, now, extra),
  };
}

function sign(key: CryptoKey, sub: string, nonce: string, now: number, extra: Readonly<Record<string, unknown>> = {}): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...extra, nonce })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(TEST_IDP_ISSUER)
    .setAudience(TEST_IDP_CLIENT_ID)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .sign(key);
}
