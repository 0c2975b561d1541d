/**
 * Agent console API (Origin: CHAT_ORIGIN only, see http/cors.ts).
 *
 *   POST|DELETE /v1/agent/sessions[/current]      sign-in and sign-out: routes/agent-sessions.ts
 *   GET  /v1/agent/conversations?cursor=         * one page (CONVERSATION_PAGE_SIZE) of the summaries
 *                                                    of conversations with a customer message, newest
 *                                                    activity first, and the next page's cursor
 *   GET  /v1/agent/conversations/:id/events?after=N  * one page (REPLAY_PAGE_SIZE) of events after N,
 *                                                    with lastSeq = the conversation's highest seq
 *   POST /v1/agent/conversations/:id/messages    * idempotent by clientMsgId
 *   POST /v1/agent/conversations/:id/steps       * asks the customer for a card payment
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import * as v from 'valibot';
import {
  AgentMessageRequestSchema,
  ConversationIdSchema,
  MESSAGE_MAX_CHARS,
  REPLAY_PAGE_SIZE,
  StepRequestSchema,
  type ConversationList,
} from '../../protocol/chat.ts';
import { PivotError } from '../../protocol/errors.ts';
import { authenticate } from '../auth/sessions.ts';
import type { ChatContext } from '../context.ts';
import { parseOr400 } from '../http/errors.ts';
import { AGENT_CONVERSATIONS_PATH, AGENT_EVENTS_ROUTE, AGENT_MESSAGES_ROUTE, AGENT_STEPS_ROUTE } from '../../protocol/chat-paths.ts';

const EventsQuerySchema = v.object({
  after: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,15}$/), v.transform(Number)),
    '0',
  ),
});

export function agentRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, clock, service } = ctx;

  const conversationOf = async (params: unknown): Promise<string> => {
    const id = (params as { id?: unknown }).id;
    if (!v.is(ConversationIdSchema, id) || !(await store.conversations.get(id))) throw new PivotError('CONVERSATION_NOT_FOUND');
    return id;
  };

  app.get(AGENT_CONVERSATIONS_PATH, async (request, reply) => {
    await authenticate(request, store, clock, 'agent');
    const cursor = (request.query as Record<string, unknown> | undefined)?.['cursor'];
    if (cursor !== undefined && typeof cursor !== 'string') throw new PivotError('CURSOR_INVALID');
    const page: ConversationList = await store.conversations.listPage(cursor);
    return reply.header('cache-control', 'no-store').send(page);
  });

  app.get(AGENT_EVENTS_ROUTE, async (request, reply) => {
    await authenticate(request, store, clock, 'agent');
    const conversationId = await conversationOf(request.params);
    const { after } = parseOr400(EventsQuerySchema, request.query ?? {});
    const events = await store.events.list(conversationId, after, REPLAY_PAGE_SIZE);
    // The conversation's highest seq: a client pages on while its last event is below it.
    const conversation = await store.conversations.get(conversationId);
    const lastSeq = Math.max(conversation?.lastSeq ?? 0, events.at(-1)?.seq ?? 0);
    return reply.header('cache-control', 'no-store').send({ events, lastSeq });
  });

  app.post(AGENT_MESSAGES_ROUTE, async (request, reply) => {
    const { session } = await authenticate(request, store, clock, 'agent');
    const conversationId = await conversationOf(request.params);
    const raw = request.body as { text?: unknown } | undefined;
    if (typeof raw?.text === 'string' && raw.text.length > MESSAGE_MAX_CHARS) throw new PivotError('MESSAGE_TOO_LONG');
    const body = parseOr400(AgentMessageRequestSchema, request.body);
    const agent = session.agentId ? await store.agents.get(session.agentId) : undefined;
    const { seq } = await service.postMessage({
      conversationId,
      author: { role: 'agent', name: agent?.name ?? 'Agent' },
      clientMsgId: body.clientMsgId,
      text: body.text,
    });
    return reply.header('cache-control', 'no-store').send({ type: 'ack', clientMsgId: body.clientMsgId, seq });
  });

  app.post(AGENT_STEPS_ROUTE, async (request, reply) => {
    const { session } = await authenticate(request, store, clock, 'agent');
    const conversationId = await conversationOf(request.params);
    const body = parseOr400(StepRequestSchema, request.body);
    const agent = session.agentId ? await store.agents.get(session.agentId) : undefined;
    const created = await service.createStep(conversationId, agent?.name ?? 'Agent', body);
    return reply.code(201).header('cache-control', 'no-store').send(created);
  });
}
