/**
 * Turns every failure into the catalog's `{error:{code,message}}` body with the catalog's status.
 * Never a stack, never the input echoed back; unexpected errors are logged server-side only.
 *
 * @module
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import * as v from 'valibot';
import { ERROR_CATALOG, PivotError, errorBody, type ErrorCode } from '../../protocol/errors.ts';

/** Fastify's own error codes, mapped onto the catalog. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'BAD_REQUEST',
};

export function sendError(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  return reply.code(ERROR_CATALOG[code].status).header('cache-control', 'no-store').send(errorBody(code, message));
}

/**
 * The `BAD_REQUEST` for input a protocol schema refused: it names only the first failing path,
 * never the offending value, which might be a secret.
 */
export function invalidInput(issues: readonly [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]]): PivotError {
  const path = v.getDotPath(issues[0]);
  return new PivotError('BAD_REQUEST', path ? `Invalid field: ${path}.` : undefined);
}

/**
 * Parses `input` with a protocol schema; throws {@link invalidInput}. Routes declare their schemas
 * instead (http/validation.ts); this is for input whose schema depends on what the request is.
 */
export function parseOr400<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  throw invalidInput(result.issues);
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | PivotError | Error, request, reply) => {
    if (err instanceof PivotError) {
      if (err.status >= 500) request.log.error({ err }, 'request failed');
      return sendError(reply, err.code, err.message);
    }
    const code = 'code' in err && typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
    if (code !== undefined) return sendError(reply, code);
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) return sendError(reply, 'BAD_REQUEST');
    request.log.error({ err }, 'unexpected error');
    return sendError(reply, 'INTERNAL_ERROR');
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'NOT_FOUND'));
}
