/**
 * The demo bank's OpenID provider, mounted by demo/bank-server.ts under `/idp` of the bank's
 * origin. It stands in for the bank's real IdP: its id_tokens are what the chat server verifies
 * (BANK_IDP_ISSUER, BANK_IDP_JWKS_URL, BANK_IDP_CLIENT_ID) to raise a conversation to `bank`.
 *
 *   GET  /idp/.well-known/openid-configuration   issuer, jwks_uri (also at /.well-known/…)
 *   GET  /idp/jwks.json                          the public signing key (ES256)
 *   POST /idp/login  {username, password, nonce?} signs the user in (any password: a demo), sets
 *                                                an HttpOnly SameSite=Strict session cookie on /idp;
 *                                                with a nonce, answers {id_token}
 *   POST /idp/token  {nonce}                     a fresh {id_token} for the signed-in user (cookie)
 *   POST /idp/logout                             forgets the cookie session
 *
 * id_tokens: `iss`, `aud` = client id, `sub` = username, `iat`, `exp` (DEMO_ID_TOKEN_TTL_S),
 * `nonce` (the chat server's, passed through by the page), and the user's phone as the bank would
 * hold it (`phone_number`, from {@link demoPhone}, `phone_number_verified: true`): the chat server
 * sends a passkey enrolment code there by SMS (to the demo's SMS double). The key pair is generated on first
 * start and kept in DATA_DIR/bank-idp-key.json (0600) when a data directory is given, so a
 * restart does not invalidate the chat server's cached keys. POSTs must be JSON and, when the
 * browser names an Origin, come from the bank's own origin.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import * as v from 'valibot';

/** The demo user's phone number: +1 555, then 7 digits derived from the user name (E.164). */
export function demoPhone(username: string): string {
  const digits = [...createHash('sha256').update(username).digest()].map((b) => b % 10).join('');
  return `+1555${digits.slice(0, 7)}`;
}

/** Lifetime of a demo id_token, in seconds. */
export const DEMO_ID_TOKEN_TTL_S = 5 * 60;
/** Lifetime of the demo IdP's cookie session, in seconds. */
export const DEMO_IDP_SESSION_TTL_S = 60 * 60;
/** Largest request body the demo IdP reads, in bytes. */
export const DEMO_IDP_MAX_BODY_BYTES = 4 * 1024;
/** The signing algorithm. */
export const DEMO_IDP_ALG = 'ES256';
/** Name of the cookie that holds the IdP session id. */
export const DEMO_IDP_COOKIE = 'demo_idp_session';

const USERNAME = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.@-]{1,64}$/));
const NONCE = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{16,128}$/));
const LoginSchema = v.strictObject({
  username: USERNAME,
  password: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
  nonce: v.optional(NONCE),
});
const TokenSchema = v.strictObject({ nonce: NONCE });

export interface DemoIdpOptions {
  /** `iss` of the tokens, e.g. `http://bank.localhost:8080/idp`. */
  readonly issuer: string;
  /** `aud` of the tokens: the chat's client id. */
  readonly clientId: string;
  /** The bank page's origin: the only Origin accepted on POSTs. */
  readonly bankOrigin: string;
  /** Where to keep the key pair; without it a fresh one is generated per start. */
  readonly dataDir?: string | undefined;
  /** "Now" in ms (tests move it). */
  readonly clock?: () => number;
}

export interface DemoIdp {
  readonly issuer: string;
  /** Handles `request` if its path belongs to the IdP; returns false otherwise. */
  handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean>;
  /** Signs an id_token as the IdP would (for tests and tools). */
  issue(subject: string, nonce: string): Promise<string>;
}

