/**
 * `GET /.well-known/jwks.json`: the public keys that verify pivot tokens (current + previous).
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ChatContext } from '../context.ts';
import { CHAT_JWKS_PATH } from '../../protocol/chat-paths.ts';

/** How long verifiers may cache the JWKS, in seconds (rotation keeps the previous key). */
export const JWKS_CACHE_MAX_AGE_S = 300;

export function jwksRoutes(app: FastifyInstance, ctx: ChatContext): void {
  app.get(CHAT_JWKS_PATH, async (_request, reply) =>
    reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', `public, max-age=${JWKS_CACHE_MAX_AGE_S}`)
      .send(JSON.stringify(ctx.keys.jwks())),
  );
}
