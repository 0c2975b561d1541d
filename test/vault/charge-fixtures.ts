/**
 * Fixtures of the charge API: a vault service with back-end clients configured (a JWKS file in
 * its DATA_DIR), a processor double (node:http on port 0, recording every request: it plays the
 * processor, the one party besides the vault that sees the PAN), a client-credential signer, and
 * a movable clock.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { CHARGES_PATH, VAULT_CLIENT_TYP, type ProcessorChargeRequest } from '../../protocol/vault-api.ts';
import { createVaultService, type VaultService } from '../../vault/service/app.ts';
import { DEFAULT_TUNING, type VaultConfig, type VaultTuning } from '../../vault/service/config.ts';
import { postJson } from '../../vault/service/http/post-json.ts';
import {
  BANK_ORIGIN,
  CHAT_ORIGIN,
  VAULT_ORIGIN,
  createIssuer,
  listen,
  logCapture,
  pivotClaims,
  postTokens,
  serveJwks,
  tempDir,
  tokenizeBody,
  type Issuer,
  type TestServer,
} from './helpers.ts';

export const CLIENT_ID = 'bank-backend';
export const CLIENT_KID = 'bank-backend-2025';
export const OTHER_CLIENT_ID = 'bank-batch';
export const OTHER_CLIENT_KID = 'bank-batch-1';

export type ProcessorMode = 'approve' | 'decline' | 'unavailable' | 'reset' | 'garbage' | 'hang';

/**
 * The processor timeout of a charge sent while the double hangs: short, so that case is quick.
 * Every answering mode keeps the configured timeout (15 s by default), so a slow, loaded machine
 * never turns an answer into a timeout.
 */
export const HANG_TIMEOUT_MS = 200;

export interface ProcessorDouble {
  readonly url: string;
  /** Every charge request received, parsed. */
  readonly requests: ProcessorChargeRequest[];
  mode: ProcessorMode;
  close(): Promise<void>;
}

/** The processor double: answers `{status, reference}` per `mode`. */
export async function startProcessor(): Promise<ProcessorDouble> {
  const requests: ProcessorChargeRequest[] = [];
  const double = { mode: 'approve' as ProcessorMode };
  let n = 0;
  const server: TestServer = await listen((req, res, body) => {
    requests.push(JSON.parse(body) as ProcessorChargeRequest);
    switch (double.mode) {
      case 'unavailable':
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"maintenance"}');
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"maybe"}');
        return;
      case 'hang':
        return;
      default:
        n++;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: double.mode === 'decline' ? 'declined' : 'approved', reference: `psp_${n}` }));
    }
  });
  return Object.assign(double, { url: `${server.url}/charges`, requests, close: () => server.close() });
}