interface KeyMaterial {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function createDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const clock = options.clock ?? Date.now;
  const issuer = options.issuer.replace(/\/+$/, '');
  const key = await loadOrCreateKey(options.dataDir);
  const sessions = new Map<string, { username: string; expiresAt: number }>();
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/jwks.json`,
    id_token_signing_alg_values_supported: [DEMO_IDP_ALG],
    subject_types_supported: ['public'],
    response_types_supported: ['id_token'],
  });
  const jwks = JSON.stringify({ keys: [key.publicJwk] });

  const issue = async (subject: string, nonce: string): Promise<string> => {
    const now = Math.floor(clock() / 1000);
    return new SignJWT({ nonce, phone_number: demoPhone(subject), phone_number_verified: true })
      .setProtectedHeader({ alg: DEMO_IDP_ALG, kid: key.publicJwk.kid!, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(options.clientId)
      .setSubject(subject)
      .setIssuedAt(now)
      .setExpirationTime(now + DEMO_ID_TOKEN_TTL_S)
      .sign(key.privateKey);
  };

  const signedInUser = (request: IncomingMessage): string | undefined => {
    const id = cookieValue(request.headers.cookie, DEMO_IDP_COOKIE);
    const entry = id === undefined ? undefined : sessions.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= clock()) {
      sessions.delete(id!);
      return undefined;
    }
    return entry.username;
  };

  return {
    issuer,
    issue,
    async handle(request, response, path) {
      if (path === '/.well-known/openid-configuration' || path === '/idp/.well-known/openid-configuration') {
        if (!isGet(request, response)) return true;
        sendJson(response, 200, discovery, { 'cache-control': 'public, max-age=300' });
        return true;
      }
      if (path === '/idp/jwks.json') {
        if (!isGet(request, response)) return true;
        sendJson(response, 200, jwks, { 'cache-control': 'public, max-age=300' });
        return true;
      }
      if (path !== '/idp/login' && path !== '/idp/token' && path !== '/idp/logout') {
        if (!path.startsWith('/idp/')) return false;
        sendJson(response, 404, JSON.stringify({ error: 'not_found' }));
        return true;
      }
      if (request.method !== 'POST') {
        sendJson(response, 405, JSON.stringify({ error: 'method_not_allowed' }), { allow: 'POST' });
        return true;
      }
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== options.bankOrigin) {
        sendJson(response, 403, JSON.stringify({ error: 'origin_not_allowed' }));
        return true;
      }
      if (path === '/idp/logout') {
        const id = cookieValue(request.headers.cookie, DEMO_IDP_COOKIE);
        if (id !== undefined) sessions.delete(id);
        sendJson(response, 204, '', { 'set-cookie': cookie('', 0) });
        return true;
      }
      const body = await readJson(request);
      if (path === '/idp/login') {
        const parsed = v.safeParse(LoginSchema, body);
        if (!parsed.success) {
          sendJson(response, 400, JSON.stringify({ error: 'invalid_request' }));
          return true;
        }
        const { username, nonce } = parsed.output;
        const id = randomBytes(32).toString('base64url');
        sessions.set(id, { username, expiresAt: clock() + DEMO_IDP_SESSION_TTL_S * 1000 });
        const answer = nonce === undefined ? { username } : { username, id_token: await issue(username, nonce) };
        sendJson(response, 200, JSON.stringify(answer), { 'set-cookie': cookie(id, DEMO_IDP_SESSION_TTL_S) });
        return true;
      }
      const parsed = v.safeParse(TokenSchema, body);
      if (!parsed.success) {
        sendJson(response, 400, JSON.stringify({ error: 'invalid_request' }));
        return true;
      }
      const username = signedInUser(request);
      if (username === undefined) {
        sendJson(response, 401, JSON.stringify({ error: 'login_required' }));
        return true;
      }
      sendJson(response, 200, JSON.stringify({ id_token: await issue(username, parsed.output.nonce) }));
      return true;
    },
  };
}

async function loadOrCreateKey(dataDir: string | undefined): Promise<KeyMaterial> {
  const file = dataDir === undefined ? undefined : join(dataDir, 'bank-idp-key.json');
  if (file !== undefined && existsSync(file)) {
    const privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
    return fromPrivateJwk(privateJwk);
  }
  const { privateKey } = await generateKeyPair(DEMO_IDP_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  if (file !== undefined) {
    mkdirSync(dataDir!, { recursive: true });
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600 });
  }
  return fromPrivateJwk(privateJwk);
}

async function fromPrivateJwk(privateJwk: JWK): Promise<KeyMaterial> {
  const { kty, crv, x, y } = privateJwk;
  const bare: JWK = { kty, crv, x, y };
  const kid = await calculateJwkThumbprint(bare);
  const privateKey = (await importJWK({ ...privateJwk, alg: DEMO_IDP_ALG }, DEMO_IDP_ALG)) as CryptoKey;
  return { privateKey, publicJwk: { ...bare, kid, alg: DEMO_IDP_ALG, use: 'sig' } };
}

function isGet(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  sendJson(response, 405, JSON.stringify({ error: 'method_not_allowed' }), { allow: 'GET, HEAD' });
  return false;
}

/** The JSON body, or undefined when it is not JSON, too large or malformed. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  if (!/^application\/json(;|$)/i.test(request.headers['content-type'] ?? '')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > DEMO_IDP_MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

function sendJson(response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'cache-control': 'no-store',
    ...headers,
    ...(body === '' ? {} : { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }),
  });
  response.end(body === '' ? undefined : body);
}

function cookie(value: string, maxAgeS: number): string {
  return `${DEMO_IDP_COOKIE}=${value}; Path=/idp; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      const value = rest.join('=');
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
