import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  AgentLoginResponseSchema,
  ConversationListSchema,
  EventPageSchema,
  MESSAGE_MAX_CHARS,
  SESSION_TTL_S,
  SessionResponseSchema,
  WsTicketResponseSchema,
} from '../../protocol/chat.ts';
import { ERROR_CATALOG } from '../../protocol/errors.ts';
import { CHAT_MAX_BODY_BYTES } from '../../server/app.ts';
import {
  BANK,
  CHAT,
  EVIL,
  agentSession,
  call,
  customerSession,
  msgId,
  newSession,
  openSocket,
  removeDir,
  startChat,
  tempDir,
  wsTicket,
  chatPerTest,
  type Running,
} from './helpers.ts';

describe('chat server HTTP API', () => {
  let dir: string;
  let run: Running;
  let offsetMs = 0;

  chatPerTest(
    (d) => {
      offsetMs = 0;
      return startChat(d, {}, { clock: () => Date.now() + offsetMs });
    },
    (r, d) => {
      run = r;
      dir = d;
    },
    () => run,
  );

  describe('CORS', () => {
    const preflight = (url: string, origin: string) =>
      call(run, 'OPTIONS', url, {
        origin,
        headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });

    it('allows a preflight from a configured bank origin, echoing only that origin', async () => {
      const res = await preflight('/v1/sessions', BANK);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(BANK);
      expect(res.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['vary']).toContain('Origin');
    });

    it('refuses a preflight from any other origin with 403 and no allow header', async () => {
      const res = await preflight('/v1/sessions', EVIL);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'ORIGIN_NOT_ALLOWED' } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('allows agent routes from the console origin only', async () => {
      expect((await preflight('/v1/agent/sessions', CHAT)).headers['access-control-allow-origin']).toBe(CHAT);
      expect((await preflight('/v1/agent/sessions', BANK)).status).toBe(403);
      expect((await preflight('/v1/ws-tickets', CHAT)).status).toBe(204);
      expect((await preflight('/v1/ws-tickets', BANK)).status).toBe(204);
      expect((await preflight('/v1/sessions', CHAT)).status).toBe(403);
    });

    it('refuses a request with a disallowed Origin before doing anything', async () => {
      const res = await call(run, 'POST', '/v1/sessions', { origin: EVIL, body: {} });
      expect(res).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
      const listed = await call(run, 'GET', '/v1/agent/conversations', { origin: 'null', token: await agentSession(run) });
      expect(listed.status).toBe(403);
    });

    it('puts the request origin, never *, on allowed responses', async () => {
      const res = await call(run, 'POST', '/v1/sessions', { body: {} });
      expect(res.status).toBe(201);
      expect(res.headers['access-control-allow-origin']).toBe(BANK);
    });
  });

  describe('sessions', () => {
    it('answers in the shapes protocol/chat.ts declares', async () => {
      const session = await call(run, 'POST', '/v1/sessions', { body: { displayName: 'Ada' } });
      expect(v.is(SessionResponseSchema, session.body)).toBe(true);
      const ticket = await call(run, 'POST', '/v1/ws-tickets', { token: session.body['session'] as string });
      expect(v.is(WsTicketResponseSchema, ticket.body)).toBe(true);
      const login = await call(run, 'POST', '/v1/agent/sessions', { origin: CHAT, body: { name: 'agent', password: 'correct horse' } });
      expect(v.is(AgentLoginResponseSchema, login.body)).toBe(true);
      const agent = login.body['session'] as string;
      const { conversationId } = await customerSession(run);
      await call(run, 'POST', `/v1/agent/conversations/${conversationId}/messages`, {
        origin: CHAT,
        token: agent,
        body: { clientMsgId: msgId(1), text: 'hello' },
      });
      const list = await call(run, 'GET', '/v1/agent/conversations', { origin: CHAT, token: agent });
      expect(v.is(ConversationListSchema, list.body)).toBe(true);
      const page = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events?after=0`, { origin: CHAT, token: agent });
      expect(v.is(EventPageSchema, page.body)).toBe(true);
    });

    it('creates an anonymous session with acr none and no conversation: none exists until the customer writes', async () => {
      const a = await newSession(run);
      const b = await newSession(run);
      expect(a).toMatchObject({ acr: 'none', conversationId: null });
      expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(a.token).not.toBe(b.token);
      const { sqlite } = (run.server.context.store as unknown as { db: { sqlite: import('better-sqlite3').Database } }).db;
      expect(sqlite.prepare('select count(*) as n from conversations').get()).toEqual({ n: 0 });
    });

    it('stores only a hash of the session token', async () => {
      const { token } = await customerSession(run);
      const { sqlite } = (run.server.context.store as unknown as { db: { sqlite: import('better-sqlite3').Database } }).db;
      const rows = sqlite.prepare('select token_hash from sessions').all() as Array<{ token_hash: string }>;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.some((r) => r.token_hash === token)).toBe(false);
    });

    it('continues the latest conversation of a customer signed in to the bank in a new session', async () => {
      const first = await customerSession(run, 'erin');
      const second = await customerSession(run, 'erin');
      expect(first.acr).toBe('bank');
      expect(second.conversationId).toBe(first.conversationId);
    });

    it('answers UNAUTHENTICATED without or with an unknown token, SESSION_EXPIRED after SESSION_TTL_S', async () => {
      expect((await call(run, 'POST', '/v1/ws-tickets')).body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect((await call(run, 'POST', '/v1/ws-tickets', { token: 'x'.repeat(43) })).status).toBe(401);
      const { token } = await customerSession(run);
      offsetMs = (SESSION_TTL_S + 1) * 1000;
      expect(await call(run, 'POST', '/v1/ws-tickets', { token })).toMatchObject({ status: 401, body: { error: { code: 'SESSION_EXPIRED' } } });
    });

    it('issues single-use WS tickets to customers and agents', async () => {
      const { token } = await customerSession(run);
      const res = await call(run, 'POST', '/v1/ws-tickets', { token });
      expect(res.status).toBe(201);
      expect(res.body['ticket']).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(typeof res.body['expiresAt']).toBe('string');
    });
  });

  describe('validation and errors', () => {
    it('answers a body that does not match the schema with 400 BAD_REQUEST and no stack', async () => {
      const res = await call(run, 'POST', '/v1/sessions', { body: { displayName: 'x', admin: true } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts/);
    });

    it('answers malformed JSON with 400, a non-JSON type with 415, an oversize body with 413', async () => {
      const bad = await run.server.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'application/json' }, payload: '{"x":' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
      const text = await run.server.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'text/plain' }, payload: 'hi' });
      expect(text.statusCode).toBe(415);
      expect(text.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
      const big = await call(run, 'POST', '/v1/sessions', { body: { displayName: 'x'.repeat(CHAT_MAX_BODY_BYTES) } });
      expect(big).toMatchObject({ status: 413, body: { error: { code: 'BODY_TOO_LARGE' } } });
    });

    it('answers an unknown route with 404 NOT_FOUND', async () => {
      expect(await call(run, 'GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    });

    it('uses the catalog status for every error it sends', async () => {
      const res = await call(run, 'POST', '/v1/agent/sessions', { origin: CHAT, body: { name: 'agent', password: 'nope' } });
      const code = (res.body['error'] as { code: keyof typeof ERROR_CATALOG }).code;
      expect(res.status).toBe(ERROR_CATALOG[code].status);
    });
  });

  describe('agents', () => {
    it('refuses a wrong password or an unknown agent with BAD_CREDENTIALS', async () => {
      for (const body of [{ name: 'agent', password: 'wrong' }, { name: 'nobody', password: 'correct horse' }]) {
        expect(await call(run, 'POST', '/v1/agent/sessions', { origin: CHAT, body })).toMatchObject({
          status: 401,
          body: { error: { code: 'BAD_CREDENTIALS' } },
        });
      }
    });

    it('seeds `agent` once: a changed AGENT_PASSWORD does not replace it', async () => {
      await run.close();
      run = await startChat(dir, { AGENT_PASSWORD: 'something else' });
      expect((await call(run, 'POST', '/v1/agent/sessions', { origin: CHAT, body: { name: 'agent', password: 'correct horse' } })).status).toBe(201);
    });

    it('refuses customer sessions on agent routes', async () => {
      const { token } = await customerSession(run);
      expect(await call(run, 'GET', '/v1/agent/conversations', { origin: null, token })).toMatchObject({
        status: 403,
        body: { error: { code: 'FORBIDDEN' } },
      });
    });

    it('lists conversations newest first and pages events', async () => {
      const agent = await agentSession(run);
      const older = await customerSession(run);
      const newer = await customerSession(run);
      // Agents see a conversation once its customer wrote in it.
      for (const [i, { conversationId }] of [older, newer].entries()) {
        await run.server.context.service.postMessage({ conversationId, author: { role: 'customer', name: 'Ada' }, clientMsgId: msgId(`c${i}`), text: 'hello' });
        offsetMs += 1000;
      }
      const list = await call(run, 'GET', '/v1/agent/conversations', { origin: CHAT, token: agent });
      const ids = (list.body['conversations'] as Array<{ id: string }>).map((c) => c.id);
      expect(ids.indexOf(newer.conversationId)).toBeLessThan(ids.indexOf(older.conversationId));

      for (let i = 1; i <= 3; i++) {
        const res = await call(run, 'POST', `/v1/agent/conversations/${older.conversationId}/messages`, {
          origin: CHAT,
          token: agent,
          body: { clientMsgId: msgId(i), text: `agent ${i}` },
        });
        expect(res.body).toEqual({ type: 'ack', clientMsgId: msgId(i), seq: i + 1 });
      }
      const page = await call(run, 'GET', `/v1/agent/conversations/${older.conversationId}/events?after=2`, { origin: CHAT, token: agent });
      expect(page.body['lastSeq']).toBe(4);
      const tail = await call(run, 'GET', `/v1/agent/conversations/${older.conversationId}/events?after=4`, { origin: CHAT, token: agent });
      expect(tail.body).toEqual({ events: [], lastSeq: 4 });
      expect((page.body['events'] as Array<{ seq: number; author: { role: string; name: string } }>).map((e) => [e.seq, e.author.name])).toEqual([
        [3, 'agent'],
        [4, 'agent'],
      ]);
      const relisted = await call(run, 'GET', '/v1/agent/conversations', { origin: CHAT, token: agent });
      expect((relisted.body['conversations'] as Array<{ id: string }>)[0]!.id).toBe(older.conversationId);
    });

    it('stores an agent message once per clientMsgId, masks card numbers and caps length', async () => {
      const agent = await agentSession(run);
      const { conversationId } = await customerSession(run);
      const url = `/v1/agent/conversations/${conversationId}/messages`;
      const send = (clientMsgId: string, text: string) => call(run, 'POST', url, { origin: CHAT, token: agent, body: { clientMsgId, text } });
      expect((await send(msgId(1), 'Is it 5555555555554444?')).body['seq']).toBe(1);
      expect((await send(msgId(1), 'Is it 5555555555554444?')).body['seq']).toBe(1);
      expect(await send(msgId(2), 'z'.repeat(MESSAGE_MAX_CHARS + 1))).toMatchObject({ status: 400, body: { error: { code: 'MESSAGE_TOO_LONG' } } });
      const page = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events`, { origin: CHAT, token: agent });
      expect(page.body['events']).toEqual([expect.objectContaining({ seq: 1, text: 'Is it ••••••••••••4444?' })]);
    });

    it('answers CONVERSATION_NOT_FOUND for an unknown conversation', async () => {
      const agent = await agentSession(run);
      const res = await call(run, 'GET', '/v1/agent/conversations/cnv_AAAAAAAAAAAAAAAA/events', { origin: CHAT, token: agent });
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'CONVERSATION_NOT_FOUND' } } });
    });
  });

  describe('logs', () => {
    it('never contain the WS ticket, the session token or a message body', async () => {
      await run.close();
      const lines: string[] = [];
      run = await startChat(dir, { LOG_LEVEL: 'trace' }, { logStream: { write: (line) => void lines.push(line) } });
      const { token } = await customerSession(run);
      const ticket = await wsTicket(run, token);
      const socket = await openSocket(run, ticket);
      socket.send({ type: 'send', clientMsgId: msgId(1), text: 'secret words 4111111111111111' });
      await socket.waitFor('ack');
      socket.close();
      await openSocket(run, ticket).catch(() => undefined);
      const log = lines.join('');
      expect(log).toContain('/v1/ws');
      expect(log).not.toContain(ticket);
      expect(log).not.toContain(token);
      expect(log).not.toContain('secret words');
      expect(log).not.toContain('4111111111111111');
    });
  });
});