export interface ClientSigner {
  readonly privateKey: CryptoKey;
  /** Sign a credential: valid claims for `now`, overridden by `claims`, header by `header`. */
  sign(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export interface ChargeVault {
  readonly service: VaultService;
  readonly config: VaultConfig;
  readonly issuer: Issuer;
  readonly processor: ProcessorDouble;
  readonly client: ClientSigner;
  readonly otherClient: ClientSigner;
  readonly dataDir: string;
  readonly log: { text(): string };
  /** Milliseconds added to the real time by the vault's clock. */
  clockOffsetMs: number;
  nowS(): number;
  /** Tokenize a card through the real route; returns the card token. */
  tokenize(card?: Partial<{ number: string; cvc: string; name: string }>): Promise<string>;
  /** POST /v1/charges with a fresh credential unless `authorization` is given (null = none). */
  charge(body: unknown, options?: { authorization?: string | null; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let seq = 0;
export const idemKey = (): string => `idem-${Date.now().toString(36)}-${++seq}-${Math.random().toString(36).slice(2, 10)}`;

export function chargeBody(token: string, overrides: Record<string, unknown> = {}) {
  return { token, amount: { minor: 1250, currency: 'EUR' }, reference: 'INV-2025-0042', idempotencyKey: idemKey(), ...overrides };
}

async function signer(clientId: string, kid: string, nowS: () => number): Promise<{ signer: ClientSigner; jwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, client_id: clientId, alg: 'ES256', use: 'sig' };
  return {
    jwk,
    signer: {
      privateKey,
      sign: (claims = {}, header = {}) => {
        const iat = nowS();
        return new SignJWT({ iss: clientId, aud: VAULT_ORIGIN, iat, exp: iat + 30, jti: `cj_${idemKey()}`, ...claims })
          .setProtectedHeader({ alg: 'ES256', typ: VAULT_CLIENT_TYP, kid, ...header } as { alg: string })
          .sign(privateKey);
      },
    },
  };
}

/** A vault with clients and a processor configured, on a temp DATA_DIR. */
export async function startChargeVault(options: { tuning?: Partial<VaultTuning> } = {}): Promise<ChargeVault> {
  const issuer = await createIssuer();
  const jwksServer = await serveJwks(issuer.jwks);
  const processor = await startProcessor();
  const dir = tempDir('vault-charges-');
  const log = logCapture();
  const clock = { clockOffsetMs: 0 };
  const nowS = () => Math.floor((Date.now() + clock.clockOffsetMs) / 1000);
  const a = await signer(CLIENT_ID, CLIENT_KID, nowS);
  const b = await signer(OTHER_CLIENT_ID, OTHER_CLIENT_KID, nowS);
  const clientJwksFile = join(dir.path, 'clients.jwks.json');
  writeFileSync(clientJwksFile, JSON.stringify({ keys: [a.jwk, b.jwk] }));
  const config: VaultConfig = {
    host: '127.0.0.1',
    port: 0,
    origin: VAULT_ORIGIN,
    dataDir: dir.path,
    allowedParentOrigins: [BANK_ORIGIN],
    trustedIssuer: CHAT_ORIGIN,
    issuerJwksUrl: `${jwksServer.url}/.well-known/jwks.json`,
    noticeUrl: 'http://127.0.0.1:9/v1/vault/notices',
    noticeAudience: CHAT_ORIGIN,
    logLevel: 'info',
    distDir: join(dir.path, 'no-dist'),
    tuning: { ...DEFAULT_TUNING, noticeRetryInitialMs: 50, noticeRetryMaxMs: 200, workerIntervalMs: 25, ...options.tuning },
    tokenizeRatePerMinute: 0,
    clientJwksFile,
    processorUrl: processor.url,
  };
  const service = await createVaultService(config, {
    logStream: log.stream,
    clock: () => Date.now() + clock.clockOffsetMs,
    processorPost: (url, body, timeoutMs) => postJson(url, body, processor.mode === 'hang' ? HANG_TIMEOUT_MS : timeoutMs),
  });
  const fixture: ChargeVault = {
    service,
    config,
    issuer,
    processor,
    client: a.signer,
    otherClient: b.signer,
    dataDir: dir.path,
    log,
    get clockOffsetMs() {
      return clock.clockOffsetMs;
    },
    set clockOffsetMs(ms: number) {
      clock.clockOffsetMs = ms;
    },
    nowS,
    async tokenize(card = {}) {
      const iat = nowS();
      const pivotToken = await issuer.sign(pivotClaims({ iat, nbf: iat, exp: iat + 120 }));
      const res = await postTokens(service, tokenizeBody(pivotToken, card));
      if (res.statusCode !== 201) throw new Error(`tokenize: ${res.statusCode} ${res.body}`);
      return (res.json() as { token: string }).token;
    },
    async charge(body, opts = {}) {
      const authorization = opts.authorization === undefined ? `Bearer ${await a.signer.sign()}` : opts.authorization;
      return service.app.inject({
        method: 'POST',
        url: CHARGES_PATH,
        headers: { 'content-type': 'application/json', ...(authorization === null ? {} : { authorization }), ...opts.headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
    },
    async close() {
      await service.close();
      await processor.close();
      await jwksServer.close();
      dir.remove();
    },
  };
  return fixture;
}
