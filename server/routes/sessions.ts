/**
 * Customer sessions and WebSocket tickets.
 *
 *   POST /v1/sessions            an anonymous session (acr none) and no conversation yet: the
 *                                customer's first message creates it (ws/socket-session.ts), so a
 *                                session nobody writes in costs agents nothing. Per client address
 *                                SESSIONS_PER_CLIENT (429 RATE_LIMITED + Retry-After)
 *   POST /v1/sessions/nonce    * a single-use nonce for the bank IdP's id_token (ID_TOKEN_NONCE_TTL_S)
 *   POST /v1/sessions/step-up  * raises the session to the id_token's acr, announces it; a bank
 *                                login for another customer than the session's -> IDENTITY_MISMATCH;
 *                                a signed-in customer's fresh anonymous start moves to their latest
 *                                conversation (see {@link movesToLatest})
 *   POST /v1/ws-tickets        * single-use, WS_TICKET_TTL_S ticket for GET /v1/ws; at most
 *                                WS_MAX_OPEN_TICKETS_PER_SESSION unused at once (429
 *                                WS_TOO_MANY_TICKETS), per client address TICKETS_PER_CLIENT
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import * as v from 'valibot';
import {
  ID_TOKEN_NONCE_TTL_S,
  SessionRequestSchema,
  StepUpRequestSchema,
  WS_MAX_OPEN_TICKETS_PER_SESSION,
  WS_TICKET_TTL_S,
  type NonceResponse,
  type SessionResponse,
  type WsTicketResponse,
} from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { acrAtLeast } from '../../protocol/pivot-token.ts';
import { issueSession, sessionOf } from '../auth/sessions.ts';
import { verifyAssertion } from '../auth/identity.ts';
import { createIdTokenVerifier } from '../auth/oidc.ts';
import { ClientRateLimiter, sendRateLimited, type BucketRate } from '../http/client-rate-limit.ts';
import { isoTime } from '../lib/clock.ts';
import type { ChatContext } from '../context.ts';
import type { ConversationRecord, SessionRecord } from '../store/store.ts';
import { hashToken, randomToken } from '../lib/ids.ts';
import { appendSystemEvent, channelName } from '../channels/pivot-link-codes.ts';
import { SESSIONS_PATH, SESSION_NONCE_PATH, SESSION_STEP_UP_PATH, WS_TICKETS_PATH } from '../../protocol/chat-paths.ts';
import { typed } from '../http/validation.ts';

/**
 * Sessions one client address may create: a page load needs one (a reload keeps it), so a burst
 * covers a household or an office behind one address, and the sustained rate stops a script
 * from filling the database with empty sessions.
 */
export const SESSIONS_PER_CLIENT: BucketRate = { burst: 20, perMinute: 20 };
/** WebSocket tickets one client address may take (each reconnect of each tab takes one). */
export const TICKETS_PER_CLIENT: BucketRate = { burst: 60, perMinute: 120 };

/** System event when a bank login claims a customer first known only by a public channel. */
export function channelLinkedText(channel: string): string {
  return `${channel} account linked to the bank customer`;
}

/**
 * Whether a session stepping up for a known bank customer should continue that customer's
 * latest conversation instead of the one it started with: only an anonymous start on the bank's
 * site (acr `none`, a `web` conversation of the session's own customer) in which the customer has
 * not written and no step was asked. A session from a pivot link (acr `channel`, a platform
 * conversation) always stays in the link's conversation; a start with customer messages keeps them.
 */
async function movesToLatest(ctx: ChatContext, session: SessionRecord, latest: ConversationRecord | undefined): Promise<boolean> {
  if (!latest || latest.id === session.conversationId) return false;
  if (session.acr !== 'none') return false;
  // Not written in yet: there is nothing to leave behind.
  if (session.conversationId === null) return true;
  const start = await ctx.store.conversations.get(session.conversationId);
  if (!start || start.channel !== 'web' || start.customerId !== session.customerId) return false;
  return !(await ctx.store.conversations.hasCustomerActivity(start.id));
}

/** `POST /v1/sessions`: anyone on a bank page (the customers' Origin group). */
export function sessionRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock } = ctx;
  const sessionLimiter = new ClientRateLimiter(SESSIONS_PER_CLIENT, clock);

  typed(app).post(
    SESSIONS_PATH,
    {
      // Counted before the body is read, so malformed floods are limited too.
      onRequest: async (request, reply) => {
        const taken = sessionLimiter.take(request.ip);
        if (!taken.ok) return sendRateLimited(reply, taken.retryAfterMs);
      },
      // No body (or JSON null) is an empty request.
      schema: { body: v.nullish(SessionRequestSchema, {}) },
    },
    async (request, reply) => {
      const body = request.body;
      const customer = await store.customers.create({ subject: null, displayName: body.displayName ?? null });
      const { token, session } = await issueSession(store, clock, {
        role: 'customer',
        acr: 'none',
        customerId: customer.id,
        agentId: null,
        conversationId: null,
      });
      const response: SessionResponse = { session: token, conversationId: null, acr: 'none', expiresAt: isoTime(session.expiresAt) };
      return reply.code(201).header('cache-control', 'no-store').send(response);
    },
  );
}

