/**
 * Attacks on the REAL chat server (listening on 127.0.0.1, real `ws` client): the WebSocket
 * upgrade, frame size and rate, card numbers typed into the chat, and pivot-token requests for
 * steps the session may not have. Each asserts the HTTP status + `error.code`, the close code or
 * the error frame's code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WS_CLOSE, WS_MAX_FRAME_BYTES, WS_MAX_MESSAGES_PER_SECOND } from '../../protocol/chat.ts';
import {
  BANK,
  CHAT,
  EVIL,
  UpgradeRefused,
  agentSession,
  call,
  createStep,
  customerSession,
  customerSocket,
  msgId,
  openSocket,
  removeDir,
  startChat,
  tempDir,
  wsTicket,
  type Running,
} from '../server/helpers.ts';

let dir: string;
let run: Running;

beforeAll(async () => {
  dir = tempDir();
  run = await startChat(dir);
});
afterAll(async () => {
  await run.close();
  removeDir(dir);
});

/** Expect the upgrade to be refused with an HTTP answer (no WebSocket); returns status + code. */
async function refused(promise: Promise<unknown>): Promise<{ status: number; code: string | undefined }> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof UpgradeRefused)) throw err;
    let code: string | undefined;
    try {
      code = (JSON.parse(err.body) as { error?: { code?: string } }).error?.code;
    } catch {
      code = undefined;
    }
    return { status: err.status, code };
  }
  throw new Error('the WebSocket upgrade was ACCEPTED');
}

