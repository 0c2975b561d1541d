import { decodeJwt } from 'jose';
import { afterEach, describe, expect } from 'vitest';
import type { ConversationEvent } from '../../../protocol/chat.ts';
import { PIVOT_TOKEN_TTL_S } from '../../../protocol/pivot-token.ts';
import {
  UNUSED_PIVOT_GRACE_MS,
  UNUSED_PIVOT_SWEEP_INTERVAL_MS,
  cardProvidedText,
  unusedPivotText,
} from '../../../server/conversations/chat-service.ts';
import {
  CHAT,
  agentSocket,
  call,
  chatTest,
  createStep,
  customerSession,
  customerSocket,
  schemaViolations,
  type Running,
} from '../helpers.ts';

const TTL_MS = PIVOT_TOKEN_TTL_S * 1000;
const FLAG_TEXT = unusedPivotText({ purpose: 'Card replacement fee', reference: 'INV-1' });

describe('unused pivot-token sweep', () => {
  let now: number;
  const it = chatTest.override('chatSetup', () => {
    now = Date.now();
    return { options: { clock: () => now } };
  });

  afterEach(() => expect(schemaViolations).toEqual([]));

  const sweep = (run: Running) => run.server.context.service.sweepUnusedPivotTokens();

  async function issue(run: Running, token: string, stepId: string): Promise<string> {
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    expect(res.status).toBe(200);
    return decodeJwt(res.body['token'] as string).jti!;
  }

  async function events(run: Running, agent: string, conversationId: string): Promise<ConversationEvent[]> {
    const res = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events`, { origin: CHAT, token: agent });
    expect(res.status).toBe(200);
    return res.body['events'] as ConversationEvent[];
  }

  const flags = async (run: Running, agent: string, conversationId: string) => (await events(run, agent, conversationId)).filter((e) => e.kind === 'system' && e.text === FLAG_TEXT);

  it('names its interval and grace as constants', () => {
    expect(UNUSED_PIVOT_SWEEP_INTERVAL_MS).toBe(15_000);
    expect(UNUSED_PIVOT_GRACE_MS).toBe(30_000);
    expect(FLAG_TEXT).toBe(
      'Security notice: a secure payment form was opened for Card replacement fee (ref INV-1) but no card reached the vault ' +
        'before it expired. If the customer did not see the form, their page may have been tampered with.',
    );
  });

  it('flags a step whose only token expired unused exactly once, and pushes it to the agent socket', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    // The customer wrote first, as any conversation an agent can see.
    await run.server.context.service.postMessage({ conversationId, author: { role: 'customer', name: 'alice' }, clientMsgId: 'alice00001', text: 'I lost my card' });
    const { stepId } = await createStep(run, agent, conversationId);
    await issue(run, token, stepId);
    const agentWs = await agentSocket(run, agent);
    agentWs.send({ type: 'resume', after: 0, conversationId });
    await agentWs.waitFor('replayed', (f) => f.conversationId === conversationId);
    const customerWs = await customerSocket(run, token);

    now += TTL_MS + UNUSED_PIVOT_GRACE_MS - 1000; // expired, but still within the grace
    expect(await sweep(run)).toEqual([]);
    now += 1000;
    const [flagged, ...rest] = await sweep(run);
    expect(rest).toEqual([]);
    expect(flagged).toMatchObject({ kind: 'system', conversationId, text: FLAG_TEXT });

    const toAgent = await agentWs.waitFor('event', (f) => f.event.kind === 'system' && f.event.seq === flagged!.seq);
    expect(toAgent.event).toEqual(flagged);
    const toCustomer = await customerWs.waitFor('event', (f) => f.event.kind === 'system' && f.event.seq === flagged!.seq);
    expect(toCustomer.event).toEqual(flagged);
    await agentWs.waitFor('conversation', (f) => f.conversation.id === conversationId && f.conversation.lastSeq === flagged!.seq);

    now += UNUSED_PIVOT_SWEEP_INTERVAL_MS;
    expect(await sweep(run)).toEqual([]);
    expect(await flags(run, agent, conversationId)).toHaveLength(1);
    expect((await run.server.context.store.steps.get(stepId))?.status).toBe('open');
    agentWs.close();
    customerWs.close();
  });

  it('does not flag a step for which no token was issued', async ({ run, agent }) => {
    const { conversationId } = await customerSession(run, 'alice');
    await createStep(run, agent, conversationId);
    now += TTL_MS + UNUSED_PIVOT_GRACE_MS + 60_000;
    expect(await sweep(run)).toEqual([]);
    expect(await flags(run, agent, conversationId)).toEqual([]);
  });

  it('does not flag a completed step', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    const jti = await issue(run, token, stepId);
    await run.server.context.store.steps.completeFromNotice({
      noticeJti: 'ntc_1',
      noticeExpiresAt: now + 60_000,
      conversationId,
      stepId,
      pivotJti: jti,
      result: { kind: 'card_payment', card: { token: 'tok_x', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 } },
      text: cardProvidedText({ brand: 'visa', last4: '4242' }),
    });
    now += TTL_MS + UNUSED_PIVOT_GRACE_MS + 60_000;
    expect(await sweep(run)).toEqual([]);
    expect(await flags(run, agent, conversationId)).toEqual([]);
  });

  it('waits while any issued token of the step is still valid', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    await issue(run, token, stepId);
    now += TTL_MS + UNUSED_PIVOT_GRACE_MS + 1000; // the first token is past its grace
    await issue(run, token, stepId); // a retry of the form: a fresh, valid token
    expect(await sweep(run)).toEqual([]);
    now += TTL_MS + UNUSED_PIVOT_GRACE_MS + 1000;
    expect(await sweep(run)).toHaveLength(1);
    expect(await flags(run, agent, conversationId)).toHaveLength(1);
  });

  it('still completes a flagged step when the vault notice arrives later', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    const jti = await issue(run, token, stepId);
    now += TTL_MS + UNUSED_PIVOT_GRACE_MS + 1000;
    expect(await sweep(run)).toHaveLength(1);
    const completed = await run.server.context.store.steps.completeFromNotice({
      noticeJti: 'ntc_late',
      noticeExpiresAt: now + 60_000,
      conversationId,
      stepId,
      pivotJti: jti,
      result: { kind: 'card_payment', card: { token: 'tok_y', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 } },
      text: cardProvidedText({ brand: 'visa', last4: '4242' }),
    });
    expect(completed.kind).toBe('step_completed');
    expect((await run.server.context.store.steps.get(stepId))?.status).toBe('completed');
  });
});
