/**
 * `GET /v1/ws?ticket=…`: everything is decided BEFORE the upgrade, in a preValidation hook, so
 * a refused client gets a plain HTTP error and never a WebSocket:
 *
 * 1. Origin must be a configured origin at all (403 ORIGIN_NOT_ALLOWED);
 * 2. the ticket is consumed, once (401 WS_TICKET_INVALID: unknown, used or expired);
 * 3. its session must be live (401 SESSION_EXPIRED);
 * 4. Origin must fit the session's role: bank origins for customers, CHAT_ORIGIN for agents;
 * 5. the session must hold fewer than WS_MAX_SOCKETS_PER_SESSION sockets (429
 *    WS_TOO_MANY_SOCKETS). Upgrades racing past that check are counted again when the socket
 *    opens, and the one over the cap is closed with 4008 (WS_CLOSE.TOO_MANY_SOCKETS).
 *
 * Every socket of one customer (or agent) draws on one frame budget (ws/rate-limit.ts), so more
 * sockets, or more sessions of a signed-in customer, do not buy more throughput.
 *
 * The ws server is created with maxPayload = WS_MAX_FRAME_BYTES (a bigger frame closes the
 * connection with 1009) and without compression. A heartbeat pings every socket and drops the
 * ones that stopped answering.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import type { IncomingMessage } from 'node:http';
import { WS_CLOSE, WS_MAX_FRAME_BYTES, WS_MAX_SOCKETS_PER_SESSION } from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import type { ChatContext } from '../context.ts';
import { hashToken } from '../lib/ids.ts';
import { ANONYMOUS_CUSTOMER_NAME } from '../store/conversations.ts';
import type { SessionRecord } from '../store/store.ts';
import { SocketSession, type ConnectionIdentity } from './socket-session.ts';
import { SharedBudgets, budgetKey } from './rate-limit.ts';
import { WS_PATH } from '../../protocol/chat-paths.ts';

/** Interval between server pings; a socket that missed one is terminated at the next. */
export const WS_HEARTBEAT_INTERVAL_MS = 30_000;

const TICKET_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

export async function installWebSocket(app: FastifyInstance, ctx: ChatContext): Promise<{ stop(): void }> {
  await app.register(fastifyWebsocket, {
    options: { maxPayload: WS_MAX_FRAME_BYTES, perMessageDeflate: false },
  });

  const identities = new WeakMap<IncomingMessage, Omit<ConnectionIdentity, 'bucket'>>();
  const connections = new Set<SocketSession>();
  /** Open sockets per session id, in this process. */
  const openSockets = new Map<string, number>();
  const budgets = new SharedBudgets(ctx.clock);
  const anyOrigin = new Set([...ctx.config.allowedOrigins, ctx.config.chatOrigin]);

  const preValidation = async (request: FastifyRequest) => {
    if (!request.ws) throw new PivotError('BAD_REQUEST', 'This endpoint only accepts WebSocket upgrades.');
    const origin = request.headers.origin;
    if (origin === undefined || !anyOrigin.has(origin)) throw new PivotError('ORIGIN_NOT_ALLOWED');
    const ticket = (request.query as Record<string, unknown> | undefined)?.['ticket'];
    if (typeof ticket !== 'string' || !TICKET_PATTERN.test(ticket)) throw new PivotError('WS_TICKET_INVALID');
    const now = ctx.clock();
    const sessionId = await ctx.store.sessions.consumeTicket(hashToken(ticket), now);
    if (sessionId === undefined) throw new PivotError('WS_TICKET_INVALID');
    const session = await ctx.store.sessions.get(sessionId);
    if (!session) throw new PivotError('WS_TICKET_INVALID');
    if (session.expiresAt <= now) throw new PivotError('SESSION_EXPIRED');
    const allowed = session.role === 'agent' ? origin === ctx.config.chatOrigin : ctx.config.allowedOrigins.includes(origin);
    if (!allowed) throw new PivotError('ORIGIN_NOT_ALLOWED');
    if ((openSockets.get(session.id) ?? 0) >= WS_MAX_SOCKETS_PER_SESSION) throw new PivotError('WS_TOO_MANY_SOCKETS');
    identities.set(request.raw, { session, name: await authorName(ctx, session) });
  };

  app.get(WS_PATH, { websocket: true, preValidation }, (socket, request) => {
    const identity = identities.get(request.raw);
    if (!identity) {
      socket.close(1008, 'unauthenticated');
      return;
    }
    identities.delete(request.raw);
    const sessionId = identity.session.id;
    // Counted here, synchronously, so upgrades that raced past preValidation cannot exceed the cap.
    const open = openSockets.get(sessionId) ?? 0;
    if (open >= WS_MAX_SOCKETS_PER_SESSION) {
      socket.close(WS_CLOSE.TOO_MANY_SOCKETS, 'too many sockets');
      return;
    }
    openSockets.set(sessionId, open + 1);
    const key = budgetKey(identity.session);
    const connection = new SocketSession(socket, ctx, { ...identity, bucket: budgets.acquire(key) }, request.log);
    connections.add(connection);
    socket.on('close', () => {
      connections.delete(connection);
      budgets.release(key);
      const left = (openSockets.get(sessionId) ?? 1) - 1;
      if (left > 0) openSockets.set(sessionId, left);
      else openSockets.delete(sessionId);
    });
    connection.start();
  });

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, WS_HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  return {
    stop() {
      clearInterval(heartbeat);
    },
  };
}

async function authorName(ctx: ChatContext, session: SessionRecord): Promise<string> {
  if (session.role === 'agent') {
    const agent = session.agentId ? await ctx.store.agents.get(session.agentId) : undefined;
    return agent?.name ?? 'Agent';
  }
  const customer = session.customerId ? await ctx.store.customers.get(session.customerId) : undefined;
  return customer?.displayName ?? customer?.subject ?? ANONYMOUS_CUSTOMER_NAME;
}
