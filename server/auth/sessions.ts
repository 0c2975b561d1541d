/**
 * Bearer sessions: issuing (256-bit random token, only its hash stored), authenticating
 * `Authorization: Bearer <token>` on REST routes, and signing out: the session is revoked in the
 * store, so a copied token dies with it, and its sockets are closed on every instance.
 *
 * REST routes that need a session are registered through {@link signedIn} (server/app.ts), whose
 * hook authenticates every request before its body is even read; handlers take the session with
 * {@link sessionOf}.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SESSION_TTL_S } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { Acr } from '../../protocol/pivot-token.ts';
import type { Clock } from '../lib/clock.ts';
import { hashToken, randomToken } from '../lib/ids.ts';
import { sessionTopic, type PubSub } from '../lib/pubsub.ts';
import type { ChatStore, SessionRecord, SessionRole } from '../store/store.ts';

/** Longest Authorization header considered, in characters. */
export const AUTHORIZATION_MAX_CHARS = 256;

export interface IssuedSession {
  readonly token: string;
  readonly session: SessionRecord;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session on the routes of a {@link signedIn} scope; nothing elsewhere. */
    authenticated: IssuedSession | null;
  }
}

export async function issueSession(
  store: ChatStore,
  clock: Clock,
  input: { role: SessionRole; acr: Acr; customerId: string | null; agentId: string | null; conversationId: string | null },
): Promise<IssuedSession> {
  const token = randomToken();
  const session = await store.sessions.create({
    ...input,
    tokenHash: hashToken(token),
    expiresAt: clock() + SESSION_TTL_S * 1000,
  });
  return { token, session };
}

/**
 * Signs `session` out at the clock's "now": revoked in the store (its token and unused tickets are
 * refused from then on) and announced on its bus topic, where its open sockets close themselves.
 */
export async function revokeSession(store: ChatStore, bus: PubSub, clock: Clock, session: SessionRecord): Promise<void> {
  await store.sessions.revoke(session.id, clock());
  bus.publish(sessionTopic(session.id), { type: 'revoked', sessionId: session.id });
}

/** Reads the bearer token of `request`; throws UNAUTHENTICATED / SESSION_REVOKED / SESSION_EXPIRED / FORBIDDEN. */
export async function authenticate(
  request: FastifyRequest,
  store: ChatStore,
  clock: Clock,
  role?: SessionRole,
): Promise<{ token: string; session: SessionRecord }> {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > AUTHORIZATION_MAX_CHARS) throw new PivotError('UNAUTHENTICATED');
  const match = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(header);
  if (!match) throw new PivotError('UNAUTHENTICATED');
  const token = match[1]!;
  const session = await store.sessions.findByTokenHash(hashToken(token));
  if (!session) throw new PivotError('UNAUTHENTICATED');
  if (session.revokedAt !== null) throw new PivotError('SESSION_REVOKED');
  if (session.expiresAt <= clock()) throw new PivotError('SESSION_EXPIRED');
  if (role !== undefined && session.role !== role) throw new PivotError('FORBIDDEN');
  return { token, session };
}

/**
 * Registers the routes that need a session of `role` (any role when undefined) in their own scope
 * of `group`, whose hook authenticates each request with {@link authenticate}. It runs before the
 * body is read (preParsing), so a request without a valid session is refused with 401 whatever
 * its body carries, and neither parsed nor validated; the group's Origin check and a route's own
 * onRequest limit (ws tickets) still come first, so refused floods are counted too.
 */
export function signedIn(
  group: FastifyInstance,
  deps: { readonly store: ChatStore; readonly clock: Clock },
  role: SessionRole | undefined,
  register: (scope: FastifyInstance) => void,
): void {
  void group.register(async (scope) => {
    scope.decorateRequest('authenticated', null);
    scope.addHook('preParsing', async (request, _reply, payload) => {
      request.authenticated = await authenticate(request, deps.store, deps.clock, role);
      return payload;
    });
    register(scope);
  });
}

/** The session of a request on a {@link signedIn} route; a route outside one is refused, never let through. */
export function sessionOf(request: FastifyRequest): IssuedSession {
  if (!request.authenticated) throw new PivotError('UNAUTHENTICATED');
  return request.authenticated;
}
