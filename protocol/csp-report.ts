/**
 * Browser -> chat server: Content-Security-Policy violation reports from the bank's page
 * (`POST /v1/csp-reports`), in the two formats browsers send.
 *
 * - `application/csp-report` (CSP `report-uri`): `{ "csp-report": { "document-uri": …, … } }`
 * - `application/reports+json` (Reporting API, CSP `report-to`): `[{ "type": "csp-violation",
 *   "body": { "documentURL": …, … } }, …]`; other report types in the batch are ignored.
 *
 * The schemas are loose on purpose: they name only the fields the server keeps (unknown fields,
 * including `script-sample` / `sample`, `original-policy` and `referrer`, are dropped by the
 * parse and never reach a log). A field we keep with the wrong type fails the parse.
 *
 * @module
 */
import * as v from 'valibot';

/** Largest report body accepted, in bytes (a Reporting API batch included). */
export const CSP_REPORT_MAX_BODY_BYTES = 16 * 1024;
/** At most this many violations of one body are logged; the rest are counted only. */
export const CSP_REPORT_MAX_PER_BODY = 20;
/** Report requests one client IP may send per window before 429. */
export const CSP_REPORT_RATE_LIMIT = 60;
/** The window of {@link CSP_REPORT_RATE_LIMIT}, in ms. */
export const CSP_REPORT_RATE_WINDOW_MS = 60_000;

export const CSP_REPORT_CONTENT_TYPES = ['application/csp-report', 'application/reports+json'] as const;

const text = v.optional(v.pipe(v.string(), v.maxLength(CSP_REPORT_MAX_BODY_BYTES)));
const status = v.optional(v.pipe(v.number(), v.integer()));

/** `report-uri` format (CSP Level 2/3). */
export const CspReportUriSchema = v.object({
  'csp-report': v.object({
    'document-uri': text,
    'blocked-uri': text,
    'effective-directive': text,
    'violated-directive': text,
    disposition: text,
    'status-code': status,
  }),
});
export type CspReportUri = v.InferOutput<typeof CspReportUriSchema>;

/** The body of one Reporting API `csp-violation` report. */
export const CspViolationBodySchema = v.object({
  documentURL: text,
  blockedURL: text,
  effectiveDirective: text,
  disposition: text,
  statusCode: status,
});

/** One Reporting API report; only `type === 'csp-violation'` bodies are parsed further. */
export const ReportingApiReportSchema = v.object({
  type: v.pipe(v.string(), v.maxLength(64)),
  body: v.optional(v.unknown()),
});

/** `application/reports+json`: a batch. */
export const ReportingApiBatchSchema = v.pipe(v.array(ReportingApiReportSchema), v.maxLength(1000));
