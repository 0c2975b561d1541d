/**
 * CORS and Origin enforcement: each group of routes (server/app.ts) is an encapsulated plugin with
 * one onRequest hook for its policy (no @fastify/cors); a path that is no group's gets none.
 *
 * | group                | allowed Origin                           | disallowed Origin |
 * | -------------------- | ---------------------------------------- | ----------------- |
 * | /v1/agent/*          | CHAT_ORIGIN (the console; GET, POST, DELETE) | 403            |
 * | /v1/ws-tickets       | CHAT_ALLOWED_ORIGINS + CHAT_ORIGIN        | 403               |
 * | /v1/vault/notices    | none: server-to-server, any Origin        | 403               |
 * | /v1/ws               | checked per ticket role in ws/route.ts    | 403, no upgrade   |
 * | /v1/csp-reports      | POST: any (see below); preflight: CHAT_ALLOWED_ORIGINS + CHAT_ORIGIN | preflight 403 |
 * | customer routes      | CHAT_ALLOWED_ORIGINS (bank pages): sessions, pivot tokens, link redeem | 403 |
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

/** The onRequest hook of a route group whose routes all follow `policy`. */
export function corsHook(policy: OriginPolicy, config: ChatConfig): (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
  const allowed = allowedOriginsFor(policy, config);
  return async (request, reply) => {
    if (policy === 'none') return;
    const origin = request.headers.origin;
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
    return undefined;
  };
}

/**
 * Registers a group of routes that share one Origin policy, as an encapsulated Fastify plugin:
 * the group's CORS hook runs for its routes only, and each of its paths answers the browser's
 * preflight (the hook answers it; a script group is only ever fetched with GET).
 */
export function originGroup(app: FastifyInstance, config: ChatConfig, policy: OriginPolicy, register: (group: FastifyInstance) => void): void {
  void app.register(async (group) => {
    group.addHook('onRequest', corsHook(policy, config));
    const paths: string[] = [];
    group.addHook('onRoute', (route) => {
      if (route.method !== 'OPTIONS' && !paths.includes(route.url)) paths.push(route.url);
    });
    register(group);
    if (policy === 'script' || policy === 'none') return;
    // Preflights need a route to land on; the hook above answers them. Registered as a plugin
    // of the group, so it runs after the routes that `register` put in nested scopes.
    void group.register(async (preflights) => {
      for (const url of paths) preflights.options(url, async (_request, reply) => reply.code(204).send());
    });
  });
}
