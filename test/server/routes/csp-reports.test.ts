import { describe, expect, it } from 'vitest';
import {
  CSP_REPORT_MAX_BODY_BYTES,
  CSP_REPORT_MAX_PER_BODY,
  CSP_REPORT_RATE_LIMIT,
  CSP_REPORT_RATE_WINDOW_MS,
} from '../../../protocol/csp-report.ts';
import { CSP_REPORT_MAX_TRACKED_IPS, IpRateLimiter, blockedSummary, documentOriginAndPath } from '../../../server/routes/csp-reports.ts';
import { BANK, CHAT, EVIL, chatTest } from '../helpers.ts';

const SECRET = 'pivot=SECRET123';
const SAMPLE = 'alert(4242424242424242)';

/** What Chromium sends for `report-uri`. */
const reportUri = {
  'csp-report': {
    'document-uri': `${BANK}/pay/confirm?${SECRET}#frag`,
    referrer: `${BANK}/?${SECRET}`,
    'violated-directive': 'script-src-elem',
    'effective-directive': 'script-src-elem',
    'original-policy': "default-src 'self'; script-src 'self'",
    disposition: 'enforce',
    'blocked-uri': `https://evil.example/skim.js?${SECRET}`,
    'line-number': 12,
    'source-file': `${BANK}/app.js?${SECRET}`,
    'status-code': 200,
    'script-sample': SAMPLE,
  },
};

/** What the Reporting API sends for `report-to` (a batch, other report types mixed in). */
const reportingApi = [
  {
    type: 'csp-violation',
    age: 10,
    url: `${BANK}/pay?${SECRET}`,
    user_agent: 'Mozilla/5.0',
    body: {
      documentURL: `${BANK}/pay?${SECRET}#x`,
      referrer: '',
      blockedURL: 'inline',
      effectiveDirective: 'script-src-elem',
      originalPolicy: "script-src 'self'",
      sourceFile: `${BANK}/pay?${SECRET}`,
      sample: SAMPLE,
      disposition: 'report',
      statusCode: 200,
      lineNumber: 3,
    },
  },
  { type: 'deprecation', age: 1, url: `${BANK}/`, user_agent: 'x', body: { id: 'x', message: SAMPLE } },
];

