/**
 * `POST /v1/steps/:stepId/pivot-token` (customer): signs a pivot token for a step of the
 * session's own conversation, if the step is open and the session's acr meets the step's
 * policy (or the session came by a pivot link and the customer holds a passkey: the vault then
 * demands it). The token's `origin` is the request's Origin, which must be a configured bank origin.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { PivotTokenResponse } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { PIVOT_TOKEN_TTL_S, acrAtLeast } from '../../protocol/pivot-token.ts';
import { sessionOf } from '../auth/sessions.ts';
import { epochSeconds, isoTime } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import { signPivotToken } from '../keys/sign-pivot-token.ts';
import { copyStep } from '../steps/index.ts';
import { PIVOT_TOKEN_ROUTE } from '../../protocol/chat-paths.ts';

/** Pivot tokens one step may be issued (each retry of the card form asks for a fresh one). */
export const MAX_PIVOT_TOKENS_PER_STEP = 50;

export function pivotTokenRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock, config, keys } = ctx;

  app.post(PIVOT_TOKEN_ROUTE, async (request, reply) => {
    const { session } = sessionOf(request);
    const origin = request.headers.origin;
    if (origin === undefined || !config.allowedOrigins.includes(origin)) throw new PivotError('ORIGIN_NOT_ALLOWED');

    const { stepId } = request.params as { stepId: string };
    const step = await store.steps.get(stepId);
    if (!step || session.conversationId === null || step.conversationId !== session.conversationId) {
      throw new PivotError('STEP_NOT_FOUND');
    }
    if (step.status === 'completed') throw new PivotError('STEP_ALREADY_COMPLETED');
    const customer = session.customerId ? await store.customers.get(session.customerId) : undefined;
    // Below the step's level, a customer verified by a pivot link who holds a passkey still gets a
    // token (at acr `channel`): the vault accepts its answer only with that passkey, which also
    // signs the customer in to the bank's level (the one tap after the pivot).
    const byPasskey = session.acr === 'channel' && customer?.hasPasskey === true;
    if (!acrAtLeast(session.acr, step.requiredAcr) && !byPasskey) throw new PivotError('STEP_UP_REQUIRED');
    if ((await store.steps.countPivotTokens(step.id)) >= MAX_PIVOT_TOKENS_PER_STEP) throw new PivotError('RATE_LIMITED');
    if (!customer) throw new PivotError('UNAUTHENTICATED');
    const conversation = await store.conversations.get(step.conversationId);
    const channel = conversation?.channel;

    const { token, claims } = await signPivotToken(keys.current, {
      issuer: config.chatOrigin,
      audience: config.vaultOrigin,
      subject: customer.pseudonym,
      origin,
      conversationId: step.conversationId,
      step: copyStep(step),
      acr: session.acr,
      // Where the vault may send a passkey enrolment code: the app the customer came from.
      // (Or, for a conversation from the web, the phone the bank verified, by SMS.)
      ...(channel && channel !== 'web' ? { outOfBandChannel: channel } : customer.phone ? { outOfBandChannel: 'sms' as const } : {}),
      now: epochSeconds(clock),
      ttlSeconds: PIVOT_TOKEN_TTL_S,
    });
    await store.steps.recordPivotToken({
      jti: claims.jti,
      stepId: step.id,
      sessionId: session.id,
      issuedAt: claims.iat * 1000,
      expiresAt: claims.exp * 1000,
    });
    const response: PivotTokenResponse = { token, vaultOrigin: config.vaultOrigin, expiresAt: isoTime(claims.exp * 1000) };
    return reply.header('cache-control', 'no-store').send(response);
  });
}
