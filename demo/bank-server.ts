/**
 * The demo bank's web server: serves `demo/bank/` on HOST:BANK_PORT under a strict CSP of its
 * own, the proof that the chat widget works on a host page that allows no inline script or style.
 *
 *   default-src 'self'; script-src 'self' CHAT_ORIGIN; connect-src 'self' CHAT_ORIGIN ws(s)://chat;
 *   frame-src VAULT_ORIGIN; style-src 'self'; img-src 'self' data:; ...;
 *   require-trusted-types-for 'script'; trusted-types lit-html secure-chat-loader;
 *   report-uri CHAT_ORIGIN/v1/csp-reports
 *
 * Trusted Types are enforced: the only policies the page may create are the widget's
 * (`WIDGET_TRUSTED_TYPES`: Lit's `lit-html` for its templates, the loader's `secure-chat-loader`
 * for the one `script.src` it sets); the page's own script uses no DOM sink.
 *
 * (`report-uri` alone: Chromium ignores it when `report-to` is also present, and delivers
 * Reporting API reports in batches a minute or more late; docs/merchant-hardening.md.)
 *
 * The chat and vault origins are configurable, so `index.html` holds `{{CHAT_ORIGIN}}` and
 * `{{VAULT_ORIGIN}}` and is templated at start-up. The loader's script tag is pinned with
 * Subresource Integrity: `{{LOADER_INTEGRITY}}` is the sha384 of `dist/widget/loader.js` (the
 * file the chat server serves), computed when the page is served so a rebuild is picked up. Requests are logged as JSON lines (method,
 * path without query, status).
 *
 * The bank's demo OpenID provider (demo/idp.ts) is mounted under `/idp` on the same origin, so
 * the page's login and its id_token requests are `connect-src 'self'`.
 *
 * Run: `tsx demo/bank-server.ts`; for tests: `startBankServer({ port: 0, ... })`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createDemoIdp } from './idp.ts';

export interface BankServerOptions {
  /** Bind address; default `HOST` or 127.0.0.1. */
  readonly host?: string;
  /** Listen port; 0 picks a free one. Default `BANK_PORT` or 8080. */
  readonly port?: number;
  /** Public origin of the chat server; default `CHAT_ORIGIN` or http://chat.localhost:$CHAT_PORT. */
  readonly chatOrigin?: string;
  /** Public origin of the vault; default `VAULT_ORIGIN` or http://vault.localhost:$VAULT_PORT. */
  readonly vaultOrigin?: string;
  /** Where the built widget is (its `loader.js` is hashed for SRI); default `dist/widget`. */
  readonly widgetDir?: string;
  /** Write one JSON line per request (default true when run as a process, false in tests). */
  readonly log?: boolean;
  /** Public origin of this page; default `BANK_ORIGIN` or http://bank.localhost:$BANK_PORT. */
  readonly bankOrigin?: string;
  /** Demo IdP `iss`; default `BANK_IDP_ISSUER` or `${bankOrigin}/idp`. */
  readonly idpIssuer?: string;
  /** Demo IdP `aud` (the chat's client id); default `BANK_IDP_CLIENT_ID` or `secure-pivot-chat`. */
  readonly idpClientId?: string;
  /** Where the IdP keeps its key pair; default `DATA_DIR` (none in tests: a fresh key). */
  readonly dataDir?: string | null;
}

export interface BankConfig {
  readonly host: string;
  readonly port: number;
  readonly chatOrigin: string;
  readonly vaultOrigin: string;
  readonly bankOrigin: string;
  readonly idpIssuer: string;
  readonly idpClientId: string;
  readonly dataDir: string | null;
}