describe('attack: WebSocket upgrade on /v1/ws', () => {
  it('a foreign Origin with a valid ticket -> refused before the upgrade, 403 ORIGIN_NOT_ALLOWED', async () => {
    const { token } = await customerSession(run);
    const ticket = await wsTicket(run, token);
    expect(await refused(openSocket(run, ticket, EVIL))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    // The bank page itself still connects (with a fresh ticket).
    const socket = await customerSocket(run, token);
    socket.close();
  });

  it('no Origin header, or "null" -> refused before the upgrade, 403 ORIGIN_NOT_ALLOWED', async () => {
    const { token } = await customerSession(run);
    expect(await refused(openSocket(run, await wsTicket(run, token), null))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await refused(openSocket(run, await wsTicket(run, token), 'null'))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  });

  it("a customer's ticket used from the agent console origin -> 403 ORIGIN_NOT_ALLOWED", async () => {
    const { token } = await customerSession(run);
    expect(await refused(openSocket(run, await wsTicket(run, token), CHAT))).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('no ticket -> refused before the upgrade, 401 WS_TICKET_INVALID', async () => {
    expect(await refused(openSocket(run, null))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
  });

  it('a forged (never issued) ticket -> 401 WS_TICKET_INVALID', async () => {
    expect(await refused(openSocket(run, 'A'.repeat(43)))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
  });

  it('a used ticket (second upgrade with the same ticket) -> 401 WS_TICKET_INVALID', async () => {
    const { token } = await customerSession(run);
    const ticket = await wsTicket(run, token);
    const first = await openSocket(run, ticket);
    await first.waitFor('hello');
    expect(await refused(openSocket(run, ticket))).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
    first.close();
  });

  it('the session bearer token used as a ticket -> 401 WS_TICKET_INVALID', async () => {
    const { token } = await customerSession(run);
    const { status, code } = await refused(openSocket(run, token));
    expect({ status, code }).toEqual({ status: 401, code: 'WS_TICKET_INVALID' });
  });
});

describe('attack: abusive frames on an open socket', () => {
  it(`a frame over WS_MAX_FRAME_BYTES (${WS_MAX_FRAME_BYTES}) -> connection closed with 1009`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    socket.send({ type: 'send', clientMsgId: msgId(1), text: 'x'.repeat(WS_MAX_FRAME_BYTES) });
    expect((await socket.closed).code).toBe(WS_CLOSE.TOO_BIG);
    expect(socket.ofType('ack')).toEqual([]);
  });

  it(`a flood over WS_MAX_MESSAGES_PER_SECOND (${WS_MAX_MESSAGES_PER_SECOND}) -> RATE_LIMITED error frame, excess not processed`, async () => {
    const { token } = await customerSession(run);
    const socket = await customerSocket(run, token);
    const flood = WS_MAX_MESSAGES_PER_SECOND * 2;
    for (let i = 0; i < flood; i++) socket.send({ type: 'send', clientMsgId: msgId(`flood${i}`), text: `m${i}` });
    const limited = await socket.waitFor('error', (f) => f.code === 'RATE_LIMITED');
    expect(limited.code).toBe('RATE_LIMITED');
    await socket.waitFor('error', () => socket.ofType('ack').length + socket.ofType('error').length >= flood);
    expect(socket.ofType('ack').length).toBeLessThanOrEqual(WS_MAX_MESSAGES_PER_SECOND + 1);
    expect(socket.ofType('error').filter((f) => f.code === 'RATE_LIMITED').length).toBeGreaterThanOrEqual(flood - WS_MAX_MESSAGES_PER_SECOND - 1);
    socket.close();
  });
});

describe('attack: a customer types a card number into the chat', () => {
  it("'4111 1111 1111 1111' is masked in the echo and in the stored event; the chat DB files never hold the PAN", async () => {
    const pan = '4111111111111111';
    const spaced = '4111 1111 1111 1111';
    const { token, conversationId } = await customerSession(run);
    const socket = await customerSocket(run, token);
    const texts = [`here is my card ${spaced} exp 12/29 cvc 123`, pan, '4111-1111-1111-1111'];
    texts.forEach((text, i) => socket.send({ type: 'send', clientMsgId: msgId(`pan${i}`), text }));
    await socket.waitFor('ack', () => socket.ofType('ack').length === texts.length);
    await socket.waitFor('event', () => socket.ofType('event').length === texts.length);
    socket.close();

    // The echo pushed back on the socket.
    const echoed = socket.ofType('event').map((f) => (f.event.kind === 'message' ? f.event.text : ''));
    expect(echoed).toEqual(['here is my card •••• •••• •••• 1111 exp 12/29 cvc •••', '••••••••••••1111', '••••-••••-••••-1111']);

    // The stored events, as the agent reads them.
    const agent = await agentSession(run);
    const page = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events?after=0`, { origin: CHAT, token: agent });
    expect(page.status).toBe(200);
    const stored = JSON.stringify(page.body);
    expect(stored).toContain('1111');
    for (const leak of [pan, spaced, '4111-1111-1111-1111', '41111111']) expect(stored).not.toContain(leak);

    // Every byte of the database files.
    const files = ['chat.db', 'chat.db-wal', 'chat.db-shm'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    expect(files).toContain(join(dir, 'chat.db'));
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const leak of [pan, spaced, '4111-1111-1111-1111']) expect(bytes.includes(Buffer.from(leak)), `${leak} in ${file}`).toBe(false);
    }
  });
});

describe('attack: pivot-token requests for steps the session may not have', () => {
  it("a customer requesting a pivot token for ANOTHER conversation's step -> 404 STEP_NOT_FOUND", async () => {
    const agent = await agentSession(run);
    const victim = await customerSession(run, 'victim');
    const attacker = await customerSession(run, 'mallory');
    const { stepId } = await createStep(run, agent, victim.conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: attacker.token });
    expect({ status: res.status, code: (res.body['error'] as { code?: string } | undefined)?.code }).toEqual({ status: 404, code: 'STEP_NOT_FOUND' });
    expect(JSON.stringify(res.body)).not.toMatch(/eyJ/);
    // A made-up step id answers the same: no oracle for which ids exist.
    const unknown = await call(run, 'POST', '/v1/steps/stp_AAAAAAAAAAAAAAAAAAAA/pivot-token', { token: attacker.token });
    expect({ status: unknown.status, code: (unknown.body['error'] as { code?: string }).code }).toEqual({ status: 404, code: 'STEP_NOT_FOUND' });
    // The owner still gets one.
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: victim.token })).status).toBe(200);
  });

  it('an anonymous (channel-only, not bank-authenticated) session requesting a pivot token -> 403 STEP_UP_REQUIRED', async () => {
    const agent = await agentSession(run);
    const anonymous = await customerSession(run);
    expect(anonymous.acr).not.toBe('bank');
    const { stepId } = await createStep(run, agent, anonymous.conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: anonymous.token });
    expect({ status: res.status, code: (res.body['error'] as { code?: string } | undefined)?.code }).toEqual({ status: 403, code: 'STEP_UP_REQUIRED' });
    expect(JSON.stringify(res.body)).not.toMatch(/eyJ/);
  });

  it('a pivot token requested from a foreign page Origin -> 403 ORIGIN_NOT_ALLOWED (the token would name that origin)', async () => {
    const agent = await agentSession(run);
    const customer = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, customer.conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: customer.token, origin: EVIL });
    expect({ status: res.status, code: (res.body['error'] as { code?: string } | undefined)?.code }).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: customer.token, origin: BANK })).status).toBe(200);
  });
});
