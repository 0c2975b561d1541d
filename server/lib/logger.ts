/**
 * Logger options: JSON lines (pino) where a request is logged as method + PATH only. The query
 * string is dropped (the WS ticket travels there), headers are not logged (Authorization), and
 * bodies never are (Fastify does not log them; nothing here adds them).
 *
 * @module
 */
import type { FastifyServerOptions } from 'fastify';

export interface LoggerDestination {
  write(line: string): void;
}

interface LoggableRequest {
  method?: string;
  url?: string;
  ip?: string;
}

export function loggerOptions(level: string, stream?: LoggerDestination): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream ? { stream } : {}),
    serializers: {
      req(request: LoggableRequest) {
        const url = request.url ?? '';
        const q = url.indexOf('?');
        return { method: request.method, path: q === -1 ? url : url.slice(0, q), remoteAddress: request.ip };
      },
    },
  };
}
