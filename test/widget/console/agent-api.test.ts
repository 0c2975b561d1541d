import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listConversations, sendSecureLink, signOut } from '../../../widget/console/agent-api.ts';
import { RequestError } from '../../../widget/shared/rest.ts';

/** A local HTTP server answering the pivot-links route with whatever the test sets. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}
let server: Server;
let base: string;
let seen: Seen[] = [];
let answer: { status: number; body: unknown } = { status: 201, body: {} };

const read = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => resolve(body));
  });

beforeAll(async () => {
  server = createServer(async (request, response) => {
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body: await read(request),
    });
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

const CONVERSATION = 'cnv_abcdefgh12345678';

describe('sendSecureLink', () => {
  it('posts to the conversation pivot-links route with the agent bearer and no body', async () => {
    answer = { status: 201, body: { channel: 'whatsapp', expiresAt: '2025-03-04T13:05:00.000Z', seq: 12 } };
    const created = await sendSecureLink(base, 'agent-session-token', CONVERSATION);
    expect(created).toEqual({ channel: 'whatsapp', expiresAt: '2025-03-04T13:05:00.000Z', seq: 12 });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: `/v1/agent/conversations/${CONVERSATION}/pivot-links`,
        authorization: 'Bearer agent-session-token',
        contentType: undefined,
        body: '',
      },
    ]);
  });

  it('escapes the conversation id into the path', async () => {
    answer = { status: 404, body: { error: { code: 'CONVERSATION_NOT_FOUND', message: 'No such conversation.' } } };
    await expect(sendSecureLink(base, 't', '../sessions')).rejects.toThrow(RequestError);
    expect(seen[0]!.url).toBe('/v1/agent/conversations/..%2Fsessions/pivot-links');
  });

  it.each([
    [409, 'CHANNEL_WINDOW_CLOSED'],
    [502, 'CHANNEL_SEND_FAILED'],
    [409, 'CHANNEL_NOT_AVAILABLE'],
  ])('surfaces a %d %s with its catalog code', async (status, code) => {
    answer = { status, body: { error: { code, message: 'from the server' } } };
    const error = await sendSecureLink(base, 't', CONVERSATION).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({ code, status, message: 'from the server' });
  });

  it('refuses an answer that carries more than the contract, such as the link itself', async () => {
    answer = { status: 201, body: { channel: 'sms', expiresAt: '2025-03-04T13:05:00.000Z', seq: 3, url: 'https://bank.example/#pivot=x' } };
    await expect(sendSecureLink(base, 't', CONVERSATION)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });

  it('refuses an answer naming an unknown channel', async () => {
    answer = { status: 201, body: { channel: 'telegram', expiresAt: '2025-03-04T13:05:00.000Z', seq: 3 } };
    await expect(sendSecureLink(base, 't', CONVERSATION)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });
});

describe('signOut', () => {
  it('sends DELETE /v1/agent/sessions/current with the bearer and no body; true on 204', async () => {
    answer = { status: 204, body: '' };
    expect(await signOut(base, 'agent-session-token')).toBe(true);
    expect(seen).toEqual([
      { method: 'DELETE', url: '/v1/agent/sessions/current', authorization: 'Bearer agent-session-token', contentType: undefined, body: '' },
    ]);
  });

  it('counts a token the server no longer accepts (401) as signed out', async () => {
    answer = { status: 401, body: { error: { code: 'SESSION_REVOKED', message: 'This session was signed out; sign in again.' } } };
    expect(await signOut(base, 't')).toBe(true);
  });

  it('reports false when the server did not revoke it (error answer or no answer)', async () => {
    answer = { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: 'x' } } };
    expect(await signOut(base, 't')).toBe(false);
    expect(await signOut('http://127.0.0.1:9', 't')).toBe(false);
  });
});

describe('listConversations', () => {
  const summary = { id: CONVERSATION, customerName: 'Ada', acr: 'none', channel: 'web', lastSeq: 1, lastText: 'hello', updatedAt: '2025-03-04T13:00:00.000Z' };

  it('asks for the first page, then the page after the cursor it was given (escaped), with the agent bearer', async () => {
    answer = { status: 200, body: { conversations: [summary], nextCursor: 'WzE3NDEwOTMyMDAwMDAsImNudl94Il0' } };
    const first = await listConversations(base, 'agent-token');
    expect(first).toEqual({ conversations: [summary], nextCursor: 'WzE3NDEwOTMyMDAwMDAsImNudl94Il0' });
    answer = { status: 200, body: { conversations: [], nextCursor: null } };
    await listConversations(base, 'agent-token', 'a+b/c');
    expect(seen.map((s) => [s.method, s.url, s.authorization])).toEqual([
      ['GET', '/v1/agent/conversations', 'Bearer agent-token'],
      ['GET', '/v1/agent/conversations?cursor=a%2Bb%2Fc', 'Bearer agent-token'],
    ]);
  });

  it('surfaces CURSOR_INVALID with its code, and refuses a page without nextCursor', async () => {
    answer = { status: 400, body: { error: { code: 'CURSOR_INVALID', message: 'bad cursor' } } };
    await expect(listConversations(base, 't', 'x')).rejects.toMatchObject({ code: 'CURSOR_INVALID', status: 400 });
    answer = { status: 200, body: { conversations: [summary] } };
    await expect(listConversations(base, 't')).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
  });
});
