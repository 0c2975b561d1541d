/**
 * Static files: the widget bundles for bank pages (`/widget/*` from dist/widget), and the agent
 * console (`/console` HTML under a strict CSP, `/console/*` from dist/console).
 *
 * `GET /widget/integrity.json` answers the SRI hashes (sha384) of `loader.js` and
 * `secure-chat.js`, computed once when the server starts, for the `integrity` attribute of the
 * bank's script tag (docs/merchant-hardening.md).
 *
 * Only names made of safe segments with a known extension are served, and the resolved path
 * must stay inside its folder: no traversal, no dotfiles, no directory listings.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ChatConfig } from '../config.ts';
import { sendError } from './errors.ts';

/** Browser cache lifetime of the widget bundles, in seconds (short: names are not hashed). */
export const WIDGET_CACHE_MAX_AGE_S = 300;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

/** Browser cache lifetime of /widget/integrity.json, in seconds (a release changes it). */
export const INTEGRITY_CACHE_MAX_AGE_S = 60;
/** The widget files whose SRI hash /widget/integrity.json publishes (with the chunks they load). */
export const INTEGRITY_FILES = ['loader.js', 'secure-chat.js'] as const;

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const CONSOLE_HTML = readFileSync(new URL('./console.html', import.meta.url), 'utf8');

/** The console page's CSP: its own scripts and styles only, WebSocket to this origin. */
export function consoleCsp(chatOrigin: string): string {
  const wsOrigin = chatOrigin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${wsOrigin}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The SRI value (`sha384-<base64>`) of `bytes`. */
export function sriSha384(bytes: Uint8Array): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

/** A chunk of the widget that `secure-chat.js` (or another chunk) names: `./secure-chat-<hash>.js`. */
const WIDGET_CHUNK_REFERENCE = /["'`]\.\/(secure-chat-[A-Za-z0-9_-]{1,64}\.js)["'`]/g;

/**
 * SRI hashes of the built widget files in `widgetDir`: the loader, `secure-chat.js`, and every
 * chunk it loads (at open or with the first step), so that a bank's script inventory (PCI DSS
 * 6.4.3) knows each file; undefined when one is not built.
 */
export function widgetIntegrity(widgetDir: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const pending: string[] = [...INTEGRITY_FILES];
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (name in out) continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(widgetDir, name));
    } catch {
      return undefined;
    }
    out[name] = sriSha384(bytes);
    if (name !== 'loader.js') for (const [, chunk] of bytes.toString('utf8').matchAll(WIDGET_CHUNK_REFERENCE)) pending.push(chunk!);
  }
  return out;
}

/** Resolves `rel` inside `root`, or undefined if it is not a plain, known-type file name. */
export function safeResolve(root: string, rel: string): string | undefined {
  const segments = rel.split('/');
  if (segments.length > 4 || !segments.every((s) => SEGMENT.test(s) && !s.includes('..'))) return undefined;
  if (!(extname(rel) in CONTENT_TYPES)) return undefined;
  const base = resolve(root);
  const full = resolve(base, ...segments);
  return full.startsWith(base + sep) ? full : undefined;
}

/** `/widget/*`: the bank pages' scripts (their Origin group gets Access-Control-Allow-Origin). */
export function widgetFileRoutes(app: FastifyInstance, config: ChatConfig): void {
  const widgetDir = join(config.distDir, 'widget');
  const integrity = widgetIntegrity(widgetDir);
  if (integrity === undefined) app.log.warn({ widgetDir }, 'widget bundles not built: /widget/integrity.json answers 404');

  app.get('/widget/integrity.json', async (_request, reply) => {
    if (integrity === undefined) return sendError(reply, 'NOT_FOUND', 'dist/widget is not built; run `npm run build`.');
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('cache-control', `public, max-age=${INTEGRITY_CACHE_MAX_AGE_S}`)
      .send(JSON.stringify(integrity));
  });

  app.get('/widget/*', async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    return serveFile(reply, widgetDir, rel, 'widget', {
      'cross-origin-resource-policy': 'cross-origin',
      'cache-control': `public, max-age=${WIDGET_CACHE_MAX_AGE_S}`,
    });
  });

}

/** `/console`: the agent console's page and scripts (same origin: no CORS). */
export function consoleFileRoutes(app: FastifyInstance, config: ChatConfig): void {
  const consoleDir = join(config.distDir, 'console');
  const consolePage = async (_request: unknown, reply: FastifyReply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', consoleCsp(config.chatOrigin))
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      .header('cache-control', 'no-cache')
      .send(CONSOLE_HTML);
  app.get('/console', consolePage);
  app.get('/console/', consolePage);

  app.get('/console/*', async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    return serveFile(reply, consoleDir, rel, 'console', {
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-cache',
    });
  });
}

async function serveFile(
  reply: FastifyReply,
  root: string,
  rel: string,
  realm: string,
  headers: Record<string, string>,
): Promise<FastifyReply> {
  const path = safeResolve(root, rel);
  if (path === undefined) return sendError(reply, 'NOT_FOUND');
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    return sendError(reply, 'NOT_FOUND', `dist/${realm}/${rel} is not built; run \`npm run build\`.`);
  }
  return reply.headers(headers).header('content-type', CONTENT_TYPES[extname(path)]!).send(body);
}