describe('POST /v1/csp-reports', () => {
  let lines: string[];
  let now: number;

  /** A server that logs to `lines` on a clock at `now` (both reset before each test); `post` sends it a report body. */
  const it = chatTest
    .extend('post', ({ run }) => (body: string, contentType: string, headers: Record<string, string> = {}) =>
      run.server.app.inject({ method: 'POST', url: '/v1/csp-reports', headers: { 'content-type': contentType, ...headers }, payload: body }))
    .override('chatSetup', () => {
      lines = [];
      now = 1_700_000_000_000;
      return { env: { LOG_LEVEL: 'info' }, options: { clock: () => now, logStream: { write: (l: string) => void lines.push(l) } } };
    });

  const violations = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'csp violation').map((l) => l['cspViolation']);

  it('accepts a report-uri report (application/csp-report) with 204 and logs one line without query, fragment or sample', async ({ post }) => {
    const res = await post(JSON.stringify(reportUri), 'application/csp-report', { origin: 'null' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(violations()).toEqual([
      {
        format: 'report-uri',
        document: `${BANK}/pay/confirm`,
        blocked: 'https://evil.example',
        directive: 'script-src-elem',
        disposition: 'enforce',
        status: 200,
      },
    ]);
    const all = lines.join('\n');
    expect(all).not.toContain('SECRET123');
    // The sample, whole or cut (a bare '4242' would also match a log timestamp by chance).
    expect(all).not.toContain('4242424242424242');
    expect(all).not.toContain('alert(');
    expect(all).not.toContain('frag');
    expect(all).not.toContain('original-policy');
  });

  it('accepts a Reporting API batch (application/reports+json), logging only its csp-violation reports', async ({ post }) => {
    const res = await post(JSON.stringify(reportingApi), 'application/reports+json', { origin: BANK });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(BANK);
    expect(violations()).toEqual([
      { format: 'reporting-api', document: `${BANK}/pay`, blocked: 'inline', directive: 'script-src-elem', disposition: 'report', status: 200 },
    ]);
    const all = lines.join('\n');
    expect(all).not.toContain('SECRET123');
    expect(all).not.toContain('4242424242424242');
    expect(all).not.toContain('alert(');
  });

  it('accepts a content type with parameters, and reports from any Origin (browsers send null), echoing only bank origins', async ({ post }) => {
    const res = await post(JSON.stringify(reportUri), 'application/csp-report; charset=utf-8', { origin: EVIL });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect((await post(JSON.stringify(reportUri), 'application/csp-report')).statusCode).toBe(204);
  });

  it('answers the Reporting API preflight for bank origins only, never with *', async ({ run }) => {
    const preflight = (origin: string) =>
      run.server.app.inject({
        method: 'OPTIONS',
        url: '/v1/csp-reports',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const ok = await preflight(BANK);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(BANK);
    expect(ok.headers['access-control-allow-methods']).toBe('POST');
    expect(ok.headers['access-control-allow-headers']).toBe('Content-Type');
    expect((await preflight(CHAT)).statusCode).toBe(204);
    const refused = await preflight(EVIL);
    expect(refused.statusCode).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it(`refuses a body over CSP_REPORT_MAX_BODY_BYTES (${CSP_REPORT_MAX_BODY_BYTES}) with 413 BODY_TOO_LARGE`, async ({ post }) => {
    const padded = { 'csp-report': { ...reportUri['csp-report'], 'script-sample': 'x'.repeat(CSP_REPORT_MAX_BODY_BYTES) } };
    const res = await post(JSON.stringify(padded), 'application/csp-report');
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
    expect(violations()).toEqual([]);
  });

  it('refuses invalid JSON, an empty body and a wrongly typed field with 400 BAD_REQUEST', async ({ post }) => {
    for (const [body, type] of [
      ['{"csp-report": ', 'application/csp-report'],
      ['', 'application/csp-report'],
      ['{"csp-report": {"status-code": "200"}}', 'application/csp-report'],
      ['{"not-a-report": {}}', 'application/csp-report'],
      ['{"type": "csp-violation"}', 'application/reports+json'],
      ['[{"type": "csp-violation", "body": {"documentURL": 42}}]', 'application/reports+json'],
    ] as const) {
      const res = await post(body, type);
      expect(res.statusCode, body).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    }
    expect(violations()).toEqual([]);
  });

  it('refuses any other content type with 415 UNSUPPORTED_MEDIA_TYPE', async ({ run, post }) => {
    for (const type of ['application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const res = await post(JSON.stringify(reportUri), type);
      expect(res.statusCode, type).toBe(415);
      expect(res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    }
    const none = await run.server.app.inject({ method: 'POST', url: '/v1/csp-reports' });
    expect(none.statusCode).toBe(415);
  });

  it(`rate limits each client IP to CSP_REPORT_RATE_LIMIT (${CSP_REPORT_RATE_LIMIT}) requests per window with 429 RATE_LIMITED`, async ({ run, post }) => {
    const body = JSON.stringify(reportUri);
    for (let i = 0; i < CSP_REPORT_RATE_LIMIT; i++) expect((await post(body, 'application/csp-report')).statusCode).toBe(204);
    const limited = await post(body, 'application/csp-report');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // Bad bodies count too (the limit is applied before the body is read).
    expect((await post('{', 'application/csp-report')).statusCode).toBe(429);
    expect(violations()).toHaveLength(CSP_REPORT_RATE_LIMIT);
    // Another IP is not affected; the next window starts afresh.
    const other = await run.server.app.inject({
      method: 'POST',
      url: '/v1/csp-reports',
      remoteAddress: '10.0.0.9',
      headers: { 'content-type': 'application/csp-report' },
      payload: body,
    });
    expect(other.statusCode).toBe(204);
    now += CSP_REPORT_RATE_WINDOW_MS;
    expect((await post(body, 'application/csp-report')).statusCode).toBe(204);
  });

  it(`logs at most CSP_REPORT_MAX_PER_BODY (${CSP_REPORT_MAX_PER_BODY}) violations of one batch and counts the rest`, async ({ post }) => {
    const batch = Array.from({ length: CSP_REPORT_MAX_PER_BODY + 5 }, () => reportingApi[0]);
    const res = await post(JSON.stringify(batch), 'application/reports+json');
    expect(res.statusCode).toBe(204);
    expect(violations()).toHaveLength(CSP_REPORT_MAX_PER_BODY);
    expect(lines.some((l) => l.includes('"cspViolationsDropped":5'))).toBe(true);
  });
});

describe('CSP report summaries', () => {
  it('keep only origin and path of the document', () => {
    expect(documentOriginAndPath('https://www.bank.example/a/b?q=1#f')).toBe('https://www.bank.example/a/b');
    expect(documentOriginAndPath('about:blank')).toBeUndefined();
    expect(documentOriginAndPath('not a url')).toBeUndefined();
  });

  it('keep only the origin, scheme or keyword of the blocked resource', () => {
    expect(blockedSummary('https://cdn.example:8443/x.js?k=v')).toBe('https://cdn.example:8443');
    expect(blockedSummary('wss://x.example/socket?ticket=t')).toBe('wss://x.example');
    expect(blockedSummary('data:text/javascript,alert(1)')).toBe('data:');
    expect(blockedSummary('inline')).toBe('inline');
    expect(blockedSummary('trusted-types-policy')).toBe('trusted-types-policy');
    expect(blockedSummary('<script>')).toBe('other');
    expect(blockedSummary('')).toBeUndefined();
  });

  it(`the rate limiter tracks at most CSP_REPORT_MAX_TRACKED_IPS (${CSP_REPORT_MAX_TRACKED_IPS}) addresses`, () => {
    let t = 0;
    const limiter = new IpRateLimiter(1, 1000, () => t);
    for (let i = 0; i < CSP_REPORT_MAX_TRACKED_IPS; i++) limiter.take(`ip${i}`);
    expect(limiter.take('ip0')).toBe(false);
    t = 1000;
    expect(limiter.take('new')).toBe(true); // sweeps the expired windows
    expect(limiter.take('new')).toBe(false);
    expect(limiter.take('ip1')).toBe(true);
  });
});
