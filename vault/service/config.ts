/**
 * The vault service's configuration, from environment variables (names and defaults fixed by
 * docs/CONTRACTS.md). Every origin is normalised and checked here, once: a bad value stops the
 * service at start rather than weakening a check later.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { DEFAULT_TOKENIZE_RATE_PER_MINUTE } from './rate-limit.ts';

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
}

/** Normalise an origin; throws unless `value` is exactly a scheme + host + optional port. */
export function parseOrigin(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name}: not a URL origin`);
  }
  const bare = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
  if (!bare || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new Error(`${name}: must be an origin like https://host[:port]`);
  return url.origin;
}

function parseUrl(value: string, name: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error();
    return url.href;
  } catch {
    throw new Error(`${name}: not an http(s) URL`);
  }
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!Number.isInteger(rate) || rate < 0) throw new Error('VAULT_TOKENIZE_RATE_PER_MINUTE: a whole number >= 0');
  return rate;
}

function parsePort(value: string, name: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name}: not a port`);
  return port;
}

/**
 * Read the vault's configuration from `env`.
 *
 * @example const config = loadVaultConfig(process.env);
 */
export function loadVaultConfig(env: Record<string, string | undefined> = process.env): VaultConfig {
  const get = (name: string, fallback: string): string => {
    const value = env[name]?.trim();
    return value ? value : fallback;
  };
  const bankPort = get('BANK_PORT', '8080');
  const chatPort = get('CHAT_PORT', '8081');
  const port = parsePort(get('VAULT_PORT', '8082'), 'VAULT_PORT');
  const bankOrigin = parseOrigin(get('BANK_ORIGIN', `http://bank.localhost:${bankPort}`), 'BANK_ORIGIN');
  const chatOrigin = parseOrigin(get('CHAT_ORIGIN', `http://chat.localhost:${chatPort}`), 'CHAT_ORIGIN');
  const origin = parseOrigin(get('VAULT_ORIGIN', `http://vault.localhost:${port}`), 'VAULT_ORIGIN');
  const chatInternal = parseUrl(get('CHAT_INTERNAL_URL', `http://127.0.0.1:${chatPort}`), 'CHAT_INTERNAL_URL').replace(/\/$/, '');
  const allowedParentOrigins = [
    ...new Set(
      get('VAULT_ALLOWED_PARENT_ORIGINS', bankOrigin)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => parseOrigin(s, 'VAULT_ALLOWED_PARENT_ORIGINS')),
    ),
  ];
  if (allowedParentOrigins.length === 0) throw new Error('VAULT_ALLOWED_PARENT_ORIGINS: at least one origin');
  if (allowedParentOrigins.includes(origin)) throw new Error('VAULT_ALLOWED_PARENT_ORIGINS: must not contain the vault origin');
  const clientJwksFile = env['VAULT_CLIENT_JWKS_FILE']?.trim() || undefined;
  const processorUrl = env['VAULT_PROCESSOR_URL']?.trim() ? parseUrl(env['VAULT_PROCESSOR_URL'].trim(), 'VAULT_PROCESSOR_URL') : undefined;
  if (clientJwksFile && !processorUrl) throw new Error('VAULT_PROCESSOR_URL: required when VAULT_CLIENT_JWKS_FILE is set');
  return {
    host: get('HOST', '127.0.0.1'),
    port,
    origin,
    dataDir: get('DATA_DIR', './data'),
    allowedParentOrigins,
    trustedIssuer: parseOrigin(get('VAULT_TRUSTED_ISSUER', chatOrigin), 'VAULT_TRUSTED_ISSUER'),
    issuerJwksUrl: parseUrl(get('VAULT_ISSUER_JWKS_URL', `${chatInternal}/.well-known/jwks.json`), 'VAULT_ISSUER_JWKS_URL'),
    noticeUrl: parseUrl(get('VAULT_NOTICE_URL', `${chatInternal}/v1/vault/notices`), 'VAULT_NOTICE_URL'),
    noticeAudience: chatOrigin,
    logLevel: get('LOG_LEVEL', 'info'),
    distDir: fileURLToPath(new URL('../../dist/vault/', import.meta.url)),
    tuning: DEFAULT_TUNING,
    tokenizeRatePerMinute: parseRate(get('VAULT_TOKENIZE_RATE_PER_MINUTE', String(DEFAULT_TOKENIZE_RATE_PER_MINUTE))),
    clientJwksFile,
    processorUrl,
    requireVisibilityCheck: parseFlag(get('VAULT_REQUIRE_VISIBILITY_CHECK', 'off'), 'VAULT_REQUIRE_VISIBILITY_CHECK'),
  };
}

function parseFlag(value: string, name: string): boolean {
  const v = value.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(v)) return true;
  if (['0', 'false', 'off', 'no', ''].includes(v)) return false;
  throw new Error(`${name}: on or off, got "${value}"`);
}
