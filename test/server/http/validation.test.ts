/**
 * Routes declare their protocol schemas (server/http/validation.ts) and the routes that need a
 * session are signed in by their group (auth/sessions.ts `signedIn`): the session is checked
 * before the body is read, then the route's own checks, then the schema, then the handler.
 */
import { describe, expect } from 'vitest';
import * as v from 'valibot';
import { AGENT_SESSIONS_PATH, PIVOT_LINK_REDEEM_PATH, SESSION_STEP_UP_PATH, SESSIONS_PATH, WS_TICKETS_PATH, agentConversationPath } from '../../../protocol/chat-paths.ts';
import { valibotValidatorCompiler } from '../../../server/http/validation.ts';
import { TICKETS_PER_CLIENT } from '../../../server/routes/sessions.ts';
import { BANK, CHAT, agentSession, call, chatTest as it, customerSession } from '../helpers.ts';

const UNKNOWN_CONVERSATION = 'cnv_0123456789abcdef';

describe('signed-in route groups', () => {
  it('answer 401 before 400 on a customer route: a bad body or bad JSON without a session is UNAUTHENTICATED', async ({ run }) => {
    const bad = { assertion: 42, extra: true };
    expect(await call(run, 'POST', SESSION_STEP_UP_PATH, { body: bad })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    expect(await call(run, 'POST', SESSION_STEP_UP_PATH, { body: bad, token: 'x'.repeat(43) })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const json = await run.server.app.inject({ method: 'POST', url: SESSION_STEP_UP_PATH, headers: { 'content-type': 'application/json', origin: BANK }, payload: '{"x":' });
    expect(json.statusCode).toBe(401);
    expect(json.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    const { token } = await customerSession(run);
    expect(await call(run, 'POST', SESSION_STEP_UP_PATH, { body: bad, token })).toEqual(
      expect.objectContaining({ status: 400, body: { error: { code: 'BAD_REQUEST', message: 'Invalid field: assertion.' } } }),
    );
  });

  it('answer 401 before 400, and 403 for a customer, on an agent route; an agent with a bad body gets 400', async ({ run }) => {
    const url = agentConversationPath(UNKNOWN_CONVERSATION, 'messages');
    const bad = { clientMsgId: 1 };
    expect(await call(run, 'POST', url, { origin: CHAT, body: bad })).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const customer = await customerSession(run);
    expect(await call(run, 'POST', url, { origin: CHAT, body: bad, token: customer.token })).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });

    const agent = await agentSession(run);
    const known = agentConversationPath(customer.conversationId, 'messages');
    expect(await call(run, 'POST', known, { origin: CHAT, body: bad, token: agent })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    // As before: the conversation is looked at before the body.
    expect(await call(run, 'POST', url, { origin: CHAT, body: bad, token: agent })).toMatchObject({ status: 404, body: { error: { code: 'CONVERSATION_NOT_FOUND' } } });
    const events = agentConversationPath(UNKNOWN_CONVERSATION, 'events');
    expect(await call(run, 'GET', `${events}?after=x`, { origin: CHAT, token: agent })).toMatchObject({ status: 404 });
  });

  it("hand the handler the schema's output: the events query's default and its number", async ({ run }) => {
    const { conversationId } = await customerSession(run);
    const agent = await agentSession(run);
    const events = agentConversationPath(conversationId, 'events');
    expect(await call(run, 'GET', events, { origin: CHAT, token: agent })).toMatchObject({ status: 200, body: { events: [] } });
    expect(await call(run, 'GET', `${events}?after=3`, { origin: CHAT, token: agent })).toMatchObject({ status: 200, body: { events: [] } });
    expect(await call(run, 'GET', `${events}?after=x`, { origin: CHAT, token: agent })).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: 'Invalid field: after.' } },
    });
  });

  it('leave the public routes public: session creation (even without a body), agent sign-in, link redeem', async ({ run }) => {
    expect((await call(run, 'POST', SESSIONS_PATH)).status).toBe(201);
    expect((await call(run, 'POST', SESSIONS_PATH, { body: null })).status).toBe(201);
    expect(await call(run, 'POST', SESSIONS_PATH, { body: { admin: true } })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await call(run, 'POST', AGENT_SESSIONS_PATH, { origin: CHAT, body: { name: 'agent' } })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await call(run, 'POST', PIVOT_LINK_REDEEM_PATH, { body: { code: 42 } })).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    // The bank page's Origin is required before the body is looked at, as before.
    expect(await call(run, 'POST', PIVOT_LINK_REDEEM_PATH, { origin: null, body: { code: 42 } })).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
  });

  it('count requests without a session toward the ws-ticket limit of their address', async ({ run }) => {
    const address = '10.254.0.1';
    for (let i = 0; i < TICKETS_PER_CLIENT.burst; i++) expect((await call(run, 'POST', WS_TICKETS_PATH, { address })).status).toBe(401);
    expect(await call(run, 'POST', WS_TICKETS_PATH, { address })).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
  });
});

describe('the validator compiler', () => {
  const compile = (schema: unknown) => valibotValidatorCompiler({ schema, method: 'POST', url: '/x', httpPart: 'body' });

  it('refuses anything but a synchronous valibot schema, so a route cannot start unchecked', () => {
    expect(() => compile({ type: 'object' })).toThrow(/not a synchronous valibot schema/);
    expect(() => compile(v.objectAsync({}))).toThrow(/not a synchronous valibot schema/);
  });

  it('answers the parsed output, or BAD_REQUEST naming the path and never the value', () => {
    const validate = compile(v.object({ card: v.object({ pan: v.pipe(v.string(), v.length(16)) }) }));
    expect(validate({ card: { pan: '4111111111111111' }, more: 1 })).toEqual({ value: { card: { pan: '4111111111111111' } } });
    const refused = validate({ card: { pan: '4111' } }) as { error: Error & { code: string } };
    expect(refused.error).toMatchObject({ code: 'BAD_REQUEST', message: 'Invalid field: card.pan.' });
    expect(refused.error.message).not.toContain('4111');
  });
});
