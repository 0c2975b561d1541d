/**
 * JSON over fetch against the chat server: bearer token, never cookies; every response body is
 * parsed with the schema from `protocol/` before anyone reads it; failures become a
 * {@link RequestError} carrying the catalog code the server sent.
 *
 * @module
 */
import { safeParse, type GenericSchema } from 'valibot';

/** A failed request. `code` is a catalog code (protocol/errors.ts); `status` 0 = no response. */
export class RequestError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.status = status;
  }
}

export interface RequestOptions<T> {
  readonly method?: 'GET' | 'POST';
  /** Session token, sent as `Authorization: Bearer`. */
  readonly token?: string | null;
  readonly body?: unknown;
  readonly schema: GenericSchema<unknown, T>;
  readonly signal?: AbortSignal;
}

/** Calls `base + path` and returns the validated body, or throws a {@link RequestError}. */
export async function requestJson<T>(base: string, path: string, options: RequestOptions<T>): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(base + path, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
      signal: options.signal ?? null,
    });
  } catch (cause) {
    if (options.signal?.aborted) throw cause;
    throw new RequestError('UPSTREAM_UNAVAILABLE', 'The chat server could not be reached.', 0);
  }
  const data: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFrom(data, response.status);
  const parsed = safeParse(options.schema, data);
  if (!parsed.success) throw new RequestError('INTERNAL_ERROR', 'The chat server sent an unexpected response.', response.status);
  return parsed.output;
}

/** Reads `{ error: { code, message } }`; anything else becomes a generic code for the status. */
export function errorFrom(data: unknown, status: number): RequestError {
  const error = (data as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new RequestError(error.code, error.message, status);
  }
  const code = status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  return new RequestError(code, `The chat server answered ${status}.`, status);
}

/** `http://x` -> `ws://x`, `https://x` -> `wss://x`. */
export function toWebSocketOrigin(origin: string): string {
  return origin.replace(/^http/, 'ws');
}
