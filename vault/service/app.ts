/**
 * The vault service: the frame page and its assets, the issuer-JWKS relay, tokenization, and
 * the notice-signing JWKS. Every route is listed in vault/BOUNDARY.md.
 *
 *   GET  /frame                  frame HTML (config as JSON data, SRI on script and style)
 *   GET  /frame/assets/:file     only files found in dist/vault at start
 *   GET  /v1/issuer-jwks         the trusted issuer's public keys (fetched server-side)
 *   POST /v1/tokens              TokenizeRequest -> 201 CardDisplay; Origin must be the vault's
 *   POST /v1/addresses           AddressChangeRequest -> 201 AddressSummary; same checks
 *   POST /v1/transfer-confirmations TransferConfirmationRequest -> 201 {outcome}; same checks
 *   POST /v1/payee-confirmations PayeeConfirmationRequest -> 201 {outcome}; same checks
 *   POST /v1/passkeys/enrolments, /v1/passkeys, /v1/passkeys/challenges  passkeys (passkeys/routes.ts)
 *   POST /v1/charges             ChargeRequest -> 201 ChargeResponse; bank back end only (client
 *                                credential, no browser); 404 unless clients + processor configured
 *   GET  /.well-known/jwks.json  the vault's notice-signing public keys
 *
 * @module
 */
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { ERROR_CATALOG, PivotError, errorBody, type ErrorCode } from '../../protocol/errors.ts';
import { FRAME_PATH } from '../../protocol/frame.ts';
import { decodeJwt } from 'jose';
import { CHARGE_MAX_BODY_BYTES, CHARGES_PATH } from '../../protocol/vault-api.ts';
import { STEP_DEFINITIONS, STEP_KINDS } from '../../protocol/steps/index.ts';
import { FRAME_ASSETS_PATH, ISSUER_JWKS_PATH, VAULT_JWKS_PATH } from '../shared/frame-config.ts';
import type { VaultConfig } from './config.ts';
import { DB_FILE_NAME, openVaultStore, type VaultDatabase } from './store/db.ts';
import { postJson, type PostJson } from './http/post-json.ts';
import { openAuditLog, type SqliteAuditLog } from './store/audit-log.ts';
import { authenticateClient, charge, type ChargeDeps } from './charges/charges.ts';
import { loadClientKeys } from './charges/client-auth.ts';
import { createMemoryCvcStore, type CvcStore } from './charges/cvc-store.ts';
import { createClientLimiter } from './steps/rate-limit.ts';
import { prepareVaultStatements } from './store/statements.ts';
import { loadFrameAssets, renderFramePage } from './http/frame-page.ts';
import { registerSecurityHeaders } from './http/headers.ts';
import { createIssuerKeys } from './keys/issuer-keys.ts';
import { createFileKeyProvider, type KeyProvider } from './keys/key-provider.ts';
import { loggerOptions } from './http/logging.ts';
import { createNoticeOutbox, type NoticeOutbox } from './notices/outbox.ts';
import { registerStepRoutes, vaultStepKinds } from './steps/index.ts';
import { createPasskeys } from './passkeys/passkeys.ts';
import { registerPasskeyRoutes } from './passkeys/routes.ts';
import { systemClock, type Clock } from '../../protocol/clock.ts';

/** Used jtis are kept this long past their token's `exp`, in seconds (then purged). */
export const USED_JTI_RETENTION_S = 24 * 60 * 60;

export interface VaultDeps {
  /** Where log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** Outbound HTTP for notices (default: keep-alive node:http POST, http/post-json.ts). */
  readonly post?: PostJson;
  /** Key provider (default: the file provider in DATA_DIR). */
  readonly keyProvider?: KeyProvider;
  /** Where CVCs wait for the first charge (default: in memory, charges/cvc-store.ts). */
  readonly cvcStore?: CvcStore;
  /** Outbound HTTP to the processor (default: http/post-json.ts). */
  readonly processorPost?: PostJson;
  /** "Now" for tokens, limits, retries, the audit log and the CVC store (tests move it). */
  readonly clock?: Clock;
}

