/**
 * Chat server configuration, read from the environment once at start-up.
 *
 * Names and defaults follow docs/CONTRACTS.md exactly; every variable is optional and the
 * defaults are the embedded demo. Values are read with the rules every service shares
 * (protocol/env.ts): origins normalised (`new URL(x).origin`, so comparisons with `Origin`
 * headers are exact string comparisons) and refused when they carry a path, flags on/off.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError, envReader, type Env } from '../protocol/env.ts';
import { PivotError } from '../protocol/errors.ts';
import { loadChannelsConfig, type ChannelsConfig } from './channels/config.ts';

export interface ChatConfig {
  /** Bind address (`HOST`). */
  readonly host: string;
  /** Listen port (`CHAT_PORT`). */
  readonly port: number;
  /** Directory of `chat.db` and `chat-keys.json` (`DATA_DIR`). */
  readonly dataDir: string;
  /** Public origin of the bank page (`BANK_ORIGIN`). */
  readonly bankOrigin: string;
  /** Public origin of this server: pivot-token `iss`, notice `aud`, the console's origin. */
  readonly chatOrigin: string;
  /** Public origin of the vault: pivot-token `aud`, notice `iss`. */
  readonly vaultOrigin: string;
  /** Base URL other services use to reach this server (`CHAT_INTERNAL_URL`). */
  readonly chatInternalUrl: string;
  /** Base URL this server uses to reach the vault service (`VAULT_INTERNAL_URL`). */
  readonly vaultInternalUrl: string;
  /** Bank page origins allowed to call the API as customers (`CHAT_ALLOWED_ORIGINS`). */
  readonly allowedOrigins: readonly string[];
  /** Where the vault's notice-signing keys are fetched (`CHAT_VAULT_JWKS_URL`). */
  readonly vaultJwksUrl: string;
  /**
   * Password of the seeded agent `agent`, used on first start (`AGENT_PASSWORD`); defaults to
   * {@link DEMO_AGENT_PASSWORD} in demo mode only. Outside it, unset or the demo password stops
   * the server from starting (AGENT_PASSWORD_REQUIRED, see {@link assertAgentPasswordAllowed}).
   */
  readonly agentPassword: string | undefined;
  /** The embedded demo (`DEMO_MODE`, set by `npm start`): the only place the demo password exists. */
  readonly demoMode: boolean;
  /** Pino level (`LOG_LEVEL`). */
  readonly logLevel: string;
  /** Page a pivot link opens; the code is appended as `#pivot=<code>` (`PIVOT_LINK_BASE_URL`). */
  readonly pivotLinkBaseUrl: string;
  /** The bank's OpenID provider, whose id_tokens step a session up to `bank`. */
  readonly idp: IdpConfig;
  /** Built browser bundles (`dist/`): `widget/` and `console/` are served from here. */
  readonly distDir: string;
  /** Public channels (Messenger, WhatsApp, Twilio SMS); see server/channels/config.ts. */
  readonly channels: ChannelsConfig;
  /**
   * Proxies whose `X-Forwarded-For` names the client (`CHAT_TRUST_PROXY`: addresses or CIDR
   * ranges of the bank's load balancers). Empty: the connection's own address is the client,
   * and a forwarded header is ignored. Every per-client limit counts this address.
   */
  readonly trustProxy: readonly string[];
}

export interface IdpConfig {
  /** The only accepted `iss` (`BANK_IDP_ISSUER`). */
  readonly issuer: string;
  /** Where the IdP's signing keys are fetched, never from a token (`BANK_IDP_JWKS_URL`). */
  readonly jwksUrl: string;
  /** This chat's client id at the IdP: the only accepted `aud` (`BANK_IDP_CLIENT_ID`). */
  readonly clientId: string;
  /** Accepted JWS algorithms (`BANK_IDP_ALGS`); never `none` or an HMAC. */
  readonly algorithms: readonly string[];
}

/** Signature algorithms an IdP may be configured with (asymmetric only). */
export const IDP_ALLOWED_ALGS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** The seeded agent's password in the demo (README: sign in as `agent` / `demo`). */
export const DEMO_AGENT_PASSWORD = 'demo';

