/**
 * `POST /v1/csp-reports`: Content-Security-Policy violation reports from the bank's page, one
 * structured log line per violation (PCI DSS 4.0 11.6.1: be told when the page's scripts change).
 *
 * Accepts `application/csp-report` (`report-uri`) and `application/reports+json` (Reporting API,
 * `report-to`), at most CSP_REPORT_MAX_BODY_BYTES, at most CSP_REPORT_RATE_LIMIT requests per
 * client IP per CSP_REPORT_RATE_WINDOW_MS. Answers 204 with no body.
 *
 * What is logged, and nothing else: the document's origin + path (no query, no fragment), the
 * blocked resource's origin (or a keyword such as `inline`, `eval`, or a scheme such as `data:`),
 * the effective directive, the disposition and the HTTP status. Never the query string, the
 * fragment, the script sample, the referrer or the policy text (the schemas in
 * protocol/csp-report.ts drop them before this code sees the report).
 *
 * Origin: browsers send these reports without CORS (`report-uri`, Origin often `null` under
 * `Referrer-Policy: no-referrer`) or after a preflight (Chromium's Reporting API); see http/cors.ts.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import {
  CSP_REPORT_CONTENT_TYPES,
  CSP_REPORT_MAX_BODY_BYTES,
  CSP_REPORT_MAX_PER_BODY,
  CSP_REPORT_RATE_LIMIT,
  CSP_REPORT_RATE_WINDOW_MS,
  CspReportUriSchema,
  CspViolationBodySchema,
  ReportingApiBatchSchema,
} from '../../protocol/csp-report.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import { parseOr400 } from '../http/errors.ts';

/** Distinct client IPs tracked by the rate limiter before expired windows are swept. */
export const CSP_REPORT_MAX_TRACKED_IPS = 10_000;
/** Longest document path kept in a log line, in characters. */
export const CSP_REPORT_MAX_PATH_CHARS = 256;

/** One violation as it is logged. */
export interface CspViolationLog {
  readonly format: 'report-uri' | 'reporting-api';
  readonly document?: string;
  readonly blocked?: string;
  readonly directive?: string;
  readonly disposition?: 'enforce' | 'report';
  readonly status?: number;
}

interface RawViolation {
  readonly documentUri?: string | undefined;
  readonly blockedUri?: string | undefined;
  readonly directive?: string | undefined;
  readonly disposition?: string | undefined;
  readonly status?: number | undefined;
}

/** Fixed-window request counter per client IP. */
export class IpRateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(limit: number, windowMs: number, clock: Clock) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#clock = clock;
  }

  /** Counts one request from `ip`; false when it is over the limit. */
  take(ip: string): boolean {
    const now = this.#clock();
    let window = this.#windows.get(ip);
    if (window === undefined || now - window.start >= this.#windowMs) {
      if (window === undefined && this.#windows.size >= CSP_REPORT_MAX_TRACKED_IPS) this.#sweep(now);
      window = { start: now, count: 0 };
      this.#windows.set(ip, window);
    }
    window.count += 1;
    return window.count <= this.#limit;
  }

  #sweep(now: number): void {
    for (const [ip, window] of this.#windows) if (now - window.start >= this.#windowMs) this.#windows.delete(ip);
    // Still full: forget everyone rather than grow without bound (a flood resets, then re-counts).
    if (this.#windows.size >= CSP_REPORT_MAX_TRACKED_IPS) this.#windows.clear();
  }
}

/** `https://www.bank.example/pay?x=1#y` -> `https://www.bank.example/pay`; undefined if not http(s). */
export function documentOriginAndPath(value: string | undefined): string | undefined {
  const url = parseUrl(value);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
  return url.origin + url.pathname.slice(0, CSP_REPORT_MAX_PATH_CHARS);
}

/**
 * The blocked resource without path or query: an http(s)/ws(s) origin, a scheme (`data:`,
 * `blob:`), or a CSP keyword (`inline`, `eval`, `wasm-eval`, `trusted-types-policy`, …).
 */
export function blockedSummary(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^[a-z][a-z-]{0,39}$/.test(value)) return value;
  const url = parseUrl(value);
  if (url === undefined) return 'other';
  if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) return url.origin;
  return /^[a-z][a-z0-9+.-]{0,31}:$/.test(url.protocol) ? url.protocol : 'other';
}

function parseUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function summarise(format: CspViolationLog['format'], raw: RawViolation): CspViolationLog {
  const directive = raw.directive !== undefined && /^[a-z][a-z-]{0,63}$/.test(raw.directive) ? raw.directive : undefined;
  const disposition = raw.disposition === 'enforce' || raw.disposition === 'report' ? raw.disposition : undefined;
  const status = raw.status !== undefined && raw.status >= 0 && raw.status <= 999 ? raw.status : undefined;
  const document = documentOriginAndPath(raw.documentUri);
  const blocked = blockedSummary(raw.blockedUri);
  return {
    format,
    ...(document !== undefined ? { document } : {}),
    ...(blocked !== undefined ? { blocked } : {}),
    ...(directive !== undefined ? { directive } : {}),
    ...(disposition !== undefined ? { disposition } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

/** Parses a report body of either format into what is logged. Throws BAD_REQUEST. */
export function parseCspReports(contentType: string, body: unknown): CspViolationLog[] {
  if (contentType === 'application/csp-report') {
    const report = parseOr400(CspReportUriSchema, body)['csp-report'];
    return [
      summarise('report-uri', {
        documentUri: report['document-uri'],
        blockedUri: report['blocked-uri'],
        // Older browsers send only violated-directive ("script-src-elem 'self' …"): keep its name.
        directive: report['effective-directive'] ?? report['violated-directive']?.split(' ')[0],
        disposition: report.disposition,
        status: report['status-code'],
      }),
    ];
  }
  const batch = parseOr400(ReportingApiBatchSchema, body);
  const out: CspViolationLog[] = [];
  for (const [index, report] of batch.entries()) {
    if (report.type !== 'csp-violation') continue;
    const parsed = v.safeParse(CspViolationBodySchema, report.body);
    if (!parsed.success) throw new PivotError('BAD_REQUEST', `Invalid field: ${index}.body.`);
    const b = parsed.output;
    out.push(
      summarise('reporting-api', {
        documentUri: b.documentURL,
        blockedUri: b.blockedURL,
        directive: b.effectiveDirective,
        disposition: b.disposition,
        status: b.statusCode,
      }),
    );
  }
  return out;
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function cspReportRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const limiter = new IpRateLimiter(CSP_REPORT_RATE_LIMIT, CSP_REPORT_RATE_WINDOW_MS, ctx.clock);

  // An encapsulated scope: these content types exist only on this route.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([...CSP_REPORT_CONTENT_TYPES], { parseAs: 'string' }, (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      try {
        done(null, JSON.parse(text) as unknown);
      } catch {
        done(new PivotError('BAD_REQUEST', 'The report is not valid JSON.'), undefined);
      }
    });
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      done(new PivotError('UNSUPPORTED_MEDIA_TYPE', `Only ${CSP_REPORT_CONTENT_TYPES.join(' and ')} are accepted.`), undefined);
    });

    scope.post(
      '/v1/csp-reports',
      {
        bodyLimit: CSP_REPORT_MAX_BODY_BYTES,
        // Counted before the body is read, so floods of bad or huge bodies are limited too.
        onRequest: async (request) => {
          if (!limiter.take(request.ip)) throw new PivotError('RATE_LIMITED');
        },
      },
      async (request, reply) => {
        const type = mediaType(request);
        if (!(CSP_REPORT_CONTENT_TYPES as readonly string[]).includes(type)) {
          throw new PivotError('UNSUPPORTED_MEDIA_TYPE', `Only ${CSP_REPORT_CONTENT_TYPES.join(' and ')} are accepted.`);
        }
        const violations = parseCspReports(type, request.body);
        for (const violation of violations.slice(0, CSP_REPORT_MAX_PER_BODY)) {
          request.log.warn({ cspViolation: violation }, 'csp violation');
        }
        if (violations.length > CSP_REPORT_MAX_PER_BODY) {
          request.log.warn({ cspViolationsDropped: violations.length - CSP_REPORT_MAX_PER_BODY }, 'csp violations not logged');
        }
        return reply.code(204).send();
      },
    );
  });
}
