/**
 * Test fixtures of the vault: a pivot-token issuer (ES256 key, JWKS), claims builders, tiny
 * HTTP servers on port 0 (issuer JWKS, notice receiver), and a vault service in a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'vitest';
import type { StepKind } from '../../protocol/steps/index.ts';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { PIVOT_TOKEN_TYP, type PivotClaims } from '../../protocol/pivot-token.ts';
import { createVaultService, type VaultDeps, type VaultService } from '../../vault/service/app.ts';
import { DEFAULT_TUNING, type VaultConfig, type VaultTuning } from '../../vault/service/config.ts';

export const BANK_ORIGIN = 'http://bank.localhost:8080';
export const OTHER_BANK_ORIGIN = 'http://otherbank.localhost:8080';
export const CHAT_ORIGIN = 'http://chat.localhost:8081';
export const VAULT_ORIGIN = 'http://vault.localhost:8082';

export const VISA = '4242424242424242';
export const MASTERCARD = '5555555555554444';
export const AMEX = '378282246310005';

export interface Issuer {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwks: { keys: JWK[] };
  /** Sign `claims` as a pivot token; `header` overrides/extends the protected header. */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function createIssuer(kid = 'chat-key-1'): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    privateKey,
    jwks: { keys: [jwk] },
    sign: (claims, header = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: PIVOT_TOKEN_TYP, kid, ...header } as { alg: string }).sign(privateKey),
  };
}

let counter = 0;
export const nowS = (): number => Math.floor(Date.now() / 1000);

/** Valid pivot-token claims (for BANK_ORIGIN, issued by CHAT_ORIGIN to VAULT_ORIGIN). */
export function pivotClaims(overrides: Partial<Record<keyof PivotClaims, unknown>> = {}): Record<string, unknown> {
  const iat = nowS();
  counter++;
  return {
    iss: CHAT_ORIGIN,
    aud: VAULT_ORIGIN,
    sub: 'cus_test_1',
    jti: `jti_${Date.now().toString(36)}_${counter}_${Math.random().toString(36).slice(2, 10)}`,
    iat,
    nbf: iat,
    exp: iat + 120,
    origin: BANK_ORIGIN,
    cnv: 'cnv_test_conversation',
    step: {
      id: 'stp_0123456789abcdef01',
      kind: 'card_payment',
      amount: { minor: 1250, currency: 'EUR' },
      purpose: 'Card for the overdraft fee refund',
      reference: 'REF-42',
    },
    acr: 'bank',
    ...overrides,
  };
}

export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1, port 0. */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<TestServer> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serve `jwks` as JSON on every path. */
export function serveJwks(jwks: { keys: JWK[] }): Promise<TestServer> {
  return listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
}

