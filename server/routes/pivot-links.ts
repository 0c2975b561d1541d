/**
 * Pivot links (server/channels/pivot-link-codes.ts).
 *
 *   POST /v1/agent/conversations/:id/pivot-links  * agent: create and send a link on the
 *                                                    conversation's channel -> PivotLinkCreated
 *   POST /v1/pivot-links/redeem                      bank page (CHAT_ALLOWED_ORIGINS, http/cors.ts):
 *                                                    PivotLinkRedeemRequest -> SessionResponse (acr channel)
 *
 * Nothing here answers a GET: fetching the link (a preview crawler) never touches a code.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { ConversationIdSchema, PivotLinkRedeemRequestSchema, type SessionResponse } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { isoTime } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import { typed } from '../http/validation.ts';
import { createPivotLink, redeemPivotLink } from '../channels/pivot-link-codes.ts';
import { AGENT_PIVOT_LINKS_ROUTE, PIVOT_LINK_REDEEM_PATH } from '../../protocol/chat-paths.ts';

/** The agent's side (the agents' Origin group, an agent's session: server/app.ts). */
export function agentPivotLinkRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store } = ctx;

  app.post(AGENT_PIVOT_LINKS_ROUTE, async (request, reply) => {
    const id = (request.params as { id?: unknown }).id;
    if (!v.is(ConversationIdSchema, id) || !(await store.conversations.get(id))) throw new PivotError('CONVERSATION_NOT_FOUND');
    const created = await createPivotLink(ctx, id);
    return reply.code(201).header('cache-control', 'no-store').send(created);
  });
}

/** The bank page's side (the customers' Origin group). */
export function pivotLinkRedeemRoutes(app: FastifyInstance, ctx: ChatContext): void {
  // The bank page's call: a browser always sends Origin on a cross-origin POST. Checked before
  // the body is validated.
  const fromBankPage = async (request: FastifyRequest): Promise<void> => {
    const origin = request.headers.origin;
    if (origin === undefined || !ctx.config.allowedOrigins.includes(origin)) throw new PivotError('ORIGIN_NOT_ALLOWED');
  };

  typed(app).post(PIVOT_LINK_REDEEM_PATH, { preValidation: fromBankPage, schema: { body: PivotLinkRedeemRequestSchema } }, async (request, reply) => {
    const { token, session, conversationId } = await redeemPivotLink(ctx, request.body.code);
    const response: SessionResponse = {
      session: token,
      conversationId,
      acr: session.acr,
      expiresAt: isoTime(session.expiresAt),
    };
    return reply.code(201).header('cache-control', 'no-store').send(response);
  });
}
