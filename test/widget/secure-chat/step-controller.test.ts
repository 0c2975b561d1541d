/**
 * `<secure-chat>`'s step controller: `fetch` is stubbed and answered by the test, the session is
 * a stand-in holding one open step, and the vault frame's host code is replaced by a recorder
 * (its own tests are in vault-frame.test.ts), so that a superseded run's pivot token can arrive
 * after its successor's.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationEvent } from '../../../protocol/chat.ts';
import type { SessionController } from '../../../widget/secure-chat/session-controller.ts';
import { FakeHost } from './fake-host.ts';
import { StepController } from '../../../widget/secure-chat/step-controller.ts';

const recorded = vi.hoisted(() => ({ frames: [] as { stepId: string; begun: unknown[]; destroyed: boolean }[] }));
vi.mock('../../../widget/secure-chat/vault-frame.ts', () => ({
  VaultFrame: class {
    readonly iframe = {};
    readonly record: { stepId: string; begun: unknown[]; destroyed: boolean };
    constructor(options: { stepId: string }) {
      this.record = { stepId: options.stepId, begun: [], destroyed: false };
      recorded.frames.push(this.record);
    }
    begin(args: unknown): void {
      this.record.begun.push(args);
    }
    destroy(): void {
      this.record.destroyed = true;
    }
  },
}));

const CHAT = 'http://chat.localhost:8081';
const VAULT = 'http://vault.localhost:8082';
const EXPIRES = '2999-01-01T00:00:00.000Z';
const STEP = 'stp_abcdefghijklmnop';
const stepEvent: ConversationEvent = {
  conversationId: 'cnv_abcdefgh1234',
  at: '2025-01-01T00:00:00.000Z',
  seq: 1,
  kind: 'step',
  author: { role: 'agent', name: 'Alice' },
  step: { id: STEP, kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Invoice 42', reference: 'INV-42' },
  requiredAcr: 'bank',
};
/** How long a wait for the controller's reaction may take: only a guard against a hang. */
const WAIT_TIMEOUT_MS = 15_000;
const waitFor = (check: () => void) => vi.waitFor(check, { timeout: WAIT_TIMEOUT_MS, interval: 5 });
/** Every answer below settles in microtasks only: one macrotask turn later, all of them have run. */
const drain = () => new Promise((resolve) => setImmediate(resolve));

interface Call {
  readonly signal: AbortSignal | undefined;
  answer(body: unknown, status?: number): void;
  fail(error: unknown): void;
}


let tokenCalls: Call[];
let host: FakeHost;
let session: { server: string; session: { session: string; conversationId: string; acr: 'channel' | 'bank'; expiresAt: string }; sync: { events: ConversationEvent[] }; steps?: unknown; stepUp: () => Promise<boolean>; restart: () => void };
let steps: StepController;

const token = (name: string) => ({ token: name, vaultOrigin: VAULT, expiresAt: EXPIRES });

beforeEach(() => {
  tokenCalls = [];
  recorded.frames.length = 0;
  vi.stubGlobal('fetch', (_url: string, init: RequestInit) =>
    new Promise((resolve, reject) => {
      tokenCalls.push({
        signal: init.signal ?? undefined,
        answer: (body, status = 200) => resolve({ ok: status < 400, status, json: async () => body }),
        fail: reject,
      });
    }),
  );
  host = new FakeHost(CHAT);
  session = {
    server: CHAT,
    session: { session: 'sess-a', conversationId: 'cnv_abcdefgh1234', acr: 'bank', expiresAt: EXPIRES },
    sync: { events: [stepEvent] },
    stepUp: async () => true,
    restart: () => {},
  };
  steps = new StepController(host, session as unknown as SessionController, () => {});
});

afterEach(() => {
  steps.reset(true);
  vi.unstubAllGlobals();
});

describe('StepController: stale results', () => {
  it.each([
    ['the new run answers first', [1, 0]],
    ['the superseded run answers first', [0, 1]],
  ])('a run superseded before its pivot token arrives is dropped; the new run opens the frame (%s)', async (_, order) => {
    void steps.run(STEP);
    await waitFor(() => expect(tokenCalls).toHaveLength(1));
    const [first] = tokenCalls;
    // The session was torn down (e.g. the socket reconnected to a new session) and the step runs again.
    steps.reset();
    expect(first!.signal?.aborted).toBe(true);
    void steps.run(STEP);
    await waitFor(() => expect(tokenCalls).toHaveLength(2));
    const second = tokenCalls[1]!;
    expect(second.signal?.aborted).toBe(false);

    // The aborted call is answered anyway (the answer was already on its way).
    const answers = [() => first!.answer(token('first')), () => second.answer(token('second'))];
    for (const index of order) {
      answers[index]!();
      await drain();
    }

    expect(recorded.frames).toHaveLength(1);
    expect(recorded.frames[0]!.begun).toEqual([{ token: 'second' }]);
    expect(host.events).toEqual([]);
  });

  it('a run aborted while its fetch is in flight shows no error', async () => {
    void steps.run(STEP);
    await waitFor(() => expect(tokenCalls).toHaveLength(1));
    steps.reset();
    tokenCalls[0]!.fail(tokenCalls[0]!.signal!.reason);
    await drain();
    expect(recorded.frames).toEqual([]);
    expect(host.events).toEqual([]);
  });

  it('a step-up that moved to another conversation ends the run: no frame, no token, no login prompt', async () => {
    session.session.acr = 'channel';
    host.vault = VAULT;
    // The step-up came back with another conversation: the session tears the view down first.
    session.stepUp = async () => {
      steps.reset(true);
      return true;
    };
    await steps.run(STEP);
    expect(tokenCalls).toEqual([]);
    expect(recorded.frames).toEqual([]);
    expect(host.events).toEqual([]);
  });
});