export function tempDir(prefix = 'vault-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A writable that keeps every log line. */
export function logCapture(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

export interface VaultFixture {
  readonly service: VaultService;
  readonly config: VaultConfig;
  readonly issuer: Issuer;
  readonly dataDir: string;
  close(): Promise<void>;
}

export interface VaultFixtureOptions {
  readonly issuer?: Issuer;
  readonly noticeUrl?: string;
  readonly distDir?: string;
  readonly tuning?: Partial<VaultTuning>;
  readonly deps?: VaultDeps;
  readonly dataDir?: string;
  readonly allowedParentOrigins?: string[];
  readonly issuerJwksUrl?: string;
  readonly tokenizeRatePerMinute?: number;
  readonly requireVisibilityCheck?: boolean;
  readonly passkeyRequiredFor?: readonly StepKind[];
}

/** A vault service on a temp DATA_DIR, trusting `issuer` (JWKS served on port 0). */
export async function startVault(options: VaultFixtureOptions = {}): Promise<VaultFixture> {
  const issuer = options.issuer ?? (await createIssuer());
  const jwksServer = await serveJwks(issuer.jwks);
  const dir = options.dataDir ? null : tempDir();
  const dataDir = options.dataDir ?? dir!.path;
  const config: VaultConfig = {
    host: '127.0.0.1',
    port: 0,
    origin: VAULT_ORIGIN,
    dataDir,
    allowedParentOrigins: options.allowedParentOrigins ?? [BANK_ORIGIN],
    trustedIssuer: CHAT_ORIGIN,
    issuerJwksUrl: options.issuerJwksUrl ?? `${jwksServer.url}/.well-known/jwks.json`,
    noticeUrl: options.noticeUrl ?? 'http://127.0.0.1:9/v1/vault/notices',
    noticeAudience: CHAT_ORIGIN,
    logLevel: 'info',
    distDir: options.distDir ?? join(dataDir, 'no-dist'),
    tuning: { ...DEFAULT_TUNING, noticeRetryInitialMs: 50, noticeRetryMaxMs: 200, workerIntervalMs: 25, ...options.tuning },
    // Off unless a test asks for it: most files send far more than a burst from one address.
    tokenizeRatePerMinute: options.tokenizeRatePerMinute ?? 0,
    ...(options.requireVisibilityCheck ? { requireVisibilityCheck: true } : {}),
    ...(options.passkeyRequiredFor ? { passkeyRequiredFor: options.passkeyRequiredFor } : {}),
  };
  const service = await createVaultService(config, options.deps ?? { logStream: logCapture().stream });
  return {
    service,
    config,
    issuer,
    dataDir,
    async close() {
      await service.close();
      await jwksServer.close();
      dir?.remove();
    },
  };
}

/** A valid tokenize body for `token`. */
export function tokenizeBody(pivotToken: string, card: Partial<{ number: string; expMonth: number; expYear: number; cvc: string; name: string }> = {}) {
  return {
    pivotToken,
    card: { number: VISA, expMonth: 12, expYear: new Date().getFullYear() + 3, cvc: '123', ...card },
  };
}

/** Inject a POST /v1/tokens with the vault's own Origin. */
export function postTokens(service: VaultService, body: unknown, headers: Record<string, string> = {}) {
  return service.app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * Poll until `check` is true (or fail after `ms`: only a guard against a hang, so generous enough
 * for a loaded machine, and under the 20 s test timeout).
 */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A stand-in for the chat server's notice route: accepts every notice (single or batch, as the
 * chat server answers them) and keeps each one's decoded claims in `notices`, oldest first.
 */
export async function noticeReceiver(): Promise<TestServer & { readonly notices: Record<string, unknown>[]; readonly noticeUrl: string }> {
  const notices: Record<string, unknown>[] = [];
  const server = await listen((_req, res, body) => {
    const envelope = JSON.parse(body) as { notice?: string; notices?: string[] };
    const batch = (envelope.notices ?? (envelope.notice === undefined ? [] : [envelope.notice])).map((n) => decodeJwt(n));
    notices.push(...batch);
    if (envelope.notice !== undefined) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    // A batch: accept each, answering in order with its jti.
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: batch.map((c) => ({ jti: c.jti, status: 'accepted' })) }));
  });
  return { ...server, notices, noticeUrl: `${server.url}/v1/vault/notices` };
}
export type NoticeReceiver = Awaited<ReturnType<typeof noticeReceiver>>;

/**
 * Vitest fixtures (`test.extend`) for the vault, each set up once per file, for the first test
 * (or `beforeAll`) that names it, and torn down after the file's last test, latest first:
 *
 * - `receiver`: a notice receiver (noticeReceiver), started only for a file that names it;
 * - `vaultSetup`: the options the vault starts with (none unless a file overrides it:
 *   `const it = vaultTest.override('vaultSetup', { scope: 'file' }, ({ receiver }) => ({ noticeUrl: receiver.noticeUrl }))`);
 * - `vault`: a vault started with `vaultSetup` (startVault), closed after the file;
 * - `newToken`: signs a fresh pivot token for `vault` (pivotClaims, with the given overrides).
 *
 * The vault lives as long as the file, as the files' own `beforeAll` ones did: tests share its
 * database, so each makes its own pivot tokens.
 */
export const vaultTest = test
  .extend('receiver', { scope: 'file' }, async ({}, { onCleanup }) => {
    const receiver = await noticeReceiver();
    onCleanup(() => receiver.close());
    return receiver;
  })
  .extend('vaultSetup', { scope: 'file' }, {} as VaultFixtureOptions)
  .extend('vault', { scope: 'file' }, async ({ vaultSetup }, { onCleanup }) => {
    const vault = await startVault(vaultSetup);
    onCleanup(() => vault.close());
    return vault;
  })
  .extend('newToken', { scope: 'file' }, ({ vault }) => (overrides: Parameters<typeof pivotClaims>[0] = {}) => vault.issuer.sign(pivotClaims(overrides)));
