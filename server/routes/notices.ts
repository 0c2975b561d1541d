/**
 * `POST /v1/vault/notices` (server-to-server; any Origin is refused by cors.ts): the vault
 * reports a step's result (a tokenized card, a changed address, a confirmed or declined transfer).
 * The notice is verified against the vault's JWKS, then applied atomically by the store:
 * replay -> 409 NOTICE_REPLAYED; unknown step/pivot jti, or a result not of the step's kind
 * (or a transfer whose amount/payee differ from the step's) -> 401 NOTICE_INVALID.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { VaultNoticeEnvelopeSchema } from '../../protocol/vault-api.ts';
import type { ChatContext } from '../context.ts';
import { parseOr400 } from '../http-errors.ts';

export function noticeRoutes(app: FastifyInstance, ctx: ChatContext): void {
  app.post('/v1/vault/notices', async (request, reply) => {
    const { notice } = parseOr400(VaultNoticeEnvelopeSchema, request.body);
    const claims = await ctx.verifyNotice(notice);
    const event = await ctx.service.completeStep(claims);
    request.log.info({ stepId: claims.stp, event: claims.event, seq: event.seq }, 'vault notice applied');
    return reply.header('cache-control', 'no-store').send({ accepted: true, seq: event.seq });
  });
}