/**
 * Refuses, with AGENT_PASSWORD_REQUIRED, a configuration outside demo mode whose agent password
 * is missing or is the published demo one: anyone who read the README could sign in.
 */
export function assertAgentPasswordAllowed(config: Pick<ChatConfig, 'agentPassword' | 'demoMode'>): asserts config is { agentPassword: string; demoMode: boolean } {
  if (config.agentPassword === undefined || (!config.demoMode && config.agentPassword === DEMO_AGENT_PASSWORD)) {
    throw new PivotError('AGENT_PASSWORD_REQUIRED');
  }
}

const DEFAULT_DIST_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'dist');

/**
 * Reads {@link ChatConfig} from `env` with the rules every service shares (protocol/env.ts);
 * throws {@link ConfigError} on a malformed value rather than guessing.
 */
export function loadChatConfig(env: Env = process.env): ChatConfig {
  const e = envReader(env);
  const bankPort = e.port('BANK_PORT', 8080);
  const chatPort = e.port('CHAT_PORT', 8081);
  const vaultPort = e.port('VAULT_PORT', 8082);

  const bankOrigin = e.origin('BANK_ORIGIN', `http://bank.localhost:${bankPort}`);
  const chatOrigin = e.origin('CHAT_ORIGIN', `http://chat.localhost:${chatPort}`);
  const vaultOrigin = e.origin('VAULT_ORIGIN', `http://vault.localhost:${vaultPort}`);
  const chatInternalUrl = e.baseUrl('CHAT_INTERNAL_URL', `http://127.0.0.1:${chatPort}`);
  const vaultInternalUrl = e.baseUrl('VAULT_INTERNAL_URL', `http://127.0.0.1:${vaultPort}`);
  const demoMode = e.flag('DEMO_MODE', false);

  return {
    host: e.get('HOST') ?? '127.0.0.1',
    port: chatPort,
    dataDir: resolve(e.get('DATA_DIR') ?? './data'),
    bankOrigin,
    chatOrigin,
    vaultOrigin,
    chatInternalUrl,
    vaultInternalUrl,
    allowedOrigins: e.origins('CHAT_ALLOWED_ORIGINS', bankOrigin),
    vaultJwksUrl: e.url('CHAT_VAULT_JWKS_URL', `${vaultInternalUrl}/.well-known/jwks.json`),
    agentPassword: e.get('AGENT_PASSWORD') ?? (demoMode ? DEMO_AGENT_PASSWORD : undefined),
    demoMode,
    logLevel: e.get('LOG_LEVEL') ?? 'info',
    pivotLinkBaseUrl: e.url('PIVOT_LINK_BASE_URL', `${bankOrigin}/`),
    idp: {
      issuer: e.get('BANK_IDP_ISSUER') ?? `${bankOrigin}/idp`,
      jwksUrl: e.url('BANK_IDP_JWKS_URL', `http://127.0.0.1:${bankPort}/idp/jwks.json`),
      clientId: e.get('BANK_IDP_CLIENT_ID') ?? 'secure-pivot-chat',
      algorithms: algorithms(e.get('BANK_IDP_ALGS') ?? 'RS256,ES256'),
    },
    distDir: DEFAULT_DIST_DIR,
    channels: loadChannelsConfig(env, chatOrigin),
    trustProxy: proxies(e.get('CHAT_TRUST_PROXY')),
  };
}

/** `CHAT_TRUST_PROXY`: IPv4 or IPv6 addresses, each optionally a CIDR range (`10.0.0.0/8`). */
function proxies(value: string | undefined): string[] {
  if (value === undefined) return [];
  const list = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of list) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (prefix !== undefined && !(/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
      throw new ConfigError('CHAT_TRUST_PROXY', 'proxy addresses or CIDR ranges, comma-separated', value);
    }
  }
  return [...new Set(list)];
}

function algorithms(value: string): string[] {
  const list = [...new Set(value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))];
  const bad = list.find((alg) => !IDP_ALLOWED_ALGS.includes(alg));
  if (list.length === 0 || bad !== undefined) {
    throw new ConfigError('BANK_IDP_ALGS', `a list of asymmetric JWS algorithms (${IDP_ALLOWED_ALGS.join(', ')})`, value);
  }
  return list;
}
