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
import type { FastifyInstance, FastifyRequest } from 'fastify';
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
import { sessionOf } from '../auth/sessions.ts';
import type { ChatContext } from '../context.ts';
import { typed } from '../http/validation.ts';
import { AGENT_CONVERSATIONS_PATH, AGENT_EVENTS_ROUTE, AGENT_MESSAGES_ROUTE, AGENT_STEPS_ROUTE } from '../../protocol/chat-paths.ts';

const EventsQuerySchema = v.object({
  after: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9]{1,15}$/), v.transform(Number)),
    '0',
  ),
});

/** `:id` of a conversation route; {@link knownConversation} has checked it by the time the handler runs. */
const ConversationParamsSchema = v.object({ id: v.string() });

/** The routes of an agent's session (signed in by server/app.ts). */
export function agentRoutes(app: FastifyInstance, ctx: ChatContext): void {
  const { store, service } = ctx;
  const api = typed(app);

  // preValidation: an unknown conversation is 404 whatever the body or query carries.
  const knownConversation = async (request: FastifyRequest): Promise<void> => {
    const id = (request.params as { id?: unknown }).id;
    if (!v.is(ConversationIdSchema, id) || !(await store.conversations.get(id))) throw new PivotError('CONVERSATION_NOT_FOUND');
  };
  // preValidation too: an overlong text is MESSAGE_TOO_LONG, not the schema's BAD_REQUEST.
  const messageNotTooLong = async (request: FastifyRequest): Promise<void> => {
    const raw = request.body as { text?: unknown } | null | undefined;
    if (typeof raw?.text === 'string' && raw.text.length > MESSAGE_MAX_CHARS) throw new PivotError('MESSAGE_TOO_LONG');
  };

  api.get(AGENT_CONVERSATIONS_PATH, async (request, reply) => {
    const cursor = (request.query as Record<string, unknown> | undefined)?.['cursor'];
    if (cursor !== undefined && typeof cursor !== 'string') throw new PivotError('CURSOR_INVALID');
    const page: ConversationList = await store.conversations.listPage(cursor);
    return reply.header('cache-control', 'no-store').send(page);
  });

  api.get(
    AGENT_EVENTS_ROUTE,
    { preValidation: knownConversation, schema: { params: ConversationParamsSchema, querystring: EventsQuerySchema } },
    async (request, reply) => {
      const conversationId = request.params.id;
      const events = await store.events.list(conversationId, request.query.after, REPLAY_PAGE_SIZE);
      // The conversation's highest seq: a client pages on while its last event is below it.
      const conversation = await store.conversations.get(conversationId);
      const lastSeq = Math.max(conversation?.lastSeq ?? 0, events.at(-1)?.seq ?? 0);
      return reply.header('cache-control', 'no-store').send({ events, lastSeq });
    },
  );

  api.post(
    AGENT_MESSAGES_ROUTE,
    { preValidation: [knownConversation, messageNotTooLong], schema: { params: ConversationParamsSchema, body: AgentMessageRequestSchema } },
    async (request, reply) => {
      const { session } = sessionOf(request);
      const { clientMsgId, text } = request.body;
      const agent = session.agentId ? await store.agents.get(session.agentId) : undefined;
      const { seq } = await service.postMessage({
        conversationId: request.params.id,
        author: { role: 'agent', name: agent?.name ?? 'Agent' },
        clientMsgId,
        text,
      });
      return reply.header('cache-control', 'no-store').send({ type: 'ack', clientMsgId, seq });
    },
  );

  api.post(
    AGENT_STEPS_ROUTE,
    { preValidation: knownConversation, schema: { params: ConversationParamsSchema, body: StepRequestSchema } },
    async (request, reply) => {
      const { session } = sessionOf(request);
      const agent = session.agentId ? await store.agents.get(session.agentId) : undefined;
      const created = await service.createStep(request.params.id, agent?.name ?? 'Agent', request.body);
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );
}
