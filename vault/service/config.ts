/**
 * The vault service's configuration, from environment variables (names and defaults fixed by
 * docs/CONTRACTS.md). Every origin is normalised and checked here, once: a bad value stops the
 * service at start rather than weakening a check later.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, envReader, parseOrigin, type Env } from '../../protocol/env.ts';
import { STEP_KINDS, type StepKind } from '../../protocol/steps/index.ts';
import { DEFAULT_TOKENIZE_RATE_PER_MINUTE } from './steps/rate-limit.ts';

export interface VaultTuning {
  /** How long the issuer JWKS is cached, in ms. */
  readonly issuerJwksMaxAgeMs: number;
  /** Least time between two refetches of the issuer JWKS caused by an unknown `kid`, in ms. */
  readonly issuerJwksCooldownMs: number;
  /** Timeout of every outbound HTTP call (JWKS, notices), in ms. */
  readonly httpTimeoutMs: number;
  /** First retry delay of an undelivered notice, in ms (doubles per attempt). */
  readonly noticeRetryInitialMs: number;
  /** Longest retry delay of an undelivered notice, in ms. */
  readonly noticeRetryMaxMs: number;
  /** How often the background worker looks for due notices and expired jtis, in ms. */
  readonly workerIntervalMs: number;
  /** Timeout of a charge request to the processor, in ms (an authorization may take seconds). */
  readonly processorTimeoutMs: number;
}

export const DEFAULT_TUNING: VaultTuning = {
  issuerJwksMaxAgeMs: 5 * 60_000,
  issuerJwksCooldownMs: 30_000,
  httpTimeoutMs: 5_000,
  noticeRetryInitialMs: 1_000,
  noticeRetryMaxMs: 5 * 60_000,
  workerIntervalMs: 1_000,
  processorTimeoutMs: 15_000,
};

export interface VaultConfig {
  /** Bind address (`HOST`). */
  readonly host: string;
  /** Listen port (`VAULT_PORT`). */
  readonly port: number;
  /** Public origin of the vault (`VAULT_ORIGIN`): pivot-token `aud`, notice `iss`. */
  readonly origin: string;
  /** Directory of `vault.db` and `vault-keys.json` (`DATA_DIR`). */
  readonly dataDir: string;
  /** Host-page origins (`VAULT_ALLOWED_PARENT_ORIGINS`): frame-ancestors, connect and `origin` claim. */
  readonly allowedParentOrigins: readonly string[];
  /** The only trusted pivot-token issuer (`VAULT_TRUSTED_ISSUER`). */
  readonly trustedIssuer: string;
  /** Where the issuer's JWKS is fetched (`VAULT_ISSUER_JWKS_URL`). */
  readonly issuerJwksUrl: string;
  /** Where notices are posted (`VAULT_NOTICE_URL`). */
  readonly noticeUrl: string;
  /** `aud` of notices: the chat server's public origin (`CHAT_ORIGIN`). */
  readonly noticeAudience: string;
  /** `LOG_LEVEL`. */
  readonly logLevel: string;
  /** Directory of the built frame assets (not an env variable: `dist/vault` of this checkout). */
  readonly distDir: string;
  readonly tuning: VaultTuning;
  /** Tokenize requests per minute per client address (`VAULT_TOKENIZE_RATE_PER_MINUTE`; 0 = off). */
  readonly tokenizeRatePerMinute: number;
  /**
   * JWKS file of the back-end clients allowed to charge (`VAULT_CLIENT_JWKS_FILE`; client-auth.ts).
   * Absent: `POST /v1/charges` answers 404 CHARGES_NOT_CONFIGURED.
   */
  readonly clientJwksFile?: string | undefined;
  /** Where charges are posted (`VAULT_PROCESSOR_URL`); required with `clientJwksFile`. */
  readonly processorUrl?: string | undefined;
  /**
   * `VAULT_REQUIRE_VISIBILITY_CHECK`: refuse every answer in browsers without IntersectionObserver
   * v2 (which cannot detect an overlay), instead of keeping only the real-input and wait checks
   * there. Off by default, so Firefox and Safari customers can pay (vault/BOUNDARY.md §10).
   */
  readonly requireVisibilityCheck?: boolean;
  /**
   * `VAULT_PASSKEY_REQUIRED_FOR`: step kinds whose answer needs a passkey even from a customer who
   * has none yet (the frame then offers to create one), beyond the kinds that refuse without one
   * by default (protocol/steps: `withoutPasskey`). The bank's policy can only tighten here.
   */
  readonly passkeyRequiredFor?: readonly StepKind[];
}

