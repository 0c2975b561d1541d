/**
 * Attacks on the REAL chat server by volume and by borrowed identity: anonymous session floods
 * that would bury a real customer in the agents' list, a bank page claiming to be any customer
 * by name, and one session multiplying its WebSocket tickets, sockets and messages. Each asserts
 * the HTTP status + stable `error.code`, or the frames' codes, and that nothing was stored.
 * Time is the server's injected clock: it stands still unless a test moves it.
 */
import { describe, expect, it } from 'vitest';
import {
  WS_MAX_MESSAGES_PER_SECOND,
  WS_MAX_OPEN_TICKETS_PER_SESSION,
  WS_MAX_SOCKETS_PER_SESSION,
} from '../../protocol/chat.ts';
import { SESSIONS_PER_CLIENT, TICKETS_PER_CLIENT } from '../../server/routes/sessions.ts';
import {
  BANK,
  CHAT,
  UpgradeRefused,
  agentSession,
  call,
  customerSession,
  customerSocket,
  msgId,
  newSession,
  openSocket,
  signIn,
  startChat,
  wsTicket,
  type Running,
  type TestSocket,
  chatPerTest,
} from '../server/helpers.ts';

let run: Running;
let now: number;

  // A server in demo mode, with the old demo-login switch on too: neither may bring the
  // demo assertion back.
chatPerTest(
  (dir) => {
    now = Date.UTC(2030, 0, 15, 9);
    return startChat(dir, { DEMO_MODE: 'on', DEMO_LOGIN: '1' }, { clock: () => now });
  },
  (r) => (run = r),
);