export interface BankServer {
  /** http://HOST:PORT actually listened on. */
  readonly url: string;
  readonly port: number;
  readonly config: BankConfig;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

const ROOT = new URL('./bank/', import.meta.url);
const DEFAULT_WIDGET_DIR = new URL('../dist/widget/', import.meta.url);

/** Path of the CSP report endpoint on the chat server. */
export const CSP_REPORT_PATH = '/v1/csp-reports';

/**
 * The Trusted Types policies the chat widget creates, and so the names a host page that enforces
 * Trusted Types must allow (docs/merchant-hardening.md): Lit's, and the loader's (widget/loader.ts).
 */
export const WIDGET_TRUSTED_TYPES = ['lit-html', 'secure-chat-loader'] as const;

/** The SRI value (`sha384-<base64>`) of the loader in `widgetDir`. Throws when it is not built. */
export function loaderIntegrity(widgetDir: URL | string = DEFAULT_WIDGET_DIR): string {
  const file = typeof widgetDir === 'string' ? `${widgetDir.replace(/\/+$/, '')}/loader.js` : new URL('loader.js', widgetDir);
  return `sha384-${createHash('sha384').update(readFileSync(file)).digest('base64')}`;
}


/** Files served, by URL path; nothing else exists. */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Reads the env with the defaults of docs/CONTRACTS.md. */
export function loadBankConfig(env: Env = process.env): BankConfig {
  const get = (name: string) => env[name]?.trim() || undefined;
  const port = Number(get('BANK_PORT') ?? 8080);
  const bankOrigin = originOf(get('BANK_ORIGIN') ?? `http://bank.localhost:${port}`, 'BANK_ORIGIN');
  return {
    host: get('HOST') ?? '127.0.0.1',
    port,
    chatOrigin: originOf(get('CHAT_ORIGIN') ?? `http://chat.localhost:${get('CHAT_PORT') ?? 8081}`, 'CHAT_ORIGIN'),
    vaultOrigin: originOf(get('VAULT_ORIGIN') ?? `http://vault.localhost:${get('VAULT_PORT') ?? 8082}`, 'VAULT_ORIGIN'),
    bankOrigin,
    idpIssuer: get('BANK_IDP_ISSUER') ?? `${bankOrigin}/idp`,
    idpClientId: get('BANK_IDP_CLIENT_ID') ?? 'secure-pivot-chat',
    dataDir: get('DATA_DIR') ?? null,
  };
}

/** The page's Content-Security-Policy. */
export function bankCsp(chatOrigin: string, vaultOrigin: string): string {
  const chatWs = chatOrigin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    `script-src 'self' ${chatOrigin}`,
    `connect-src 'self' ${chatOrigin} ${chatWs}`,
    `frame-src ${vaultOrigin}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    `trusted-types ${WIDGET_TRUSTED_TYPES.join(' ')}`,
    `report-uri ${chatOrigin}${CSP_REPORT_PATH}`,
  ].join('; ');
}

export async function startBankServer(options: BankServerOptions = {}): Promise<BankServer> {
  const defaults = loadBankConfig();
  const config: BankConfig = {
    host: options.host ?? defaults.host,
    port: options.port ?? defaults.port,
    chatOrigin: options.chatOrigin ? originOf(options.chatOrigin, 'chatOrigin') : defaults.chatOrigin,
    vaultOrigin: options.vaultOrigin ? originOf(options.vaultOrigin, 'vaultOrigin') : defaults.vaultOrigin,
    bankOrigin: options.bankOrigin ? originOf(options.bankOrigin, 'bankOrigin') : defaults.bankOrigin,
    idpIssuer: options.idpIssuer ?? (options.bankOrigin ? `${originOf(options.bankOrigin, 'bankOrigin')}/idp` : defaults.idpIssuer),
    idpClientId: options.idpClientId ?? defaults.idpClientId,
    dataDir: options.dataDir === undefined ? defaults.dataDir : options.dataDir,
  };
  const idp = await createDemoIdp({
    issuer: config.idpIssuer,
    clientId: config.idpClientId,
    bankOrigin: config.bankOrigin,
    dataDir: config.dataDir ?? undefined,
  });
  const widgetDir = options.widgetDir ?? DEFAULT_WIDGET_DIR;
  const bodies = new Map<string, Buffer>();
  let indexTemplate = '';
  for (const { file } of Object.values(FILES)) {
    let text = readFileSync(new URL(file, ROOT), 'utf8');
    if (file === 'index.html') {
      text = text.replaceAll('{{CHAT_ORIGIN}}', escapeHtml(config.chatOrigin)).replaceAll('{{VAULT_ORIGIN}}', escapeHtml(config.vaultOrigin));
      indexTemplate = text;
    }
    bodies.set(file, Buffer.from(text, 'utf8'));
  }
  /** The page with the loader's current hash (undefined when the widget is not built). */
  const indexBody = (): Buffer | undefined => {
    let integrity: string;
    try {
      integrity = loaderIntegrity(widgetDir);
    } catch {
      return undefined;
    }
    return Buffer.from(indexTemplate.replaceAll('{{LOADER_INTEGRITY}}', escapeHtml(integrity)), 'utf8');
  };
  const headers = {
    'content-security-policy': bankCsp(config.chatOrigin, config.vaultOrigin),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-cache',
  };
  const log = options.log ?? false;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path.startsWith('/idp/') || path === '/.well-known/openid-configuration') {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      idp
        .handle(request, response, path)
        .catch(() => {
          if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          response.end();
        })
        .finally(() => {
          if (log) logLine({ level: 30, msg: 'request', method: request.method, path, status: response.statusCode });
        });
      return;
    }
    const entry = Object.hasOwn(FILES, path) ? FILES[path] : undefined;
    let status: number;
    let pageBody: Buffer | undefined;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      status = 405;
      response.writeHead(status, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    } else if (!entry) {
      status = 404;
      response.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
    } else if (entry.file === 'index.html' && (pageBody = indexBody()) === undefined) {
      status = 500;
      response
        .writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' })
        .end('dist/widget/loader.js is not built: run `npm run build`.\n');
    } else {
      status = 200;
      const body = entry.file === 'index.html' ? pageBody! : bodies.get(entry.file)!;
      response.writeHead(status, { ...headers, 'content-type': entry.type, 'content-length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
    }
    if (log) logLine({ level: 30, msg: 'request', method: request.method, path, status });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${hostForUrl}:${port}`,
    port,
    config: { ...config, port },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function originOf(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} is not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be http(s): ${value}`);
  return url.origin;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function logLine(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: Date.now(), name: 'bank', ...fields })}\n`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const bank = await startBankServer({ log: true });
  logLine({ level: 30, msg: `Demo bank listening on ${bank.url}`, chatOrigin: bank.config.chatOrigin, vaultOrigin: bank.config.vaultOrigin });
  const stop = () => void bank.close().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
