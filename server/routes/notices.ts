/**
 * `POST /v1/vault/notices` (server-to-server; any Origin is refused by http/cors.ts): the vault
 * reports a step's result (a tokenized card, a changed address, a confirmed or declined transfer).
 * Each notice is verified against the vault's JWKS, then applied atomically by the store:
 * replay -> NOTICE_REPLAYED; unknown step/pivot jti, or a result not of the step's kind
 * (or a transfer whose amount/payee differ from the step's) -> NOTICE_INVALID.
 *
 * Two body forms (VaultNoticeEnvelopeSchema):
 * - `{ notice }`: answered 200 `{ accepted, seq }`, or the notice's error (409 NOTICE_REPLAYED,
 *   401 NOTICE_INVALID, ...);
 * - `{ notices }` (1..VAULT_NOTICE_BATCH_MAX): each notice processed in order exactly as the single
 *   form would, answered 200 VaultNoticeBatchResponse (one result per notice, same order). A
 *   failure that is not a notice's own (5xx: JWKS_UNAVAILABLE, INTERNAL_ERROR) fails the request.
 *
 * The route's body limit is VAULT_NOTICE_MAX_BODY_BYTES (a full batch), above the server default.
 *
 * @module
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { PivotError } from '../../protocol/errors.ts';
import {
  VAULT_NOTICE_MAX_BODY_BYTES,
  VaultNoticeEnvelopeSchema,
  type VaultNoticeBatchResponse,
  type VaultNoticeClaims,
  type VaultNoticeResult,
} from '../../protocol/vault-api.ts';
import type { ChatContext } from '../context.ts';
import { applyPasskeyNotice, isPasskeyNotice, raiseForPasskey } from '../steps/passkey-notices.ts';
import { typed } from '../http/validation.ts';
import { VAULT_NOTICES_PATH } from '../../protocol/chat-paths.ts';

/** Apply one verified notice; rejects with a {@link PivotError}. */
async function apply(ctx: ChatContext, log: FastifyBaseLogger, claims: VaultNoticeClaims): Promise<number> {
  if (isPasskeyNotice(claims)) {
    const seq = await applyPasskeyNotice(ctx, claims);
    log.info({ stepId: claims.stp, event: claims.event, seq }, 'vault notice applied');
    return seq;
  }
  const event = await ctx.service.completeStep(claims);
  await raiseForPasskey(ctx, claims);
  log.info({ stepId: claims.stp, event: claims.event, verified: claims.verified, seq: event.seq }, 'vault notice applied');
  return event.seq;
}

/** One notice of a batch: its result, or a throw for a failure that is not the notice's own. */
async function batchResult(ctx: ChatContext, log: FastifyBaseLogger, notice: string): Promise<VaultNoticeResult> {
  let jti: string | undefined;
  try {
    const claims = await ctx.verifyNotice(notice);
    jti = claims.jti;
    await apply(ctx, log, claims);
    return { jti, status: 'accepted' };
  } catch (error) {
    if (!(error instanceof PivotError) || error.status >= 500) throw error;
    log.info({ code: error.code }, 'vault notice not applied');
    return { ...(jti === undefined ? {} : { jti }), status: error.code === 'NOTICE_REPLAYED' ? 'replayed' : 'invalid', code: error.code };
  }
}

export function noticeRoutes(app: FastifyInstance, ctx: ChatContext): void {
  typed(app).post(VAULT_NOTICES_PATH, { bodyLimit: VAULT_NOTICE_MAX_BODY_BYTES, schema: { body: VaultNoticeEnvelopeSchema } }, async (request, reply) => {
    const envelope = request.body;
    if ('notice' in envelope) {
      const seq = await apply(ctx, request.log, await ctx.verifyNotice(envelope.notice));
      return reply.header('cache-control', 'no-store').send({ accepted: true, seq });
    }
    const results: VaultNoticeResult[] = [];
    // In order, one after the other: two notices of one step behave as two single posts would.
    for (const notice of envelope.notices) results.push(await batchResult(ctx, request.log, notice));
    const body: VaultNoticeBatchResponse = { results };
    return reply.header('cache-control', 'no-store').send(body);
  });
}
