/**
 * `<secure-chat>`'s session controller against a scripted chat server: `fetch` is stubbed (Node
 * has no DOM; the host is a plain EventTarget), and the test answers each call itself, in the
 * order it chooses, so that a superseded session's answer can arrive after its successor's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionResponse } from '../../../protocol/chat.ts';
import { SessionController } from '../../../widget/secure-chat/session-controller.ts';
import { clearSession, loadSession, saveSession } from '../../../widget/secure-chat/session-store.ts';
import { FakeHost } from './fake-host.ts';

const CHAT = 'http://chat.localhost:8081';
const EXPIRES = '2999-01-01T00:00:00.000Z';
const sessionA: SessionResponse = { session: 'sess-a', conversationId: 'cnv_aaaaaaaaaaaa', acr: 'none', expiresAt: EXPIRES };
const sessionB: SessionResponse = { session: 'sess-b', conversationId: 'cnv_bbbbbbbbbbbb', acr: 'none', expiresAt: EXPIRES };
/** How long a wait for the controller's reaction may take: only a guard against a hang. */
const WAIT_TIMEOUT_MS = 15_000;
const waitFor = (check: () => void) => vi.waitFor(check, { timeout: WAIT_TIMEOUT_MS, interval: 5 });
/** Every answer below settles in microtasks only: one macrotask turn later, all of them have run. */
const drain = () => new Promise((resolve) => setImmediate(resolve));

interface Call {
  readonly path: string;
  readonly signal: AbortSignal | undefined;
  answer(body: unknown, status?: number): void;
  fail(error: unknown): void;
}


let calls: Call[];
let host: FakeHost;
let controller: SessionController;

/** The calls to `path` so far, oldest first. */
const callsTo = (path: string) => calls.filter((call) => call.path === path);

beforeEach(() => {
  calls = [];
  // Answers are plain objects, not Responses: reading them takes microtasks only (see drain).
  vi.stubGlobal('fetch', (url: string, init: RequestInit) =>
    new Promise((resolve, reject) => {
      calls.push({
        path: new URL(url).pathname,
        signal: init.signal ?? undefined,
        answer: (body, status = 200) => resolve({ ok: status < 400, status, json: async () => body }),
        fail: reject,
      });
    }),
  );
  clearSession(CHAT);
  host = new FakeHost(CHAT);
  controller = new SessionController(host, () => {});
});

afterEach(() => {
  controller.hostDisconnected();
  clearSession(CHAT);
  vi.unstubAllGlobals();
});

describe('SessionController: stale results', () => {
  it.each([
    ['the new session answers first', [1, 0]],
    ['the superseded session answers first', [0, 1]],
  ])('a start superseded before its session arrives is dropped; the next start connects (%s)', async (_, order) => {
    controller.start();
    await waitFor(() => expect(callsTo('/v1/sessions')).toHaveLength(1));
    const [first] = callsTo('/v1/sessions');
    // The server attribute changed: the running start is aborted and a new one begins.
    controller.reset();
    expect(first!.signal?.aborted).toBe(true);
    controller.start();
    await waitFor(() => expect(callsTo('/v1/sessions')).toHaveLength(2));
    const second = callsTo('/v1/sessions')[1]!;
    expect(second.signal?.aborted).toBe(false);

    // The aborted call is answered anyway (the answer was already on its way).
    const answers = [() => first!.answer(sessionA), () => second.answer(sessionB)];
    for (const index of order) {
      answers[index]!();
      await drain();
    }

    await waitFor(() => expect(callsTo('/v1/ws-tickets')).toHaveLength(1));
    await drain();
    expect(callsTo('/v1/ws-tickets')).toHaveLength(1);
    expect(controller.session?.session).toBe('sess-b');
    expect(loadSession(CHAT)?.session).toBe('sess-b');
    expect(host.errors).toEqual([]);
  });

  it('an aborted start whose fetch rejects shows no error and schedules no retry', async () => {
    controller.start();
    await waitFor(() => expect(callsTo('/v1/sessions')).toHaveLength(1));
    const [first] = callsTo('/v1/sessions');
    controller.reset();
    first!.fail(first!.signal!.reason);
    await drain();
    expect(host.errors).toEqual([]);
    expect(controller.notice).toBeNull();
    expect(controller.status).toBe('idle');
  });

  it('a step-up answered after its session was torn down is not adopted', async () => {
    saveSession(CHAT, { ...sessionA, acr: 'channel' });
    controller.start();
    await waitFor(() => expect(controller.session?.session).toBe('sess-a'));
    host.identityProvider = async () => 'id-token';
    const result = controller.stepUp();
    await waitFor(() => expect(callsTo('/v1/sessions/nonce')).toHaveLength(1));
    callsTo('/v1/sessions/nonce')[0]!.answer({ nonce: 'n', expiresAt: EXPIRES });
    await waitFor(() => expect(callsTo('/v1/sessions/step-up')).toHaveLength(1));
    const [stepUp] = callsTo('/v1/sessions/step-up');

    controller.reset();
    expect(stepUp!.signal?.aborted).toBe(true);
    stepUp!.answer({ ...sessionA, session: 'sess-a-bank', acr: 'bank' });

    expect(await result).toBe(false);
    expect(controller.session).toBeNull();
    expect(loadSession(CHAT)).toMatchObject({ session: 'sess-a', acr: 'channel' });
  });
});