/** Nonce and step-up: a customer's session (signed in by server/app.ts). */
export function customerSessionRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock, config, service } = ctx;
  const verifyIdToken = createIdTokenVerifier(config.idp, clock);

  app.post(SESSION_NONCE_PATH, async (request, reply) => {
    const { session } = sessionOf(request);
    const nonce = randomToken();
    const expiresAt = clock() + ID_TOKEN_NONCE_TTL_S * 1000;
    await store.nonces.create({ nonceHash: hashToken(nonce), sessionId: session.id, expiresAt });
    const response: NonceResponse = { nonce, expiresAt: isoTime(expiresAt) };
    return reply.code(201).header('cache-control', 'no-store').send(response);
  });

  typed(app).post(SESSION_STEP_UP_PATH, { schema: { body: StepUpRequestSchema } }, async (request, reply) => {
    const { token, session } = sessionOf(request);
    const body = request.body;
    if (session.customerId === null) throw new PivotError('FORBIDDEN');
    const identity = await verifyAssertion(body.assertion, {
      verifyIdToken,
      consumeNonce: (nonce) => store.nonces.consume(hashToken(nonce), session.id, clock()),
    });
    // The bank's `sub` decides who the customer is; a session never changes hands.
    const current = await store.customers.get(session.customerId);
    if (current?.subject && current.subject !== identity.subject) throw new PivotError('IDENTITY_MISMATCH');
    let customerId = session.customerId;
    let conversationId = session.conversationId;
    if (!current?.subject) {
      const known = await store.customers.findBySubject(identity.subject);
      if (known) {
        customerId = known.id;
        // A signed-in customer opening the chat afresh continues their latest conversation.
        const latest = await store.conversations.latestForCustomer(known.id);
        if (latest && (await movesToLatest(ctx, session, latest))) conversationId = latest.id;
      } else {
        await store.customers.attachSubject(session.customerId, identity.subject);
      }
      const conversation = session.conversationId === null ? undefined : await store.conversations.get(session.conversationId);
      if (conversation && conversation.channel !== 'web') {
        await appendSystemEvent(ctx, conversation.id, channelLinkedText(channelName(conversation.channel)));
      }
    }
    // Where a passkey enrolment code may go by SMS (server/steps/passkey-notices.ts).
    if (identity.verifiedPhone) await store.customers.setPhone(customerId, identity.verifiedPhone);
    const raised = !acrAtLeast(session.acr, identity.acr);
    const acr = raised ? identity.acr : session.acr;
    if (raised || customerId !== session.customerId || conversationId !== session.conversationId) {
      // With no conversation yet, the session alone carries the acr: its first message creates
      // the conversation at that level.
      await store.sessions.raise(session.id, acr, customerId, conversationId ?? undefined);
      if (conversationId !== null) await service.acrRaised(conversationId, acr, customerId, raised);
    }
    const response: SessionResponse = {
      session: token,
      conversationId,
      acr,
      expiresAt: isoTime(session.expiresAt),
    };
    return reply.header('cache-control', 'no-store').send(response);
  });
}

/** `POST /v1/ws-tickets`: customers and agents alike (its own Origin group, signed in by server/app.ts). */
export function wsTicketRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock } = ctx;
  const ticketLimiter = new ClientRateLimiter(TICKETS_PER_CLIENT, clock);

  app.post(
    WS_TICKETS_PATH,
    {
      onRequest: async (request, reply) => {
        const taken = ticketLimiter.take(request.ip);
        if (!taken.ok) return sendRateLimited(reply, taken.retryAfterMs);
      },
    },
    async (request, reply) => {
      const { session } = sessionOf(request);
      if ((await store.sessions.countOpenTickets(session.id, clock())) >= WS_MAX_OPEN_TICKETS_PER_SESSION) {
        throw new PivotError('WS_TOO_MANY_TICKETS');
      }
      const ticket = randomToken();
      const expiresAt = clock() + WS_TICKET_TTL_S * 1000;
      await store.sessions.createTicket({ ticketHash: hashToken(ticket), sessionId: session.id, expiresAt });
      const response: WsTicketResponse = { ticket, expiresAt: isoTime(expiresAt) };
      return reply.code(201).header('cache-control', 'no-store').send(response);
    },
  );
}