export interface VaultService {
  readonly app: FastifyInstance;
  readonly db: Kysely<VaultDatabase>;
  readonly keys: KeyProvider;
  readonly notices: NoticeOutbox;
  /** The hash-chained audit log (store/audit-log.ts), on the service's own connection. */
  readonly audit: SqliteAuditLog;
  readonly cvcs: CvcStore;
  close(): Promise<void>;
}

/** Largest body of any step kind's answer, in bytes (each route applies its kind's own limit). */
export const STEP_MAX_BODY_BYTES = Math.max(...STEP_KINDS.map((kind) => STEP_DEFINITIONS[kind].maxBodyBytes));

/** The routes whose refused pivot tokens are audited. */
const STEP_ROUTES: ReadonlySet<string> = new Set(STEP_KINDS.map((kind) => STEP_DEFINITIONS[kind].vaultPath));
/** What an unverified claim must look like to be recorded (else it is recorded as unreadable). */
const AUDITABLE_CLAIM = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The jti and sub a refused pivot token CLAIMS (it did not verify, so they are marked as claimed),
 * when the body carries a readable one. The token itself is never recorded.
 */
function claimedPivotIds(body: unknown): { jti?: string; sub?: string } {
  const token = (body as { pivotToken?: unknown } | null | undefined)?.pivotToken;
  if (typeof token !== 'string') return {};
  try {
    const { jti, sub } = decodeJwt(token);
    return {
      ...(typeof jti === 'string' && AUDITABLE_CLAIM.test(jti) ? { jti } : {}),
      ...(typeof sub === 'string' && AUDITABLE_CLAIM.test(sub) ? { sub } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Delete consumed jtis whose token expired more than {@link USED_JTI_RETENTION_S} ago: such a
 * token fails on `exp` long before it could be replayed. Returns how many rows went.
 */
export async function purgeUsedJtis(db: Kysely<VaultDatabase>, nowS: number): Promise<number> {
  const result = await db.deleteFrom('used_jti').where('exp', '<', nowS - USED_JTI_RETENTION_S).executeTakeFirst();
  return Number(result.numDeletedRows);
}

function fastifyErrorCode(error: { code?: unknown; statusCode?: unknown }): ErrorCode {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'BODY_TOO_LARGE';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
    default:
      return typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR';
  }
}

function sendError(reply: FastifyReply, code: ErrorCode): FastifyReply {
  return reply.status(ERROR_CATALOG[code].status).type('application/json; charset=utf-8').send(errorBody(code));
}

/**
 * Build the vault service (not listening; call `app.listen`). Opens DATA_DIR/vault.db, loads or
 * creates the keys, loads the frame assets, starts the notice worker.
 *
 * @example const { app, close } = await createVaultService(loadVaultConfig(process.env));
 */
export async function createVaultService(config: VaultConfig, deps: VaultDeps = {}): Promise<VaultService> {
  const clock = deps.clock ?? systemClock;
  const keys = deps.keyProvider ?? createFileKeyProvider(config.dataDir);
  const { db, sqlite } = await openVaultStore(join(config.dataDir, DB_FILE_NAME));
  const audit = openAuditLog(sqlite, { clock });
  const statements = prepareVaultStatements(sqlite, audit);
  const cvcs = deps.cvcStore ?? createMemoryCvcStore({ clock });
  const clientKeys = config.clientJwksFile ? await loadClientKeys(config.clientJwksFile) : undefined;
  // One bucket per client address across every step endpoint (cards, addresses, transfers).
  const clients = createClientLimiter(config.tokenizeRatePerMinute);
  const assets = loadFrameAssets(config.distDir);
  const issuerKeys = createIssuerKeys(config.issuerJwksUrl, {
    maxAgeMs: config.tuning.issuerJwksMaxAgeMs,
    cooldownMs: config.tuning.issuerJwksCooldownMs,
    timeoutMs: config.tuning.httpTimeoutMs,
    clock,
  });
  const framePage = assets.hasScript
    ? renderFramePage(assets, {
        version: 1,
        allowedParentOrigins: [...config.allowedParentOrigins],
        issuer: config.trustedIssuer,
        audience: config.origin,
        ...(config.requireVisibilityCheck ? { strictVisibility: true } : {}),
      })
    : null;

  const app = Fastify({
    logger: loggerOptions(config.logLevel, deps.logStream),
    bodyLimit: STEP_MAX_BODY_BYTES,
    // Never trust a client-supplied request id (it would be logged).
    requestIdHeader: false,
    return503OnClosing: true,
  });
  if (!framePage) app.log.warn({ distDir: config.distDir }, 'frame.js not found: GET /frame answers 500 until `npm run build` ran');

  const outbox = createNoticeOutbox({
    statements,
    keys,
    url: config.noticeUrl,
    ...(deps.post ? { post: deps.post } : {}),
    log: app.log,
    timeoutMs: config.tuning.httpTimeoutMs,
    retryInitialMs: config.tuning.noticeRetryInitialMs,
    retryMaxMs: config.tuning.noticeRetryMaxMs,
    intervalMs: config.tuning.workerIntervalMs,
    clock,
  });

  registerSecurityHeaders(app, config.origin, config.allowedParentOrigins);

  // Only JSON bodies. A parse error becomes a bare BAD_REQUEST: V8's SyntaxError message quotes
  // the input, which would put card data into an error (and a log line).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: STEP_MAX_BODY_BYTES }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new PivotError('BAD_REQUEST'), undefined);
    }
  });

  app.setErrorHandler((error: Error & { code?: unknown; statusCode?: unknown }, request, reply) => {
    const code = error instanceof PivotError ? error.code : fastifyErrorCode(error);
    if (ERROR_CATALOG[code].status >= 500) {
      // The cause's kind helps operators (ECONNREFUSED, ERR_JWKS_TIMEOUT); its message is not logged.
      const cause = error.cause as { name?: unknown; code?: unknown } | undefined;
      const causeKind = cause ? { type: String(cause.name ?? ''), code: typeof cause.code === 'string' ? cause.code : undefined } : undefined;
      request.log.error({ err: error, code, cause: causeKind }, 'request failed');
    }
    else request.log.info({ code }, 'request refused');
    // Every refused pivot token is audited here, the one place where step-route errors become responses.
    if (code.startsWith('TOKEN_') && STEP_ROUTES.has(request.routeOptions.url ?? '')) {
      const { jti, sub } = claimedPivotIds(request.body);
      try {
        audit.appendSync({
          actor: { kind: 'customer', id: sub ? `claimed:${sub}` : 'unknown' },
          action: 'pivot_token.refused',
          resource: jti ? `pivot_jti:${jti}` : 'pivot token (unreadable)',
          outcome: 'failure',
          origin: request.ip,
          detail: `${code} route=${request.routeOptions.url}`,
        });
      } catch (auditError) {
        request.log.error({ err: auditError }, 'audit append failed');
      }
    }
    return sendError(reply, code);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'NOT_FOUND'));

  app.get(FRAME_PATH, async (_request, reply) => {
    if (!framePage) return sendError(reply, 'INTERNAL_ERROR');
    return reply.type('text/html; charset=utf-8').send(framePage);
  });

  app.get<{ Params: { file: string } }>(`${FRAME_ASSETS_PATH}/:file`, async (request, reply) => {
    const asset = assets.files.get(request.params.file);
    if (!asset) return sendError(reply, 'NOT_FOUND');
    return reply.type(asset.contentType).send(asset.body);
  });

  app.get(ISSUER_JWKS_PATH, async (_request, reply) => {
    const jwks = await issuerKeys.publicJwks();
    return reply.type('application/json; charset=utf-8').send(jwks);
  });

  app.get(VAULT_JWKS_PATH, async (_request, reply) => {
    return reply.type('application/json; charset=utf-8').send({ keys: await keys.getNoticeVerificationKeys() });
  });

  const checkOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    // The frame is the only legitimate browser caller; it sends its own origin (see card-form.ts).
    if (request.headers.origin !== config.origin) return sendError(reply, 'ORIGIN_NOT_ALLOWED');
    return undefined;
  };

  const passkeys = createPasskeys({ sqlite, origin: config.origin, clock, requiredFor: config.passkeyRequiredFor ?? [] });
  const tokenDeps = {
    getIssuerKey: issuerKeys.getKey,
    origin: config.origin,
    trustedIssuer: config.trustedIssuer,
    allowedParentOrigins: config.allowedParentOrigins,
  };
  // Every step kind (card payment, address change, transfer, ...) through one pipeline (steps/).
  registerStepRoutes(app, {
    kinds: vaultStepKinds({ sqlite, keys, cvcs }),
    pipeline: { statements, ...tokenDeps, noticeAudience: config.noticeAudience, clock, passkeys },
    clients,
    checkOrigin,
    onNotice: (noticeId) => void outbox.deliver(noticeId),
  });
  registerPasskeyRoutes(app, {
    passkeys,
    token: tokenDeps,
    statements,
    noticeAudience: config.noticeAudience,
    clients,
    clock,
    checkOrigin,
    onNotice: (noticeId) => void outbox.deliver(noticeId),
  });

  const chargeDeps: ChargeDeps | undefined =
    clientKeys && config.processorUrl
      ? {
          statements,
          keys,
          cvcs,
          clientKeys,
          origin: config.origin,
          processorUrl: config.processorUrl,
          post: deps.processorPost ?? postJson,
          timeoutMs: config.tuning.processorTimeoutMs,
          audit: (entry) => void audit.appendSync(entry),
          clock,
        }
      : undefined;
  if (!chargeDeps) app.log.info('POST /v1/charges disabled: VAULT_CLIENT_JWKS_FILE and VAULT_PROCESSOR_URL are not both set');
  /** The client authenticated by the onRequest hook, per request. */
  const chargeClients = new WeakMap<FastifyRequest, string>();

  // Server to server only: a browser always sends Origin on a POST (and Sec-Fetch-* headers), and
  // no CORS header is ever answered, so a page can neither call nor read this route.
  const authenticateBackEnd = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!chargeDeps) return sendError(reply, 'CHARGES_NOT_CONFIGURED');
    if (request.headers.origin !== undefined || request.headers['sec-fetch-mode'] !== undefined) return sendError(reply, 'ORIGIN_NOT_ALLOWED');
    chargeClients.set(request, await authenticateClient(chargeDeps, { authorization: request.headers.authorization, ip: request.ip }));
    return undefined;
  };

  app.post(CHARGES_PATH, { onRequest: authenticateBackEnd, bodyLimit: CHARGE_MAX_BODY_BYTES }, async (request, reply) => {
    const clientId = chargeClients.get(request);
    if (!chargeDeps || clientId === undefined) throw new PivotError('INTERNAL_ERROR');
    if (request.body === undefined) throw new PivotError('BAD_REQUEST');
    const { response, replayed, withCvc } = await charge(chargeDeps, clientId, { ip: request.ip }, request.body);
    // Ids and outcome only: never the PAN, the CVC or the idempotency key.
    request.log.info({ chargeId: response.chargeId, status: response.status, replayed, withCvc, clientId }, 'charge answered');
    if (replayed) reply.header('idempotent-replayed', 'true');
    return reply.status(201).type('application/json; charset=utf-8').send(response);
  });

  const purge = setInterval(() => {
    const nowS = Math.floor(clock() / 1000);
    // A failed purge is retried at the next interval; operators see why.
    purgeUsedJtis(db, nowS).catch((err: unknown) => app.log.warn({ err }, 'used jti purge failed'));
    db.deleteFrom('used_client_jti')
      .where('exp', '<', nowS - USED_JTI_RETENTION_S)
      .execute()
      .catch((err: unknown) => app.log.warn({ err }, 'used client jti purge failed'));
  }, 60 * 60_000);
  purge.unref();

  await app.ready();
  outbox.start();

  let closed = false;
  return {
    app,
    db,
    keys,
    notices: outbox,
    audit,
    cvcs,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      cvcs.close();
      await outbox.stop();
      await app.close();
      statements.flush();
      await db.destroy();
    },
  };
}