/** POST /v1/sessions from `address`, as a script would send it (no Origin needed). */
function postSession(address: string, body: unknown = {}) {
  return run.server.app.inject({
    method: 'POST',
    url: '/v1/sessions',
    remoteAddress: address,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

function count(table: 'conversations' | 'sessions' | 'customers'): number {
  const { sqlite } = (run.server.context.store as unknown as { db: { sqlite: import('better-sqlite3').Database } }).db;
  return (sqlite.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
}

async function agentList(agent: string, cursor?: string) {
  const url = cursor === undefined ? '/v1/agent/conversations' : `/v1/agent/conversations?cursor=${encodeURIComponent(cursor)}`;
  return call(run, 'GET', url, { origin: CHAT, token: agent });
}

describe('attack: anonymous session floods', () => {
  it(`210 POST /v1/sessions from one address -> SESSIONS_PER_CLIENT.burst (${SESSIONS_PER_CLIENT.burst}) created, the rest 429 RATE_LIMITED with Retry-After; none is a conversation`, async () => {
    const answers = [];
    for (let i = 0; i < 210; i++) answers.push(await postSession('203.0.113.7'));
    const created = answers.filter((a) => a.statusCode === 201);
    const refused = answers.filter((a) => a.statusCode === 429);
    expect(created).toHaveLength(SESSIONS_PER_CLIENT.burst);
    expect(refused).toHaveLength(210 - SESSIONS_PER_CLIENT.burst);
    for (const answer of refused) {
      expect(answer.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
      expect(Number(answer.headers['retry-after'])).toBe(Math.ceil(60 / SESSIONS_PER_CLIENT.perMinute));
    }
    expect(created.every((a) => a.json().conversationId === null)).toBe(true);
    expect({ sessions: count('sessions'), conversations: count('conversations') }).toEqual({ sessions: SESSIONS_PER_CLIENT.burst, conversations: 0 });

    // Another address is not held back; this one gets a session again once a token refilled.
    expect((await postSession('198.51.100.2')).statusCode).toBe(201);
    now += (60_000 / SESSIONS_PER_CLIENT.perMinute) - 1;
    expect((await postSession('203.0.113.7')).statusCode).toBe(429);
    now += 1;
    expect((await postSession('203.0.113.7')).statusCode).toBe(201);
  });

  it('a flood from many addresses announces nothing and leaves a waiting customer on the first page of the agents’ list', async () => {
    const agent = await agentSession(run);
    const waiting = await customerSession(run);
    await run.server.context.service.postMessage({
      conversationId: waiting.conversationId,
      author: { role: 'customer', name: 'Ada' },
      clientMsgId: msgId(1),
      text: 'Is anyone there?',
    });
    now += 1000;
    for (let i = 0; i < 210; i++) expect((await postSession(`10.1.${i >> 8}.${i & 255}`)).statusCode).toBe(201);

    const first = await agentList(agent);
    expect(first.status).toBe(200);
    expect(first.body['conversations']).toEqual([expect.objectContaining({ id: waiting.conversationId, lastText: 'Is anyone there?' })]);
    expect(first.body['nextCursor']).toBeNull();
    expect(count('conversations')).toBe(1);
  });

  it(`POST /v1/ws-tickets from one address -> TICKETS_PER_CLIENT.burst (${TICKETS_PER_CLIENT.burst}), then 429 RATE_LIMITED with Retry-After`, async () => {
    const sessions = await Promise.all(Array.from({ length: 20 }, () => newSession(run)));
    const answers = [];
    for (let i = 0; i < TICKETS_PER_CLIENT.burst + 3; i++) {
      const { token } = sessions[i % sessions.length]!;
      answers.push(
        await run.server.app.inject({ method: 'POST', url: '/v1/ws-tickets', remoteAddress: '203.0.113.9', headers: { origin: BANK, authorization: `Bearer ${token}` } }),
      );
    }
    // Each session may hold WS_MAX_OPEN_TICKETS_PER_SESSION unused tickets: 20 sessions cover the burst.
    expect(answers.slice(0, TICKETS_PER_CLIENT.burst).map((a) => a.statusCode)).toEqual(Array(TICKETS_PER_CLIENT.burst).fill(201));
    for (const answer of answers.slice(TICKETS_PER_CLIENT.burst)) {
      expect({ status: answer.statusCode, code: answer.json().error.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('attack: a bank page naming any customer (demo identity assertion)', () => {
  it("{type:'demo', subject:<victim>} -> 400 BAD_REQUEST on POST /v1/sessions and on step-up, even in demo mode; the victim's conversation is not given out", async () => {
    const victim = await customerSession(run, 'victim');
    await run.server.context.service.postMessage({
      conversationId: victim.conversationId,
      author: { role: 'customer', name: 'victim' },
      clientMsgId: msgId(1),
      text: 'my account number is on its way',
    });

    const created = await call(run, 'POST', '/v1/sessions', { body: { assertion: { type: 'demo', subject: 'victim' } } });
    expect({ status: created.status, code: (created.body['error'] as { code?: string } | undefined)?.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(JSON.stringify(created.body)).not.toContain(victim.conversationId);

    const attacker = await newSession(run);
    const up = await call(run, 'POST', '/v1/sessions/step-up', { token: attacker.token, body: { assertion: { type: 'demo', subject: 'victim' } } });
    expect({ status: up.status, code: (up.body['error'] as { code?: string } | undefined)?.code }).toEqual({ status: 400, code: 'BAD_REQUEST' });
    expect(JSON.stringify(up.body)).not.toContain(victim.conversationId);

    // The attacker's session is still anonymous and conversation-less; its socket sees nothing of the victim's.
    const socket = await customerSocket(run, attacker.token);
    expect(socket.frames[0]).toEqual({ type: 'hello', role: 'customer', conversationId: null, acr: 'none' });
    socket.send({ type: 'resume', after: 0, conversationId: victim.conversationId });
    expect((await socket.waitFor('error')).code).toBe('FORBIDDEN');
    expect(socket.ofType('event')).toEqual([]);
    socket.close();
    // The victim's own sign-in (an id_token with the session's nonce) still works.
    expect((await signIn(run, (await newSession(run)).token, 'victim')).body).toMatchObject({ conversationId: victim.conversationId, acr: 'bank' });
  });
});

describe('attack: one session multiplying its WebSocket tickets, sockets and messages', () => {
  async function refused(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
    try {
      await promise;
    } catch (err) {
      if (err instanceof UpgradeRefused) return { status: err.status, code: (JSON.parse(err.body) as { error: { code: string } }).error.code };
      throw err;
    }
    throw new Error('the upgrade was accepted');
  }

  it(`more than WS_MAX_OPEN_TICKETS_PER_SESSION (${WS_MAX_OPEN_TICKETS_PER_SESSION}) unused tickets -> 429 WS_TOO_MANY_TICKETS; a used or expired one frees a place`, async () => {
    const { token } = await newSession(run);
    const tickets = [];
    for (let i = 0; i < WS_MAX_OPEN_TICKETS_PER_SESSION; i++) tickets.push(await wsTicket(run, token));
    const over = await call(run, 'POST', '/v1/ws-tickets', { token });
    expect({ status: over.status, code: (over.body['error'] as { code: string }).code }).toEqual({ status: 429, code: 'WS_TOO_MANY_TICKETS' });
    (await openSocket(run, tickets[0]!)).close();
    expect((await call(run, 'POST', '/v1/ws-tickets', { token })).status).toBe(201);
  });

  it(`more than WS_MAX_SOCKETS_PER_SESSION (${WS_MAX_SOCKETS_PER_SESSION}) sockets -> the next upgrade is refused with 429 WS_TOO_MANY_SOCKETS`, async () => {
    const { token } = await newSession(run);
    const sockets: TestSocket[] = [];
    for (let i = 0; i < WS_MAX_SOCKETS_PER_SESSION; i++) sockets.push(await customerSocket(run, token));
    expect(await refused(openSocket(run, await wsTicket(run, token)))).toEqual({ status: 429, code: 'WS_TOO_MANY_SOCKETS' });
    // Another session of another customer is not affected.
    (await customerSocket(run, (await newSession(run)).token)).close();
    // Closing one frees its place.
    const closing = sockets.pop()!;
    closing.close();
    await closing.closed;
    const freed = await waitForUpgrade(token);
    freed.close();
    for (const socket of sockets) socket.close();
  });

  it(`${2 * WS_MAX_MESSAGES_PER_SECOND} messages over 4 sockets of one session in one instant -> WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND}) stored, the rest RATE_LIMITED`, async () => {
    const { token, conversationId } = await customerSession(run);
    const sockets = [];
    for (let i = 0; i < 4; i++) sockets.push(await customerSocket(run, token));
    const total = 2 * WS_MAX_MESSAGES_PER_SECOND;
    const each = total / sockets.length;
    // One socket after the other, so which ones are refused is known: the first two use up the
    // budget; the last two are fresh sockets, refused all the same.
    for (const [s, socket] of sockets.entries()) {
      for (let i = 0; i < each; i++) socket.send({ type: 'send', clientMsgId: msgId(`s${s}m${i}`), text: `flood ${s}/${i}` });
      if (s < 2) await socket.waitFor('ack', () => socket.ofType('ack').length === each);
      else await socket.waitFor('error', () => socket.ofType('error').length === each);
    }
    const acks = sockets.flatMap((socket) => socket.ofType('ack'));
    const limited = sockets.flatMap((socket) => socket.ofType('error')).filter((f) => f.code === 'RATE_LIMITED');
    expect({ acks: acks.length, limited: limited.length }).toEqual({ acks: WS_MAX_MESSAGES_PER_SECOND, limited: total - WS_MAX_MESSAGES_PER_SECOND });
    const stored = await run.server.context.store.events.list(conversationId, 0, 1000);
    expect(stored).toHaveLength(WS_MAX_MESSAGES_PER_SECOND);
    for (const socket of sockets) socket.close();
  });
});

/**
 * Opens a socket for the session once the server has seen an earlier one close (the client may
 * see the close first): retried on WS_TOO_MANY_SOCKETS only, each attempt after the previous
 * refusal, so no timer decides.
 */
async function waitForUpgrade(token: string): Promise<TestSocket> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      return await customerSocket(run, token);
    } catch (err) {
      if (!(err instanceof UpgradeRefused) || !err.body.includes('WS_TOO_MANY_SOCKETS')) throw err;
    }
  }
  throw new Error('the freed socket place never came back');
}