describe('static files', () => {
  let dir: string;
  let run: Running;

  beforeEach(async () => {
    dir = tempDir();
    const dist = join(dir, 'dist');
    mkdirSync(join(dist, 'widget'), { recursive: true });
    mkdirSync(join(dist, 'console'), { recursive: true });
    writeFileSync(join(dist, 'widget', 'loader.js'), 'console.log("loader")');
    writeFileSync(join(dist, 'console', 'console.js'), 'console.log("console")');
    writeFileSync(join(dir, 'secret.js'), 'nope');
    run = await startChat(join(dir, 'data'), {}, {}, { distDir: dist });
  });
  afterEach(async () => {
    await run.close();
    removeDir(dir);
  });

  it('serves the widget scripts as JavaScript, cross-origin readable, briefly cached', async () => {
    const res = await run.server.app.inject({ method: 'GET', url: '/widget/loader.js', headers: { origin: BANK } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
    expect(res.headers['access-control-allow-origin']).toBe(BANK);
    expect(res.body).toBe('console.log("loader")');
    const foreign = await run.server.app.inject({ method: 'GET', url: '/widget/loader.js', headers: { origin: EVIL } });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers a missing build with 404 and a clear message', async () => {
    const res = await run.server.app.inject({ method: 'GET', url: '/widget/secure-chat.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toContain('npm run build');
  });

  it('refuses path traversal', async () => {
    for (const url of ['/widget/../secret.js', '/widget/%2e%2e/secret.js', '/widget/..%2fsecret.js', '/widget/.hidden.js', '/console/../../secret.js', '/widget/loader.js%00.js']) {
      const res = await run.server.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('nope');
    }
  });

  it('serves the console page under a strict CSP, and its script', async () => {
    const page = await run.server.app.inject({ method: 'GET', url: '/console' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ws://chat.localhost:8081`);
    expect(csp).not.toContain('unsafe');
    expect(page.body).toContain('<script type="module" src="/console/console.js"></script>');
    const script = await run.server.app.inject({ method: 'GET', url: '/console/console.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
  });
});
