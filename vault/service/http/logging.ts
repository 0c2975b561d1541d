/**
 * Logging that cannot carry card data, postal addresses or tokens.
 *
 * Fastify's pino logs JSON lines to stdout. What may appear is decided here, by serializers,
 * not by hoping handlers are careful:
 * - requests: method, path WITHOUT query string, request id; never headers or body;
 * - responses: status code only;
 * - errors: name, code, status and a message/stack passed through {@link scrub}; never `cause`
 *   (jose and SQLite errors keep their detail there) and never the request body.
 * Bodies are never logged by Fastify; the JSON parser of the vault replaces parse errors (whose
 * V8 message quotes the input) by a bare BAD_REQUEST.
 *
 * @module
 */
import type { FastifyServerOptions } from 'fastify';

/** A run of 12-19 digits, possibly split by spaces or dashes: anything that could be a PAN. */
const PAN_LIKE = /\d(?:[ -]?\d){11,18}/g;
/** A compact JWS/JWT. */
const JWS_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** Remove anything that looks like a PAN or a compact JWS from `text`. */
export function scrub(text: string): string {
  return text.replace(JWS_LIKE, '[redacted-jws]').replace(PAN_LIKE, '[redacted-digits]');
}

function pathOnly(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return scrub(q === -1 ? url : url.slice(0, q));
}

export const logSerializers = {
  req(req: { method?: string; url?: string; id?: string }) {
    return { method: req.method, path: pathOnly(req.url), id: req.id };
  },
  res(res: { statusCode?: number }) {
    return { statusCode: res.statusCode };
  },
  err(err: { name?: string; code?: unknown; statusCode?: unknown; message?: string; stack?: string }) {
    return {
      type: err.name,
      code: typeof err.code === 'string' ? err.code : undefined,
      statusCode: typeof err.statusCode === 'number' ? err.statusCode : undefined,
      message: scrub(String(err.message ?? '')),
      stack: err.stack ? scrub(err.stack) : undefined,
    };
  },
};

/** Fastify `logger` options for the vault; `stream` lets tests capture the lines. */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    serializers: logSerializers,
    // Belt and braces: should anything ever log these paths, pino replaces them.
    redact: {
      paths: [
        'req.headers',
        'req.body',
        'body',
        'pivotToken',
        'card',
        '*.pivotToken',
        '*.card',
        'notice',
        '*.notice',
        // A new postal address, whole or by field.
        'address',
        '*.address',
        'lines',
        '*.lines',
        'postcode',
        '*.postcode',
        'city',
        '*.city',
        // Card data on the way to the processor, should it ever reach a log call.
        'pan',
        '*.pan',
        'cvc',
        '*.cvc',
      ],
      censor: '[redacted]',
    },
    ...(stream ? { stream } : {}),
  } as NonNullable<FastifyServerOptions['logger']>;
}
