/**
 * CORS and Origin enforcement, as one onRequest hook (no @fastify/cors).
 *
 * | path                 | allowed Origin                           | disallowed Origin |
 * | -------------------- | ---------------------------------------- | ----------------- |
 * | /v1/agent/*          | CHAT_ORIGIN (the console; GET, POST, DELETE) | 403            |
 * | /v1/ws-tickets       | CHAT_ALLOWED_ORIGINS + CHAT_ORIGIN        | 403               |
 * | /v1/vault/notices    | none: server-to-server, any Origin        | 403               |
 * | /v1/ws               | checked per ticket role in ws/route.ts    | 403, no upgrade   |
 * | /v1/csp-reports      | POST: any (see below); preflight: CHAT_ALLOWED_ORIGINS + CHAT_ORIGIN | preflight 403 |
 * | other /v1/*          | CHAT_ALLOWED_ORIGINS (bank pages)         | 403               |
 * | /widget/*            | CHAT_ALLOWED_ORIGINS get ACAO (ES modules)| no ACAO           |
 *
 * CSP reports are write-only, rate limited and only logged: browsers send `report-uri` reports
 * in no-cors mode, with `Origin: null` when the page has `Referrer-Policy: no-referrer`, so the
 * Origin header cannot gate them. Chromium's Reporting API (`report-to`) preflights a cross-origin
 * upload; that preflight is answered for the bank origins (and the console) only.
 *
 * A request without Origin (curl, a server, a same-origin GET) passes; routes that need the
 * origin (pivot tokens) require it themselves. Allow-Origin is always the request's own origin,
 * never `*`; no credentials are ever allowed (bearer tokens, not cookies).
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatConfig } from '../config.ts';
import { sendError } from './errors.ts';
import { AGENT_PREFIX, API_PREFIX, CSP_REPORTS_PATH, VAULT_NOTICES_PATH, WS_PATH, WS_TICKETS_PATH } from '../../protocol/chat-paths.ts';

/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_S = 600;
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type';
export const CORS_ALLOW_METHODS = 'GET, POST';
/** The console also signs out (DELETE /v1/agent/sessions/current). */
export const CORS_AGENT_ALLOW_METHODS = 'GET, POST, DELETE';

export type OriginPolicy = 'customer' | 'agent' | 'customer-or-agent' | 'server-only' | 'script' | 'report' | 'none';

/** Methods a CSP report upload may use (Reporting API preflight). */
export const CSP_REPORT_ALLOW_METHODS = 'POST';
export const CSP_REPORT_ALLOW_HEADERS = 'Content-Type';

export function originPolicyFor(path: string): OriginPolicy {
  if (path === WS_PATH) return 'none';
  if (path === VAULT_NOTICES_PATH) return 'server-only';
  if (path === CSP_REPORTS_PATH) return 'report';
  if (path === WS_TICKETS_PATH) return 'customer-or-agent';
  if (path === AGENT_PREFIX || path.startsWith(`${AGENT_PREFIX}/`)) return 'agent';
  if (path.startsWith(`${API_PREFIX}/`)) return 'customer';
  if (path.startsWith('/widget/')) return 'script';
  return 'none';
}

export function allowedOriginsFor(policy: OriginPolicy, config: ChatConfig): ReadonlySet<string> {
  switch (policy) {
    case 'customer':
    case 'script':
      return new Set(config.allowedOrigins);
    case 'agent':
      return new Set([config.chatOrigin]);
    case 'customer-or-agent':
    case 'report':
      return new Set([...config.allowedOrigins, config.chatOrigin]);
    case 'server-only':
    case 'none':
      return new Set();
  }
}

export function requestPath(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function installCors(app: FastifyInstance, config: ChatConfig): void {
  const sets = new Map<OriginPolicy, ReadonlySet<string>>(
    (['customer', 'agent', 'customer-or-agent', 'server-only', 'script', 'report', 'none'] as const).map((p) => [p, allowedOriginsFor(p, config)]),
  );

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const policy = originPolicyFor(requestPath(request.url));
    if (policy === 'none') return;
    const origin = request.headers.origin;
    const allowed = sets.get(policy)!;
    reply.header('vary', 'Origin');

    if (policy === 'script') {
      if (origin !== undefined && allowed.has(origin)) reply.header('access-control-allow-origin', origin);
      return;
    }
    if (policy === 'report') {
      const known = origin !== undefined && allowed.has(origin);
      if (known) reply.header('access-control-allow-origin', origin);
      if (request.method !== 'OPTIONS') return;
      if (!known) return sendError(reply, 'ORIGIN_NOT_ALLOWED');
      return reply
        .code(204)
        .header('access-control-allow-methods', CSP_REPORT_ALLOW_METHODS)
        .header('access-control-allow-headers', CSP_REPORT_ALLOW_HEADERS)
        .header('access-control-max-age', String(CORS_MAX_AGE_S))
        .send();
    }
    if (origin === undefined) {
      if (request.method === 'OPTIONS') return reply.code(204).send();
      return;
    }
    if (!allowed.has(origin)) return sendError(reply, 'ORIGIN_NOT_ALLOWED');
    reply.header('access-control-allow-origin', origin);
    if (request.method === 'OPTIONS') {
      return reply
        .code(204)
        .header('access-control-allow-methods', policy === 'agent' ? CORS_AGENT_ALLOW_METHODS : CORS_ALLOW_METHODS)
        .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
        .header('access-control-max-age', String(CORS_MAX_AGE_S))
        .send();
    }
  });

  // Preflights need a route to land on; the hook above answers them.
  app.options(`${API_PREFIX}/*`, async (_request, reply) => reply.code(204).send());
}