/** A comma-separated list of step kinds; an unknown one is a ConfigError. */
function stepKinds(value: string | undefined): StepKind[] {
  const kinds = (value ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const kind of kinds) {
    if (!(STEP_KINDS as readonly string[]).includes(kind)) throw new ConfigError('VAULT_PASSKEY_REQUIRED_FOR', `step kinds among ${STEP_KINDS.join(', ')}`);
  }
  return [...new Set(kinds)] as StepKind[];
}

/** Origins are read by the rule every service shares (protocol/env.ts). */
export { parseOrigin };

/**
 * Read the vault's configuration from `env`.
 *
 * @example const config = loadVaultConfig(process.env);
 */
export function loadVaultConfig(env: Env = process.env): VaultConfig {
  const e = envReader(env);
  const bankPort = e.port('BANK_PORT', 8080);
  const chatPort = e.port('CHAT_PORT', 8081);
  const port = e.port('VAULT_PORT', 8082);
  const bankOrigin = e.origin('BANK_ORIGIN', `http://bank.localhost:${bankPort}`);
  const chatOrigin = e.origin('CHAT_ORIGIN', `http://chat.localhost:${chatPort}`);
  const origin = e.origin('VAULT_ORIGIN', `http://vault.localhost:${port}`);
  const chatInternal = e.baseUrl('CHAT_INTERNAL_URL', `http://127.0.0.1:${chatPort}`);
  const allowedParentOrigins = e.origins('VAULT_ALLOWED_PARENT_ORIGINS', bankOrigin);
  if (allowedParentOrigins.includes(origin)) throw new ConfigError('VAULT_ALLOWED_PARENT_ORIGINS', 'bank origins, not the vault origin');
  const clientJwksFile = e.get('VAULT_CLIENT_JWKS_FILE');
  const processorUrl = e.get('VAULT_PROCESSOR_URL') === undefined ? undefined : e.url('VAULT_PROCESSOR_URL', '');
  if (clientJwksFile && !processorUrl) throw new ConfigError('VAULT_PROCESSOR_URL', 'set when VAULT_CLIENT_JWKS_FILE is set');
  return {
    host: e.get('HOST') ?? '127.0.0.1',
    port,
    origin,
    dataDir: e.get('DATA_DIR') ?? './data',
    allowedParentOrigins,
    trustedIssuer: e.origin('VAULT_TRUSTED_ISSUER', chatOrigin),
    issuerJwksUrl: e.url('VAULT_ISSUER_JWKS_URL', `${chatInternal}/.well-known/jwks.json`),
    noticeUrl: e.url('VAULT_NOTICE_URL', `${chatInternal}/v1/vault/notices`),
    noticeAudience: chatOrigin,
    logLevel: e.get('LOG_LEVEL') ?? 'info',
    distDir: fileURLToPath(new URL('../../dist/vault/', import.meta.url)),
    tuning: DEFAULT_TUNING,
    tokenizeRatePerMinute: e.wholeNumber('VAULT_TOKENIZE_RATE_PER_MINUTE', DEFAULT_TOKENIZE_RATE_PER_MINUTE, 0),
    clientJwksFile,
    processorUrl,
    requireVisibilityCheck: e.flag('VAULT_REQUIRE_VISIBILITY_CHECK', false),
    passkeyRequiredFor: stepKinds(e.get('VAULT_PASSKEY_REQUIRED_FOR')),
  };
}
