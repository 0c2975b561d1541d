import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as v from 'valibot';
import { afterEach, describe, expect } from 'vitest';
import { PIVOT_TOKEN_MAX_LIFETIME_S, PIVOT_TOKEN_TYP, PivotClaimsSchema } from '../../../protocol/pivot-token.ts';
import { STEP_UP_TEXT } from '../../../server/conversations/chat-service.ts';
import { PivotKeyRing } from '../../../server/keys/pivot-key-ring.ts';
import { MAX_PIVOT_TOKENS_PER_STEP } from '../../../server/routes/pivot-tokens.ts';
import {
  BANK,
  CHAT,
  EVIL,
  VAULT,
  agentSocket,
  call,
  chatTest as it,
  createStep,
  customerSession,
  customerSocket,
  msgId,
  schemaViolations,
  signIn,
} from '../helpers.ts';

describe('POST /v1/steps/:stepId/pivot-token', () => {

  afterEach(() => expect(schemaViolations).toEqual([]));

  it('refuses an anonymous session with STEP_UP_REQUIRED', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run);
    const { stepId } = await createStep(run, agent, conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: { code: 'STEP_UP_REQUIRED', message: expect.any(String) } });
  });

  it('signs a token for a bank session that verifies against /.well-known/jwks.json', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    expect(res.status).toBe(200);
    expect(res.body['vaultOrigin']).toBe(VAULT);
    const jwt = res.body['token'] as string;

    const jwks = createRemoteJWKSet(new URL(`${run.httpBase}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
      algorithms: ['ES256'],
      typ: PIVOT_TOKEN_TYP,
      issuer: CHAT,
      audience: VAULT,
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'pivot+jwt', kid: run.server.context.keys.current.kid });
    expect(v.is(v.strictObject(PivotClaimsSchema.entries), payload)).toBe(true);
    const claims = v.parse(PivotClaimsSchema, payload);
    expect(claims.origin).toBe(BANK);
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(PIVOT_TOKEN_MAX_LIFETIME_S);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.cnv).toBe(conversationId);
    expect(claims.acr).toBe('bank');
    expect(claims.sub).not.toContain('alice');
    expect(claims.step).toEqual({
      id: stepId,
      kind: 'card_payment',
      amount: { minor: 1250, currency: 'EUR' },
      purpose: 'Card replacement fee',
      reference: 'INV-1',
    });
    expect(new Date(res.body['expiresAt'] as string).getTime()).toBe(claims.exp * 1000);

    const second = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    const again = v.parse(PivotClaimsSchema, (await jwtVerify(second.body['token'] as string, jwks)).payload);
    expect(again.jti).not.toBe(claims.jti);
    expect(again.sub).toBe(claims.sub);
  });

  it("answers STEP_NOT_FOUND for another conversation's step and for an unknown one", async ({ run, agent }) => {
    const other = await customerSession(run, 'bob');
    const { stepId } = await createStep(run, agent, other.conversationId);
    const { token } = await customerSession(run, 'alice');
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token })).body).toMatchObject({ error: { code: 'STEP_NOT_FOUND' } });
    const unknown = await call(run, 'POST', '/v1/steps/stp_AAAAAAAAAAAAAAAAAAAAAAAA/pivot-token', { token });
    expect(unknown.status).toBe(404);
  });

  it('requires a configured bank Origin, which becomes the origin claim', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    const none = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token, origin: null });
    expect(none).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
    const evil = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token, origin: EVIL });
    expect(evil).toMatchObject({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED' } } });
  });

  it('refuses agents and unauthenticated callers', async ({ run, agent }) => {
    const { conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: agent })).body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, {})).status).toBe(401);
  });

  it('step-up raises an anonymous session to bank, announces it, and then signs', async ({ run, agent }) => {
    const agentWs = await agentSocket(run, agent);
    const { token, conversationId } = await customerSession(run);
    const customerWs = await customerSocket(run, token);
    customerWs.send({ type: 'send', clientMsgId: msgId(1), text: 'I would like a new card' });
    await customerWs.waitFor('ack');
    const { stepId } = await createStep(run, agent, conversationId);
    const up = await signIn(run, token, 'carol');
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ session: token, conversationId, acr: 'bank' });
    expect(await customerWs.waitFor('session')).toEqual({ type: 'session', acr: 'bank' });
    customerWs.close();
    const summary = await agentWs.waitFor('conversation', (f) => f.conversation.id === conversationId && f.conversation.acr === 'bank');
    expect(summary.conversation.lastText).toBe(STEP_UP_TEXT);
    const events = await call(run, 'GET', `/v1/agent/conversations/${conversationId}/events?after=0`, { token: agent, origin: CHAT });
    expect(events.body['events']).toEqual([
      expect.objectContaining({ kind: 'message', seq: 1 }),
      expect.objectContaining({ kind: 'step', seq: 2 }),
      expect.objectContaining({ kind: 'system', seq: 3, text: STEP_UP_TEXT }),
    ]);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    expect(res.status).toBe(200);
    agentWs.close();

    // A later session signed in as carol picks the same conversation up.
    const again = await customerSession(run, 'carol');
    expect(again.conversationId).toBe(conversationId);
  });

  it(`issues at most MAX_PIVOT_TOKENS_PER_STEP (${MAX_PIVOT_TOKENS_PER_STEP}) tokens for one step`, async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'alice');
    const { stepId } = await createStep(run, agent, conversationId);
    for (let i = 0; i < MAX_PIVOT_TOKENS_PER_STEP; i++) {
      expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token })).status).toBe(200);
    }
    expect((await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token })).body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });

  it('refuses a step-up as a different customer than the session is bound to', async ({ run }) => {
    const { token } = await customerSession(run, 'alice');
    const res = await signIn(run, token, 'mallory');
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'IDENTITY_MISMATCH' } } });
  });
});

describe('pivot signing keys', () => {
  it('are created once with mode 0600, survive a restart, and keep the previous key after rotation', async ({ dir }) => {
    const first = await PivotKeyRing.open(dir);
    expect(statSync(join(dir, 'chat-keys.json')).mode & 0o777).toBe(0o600);
    const reopened = await PivotKeyRing.open(dir);
    expect(reopened.current.kid).toBe(first.current.kid);
    const rotated = await reopened.rotate();
    expect(rotated.kid).not.toBe(first.current.kid);
    expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([rotated.kid, first.current.kid]);
    expect(reopened.jwks().keys.every((k) => !('d' in k))).toBe(true);
    // Previous keys stay published until retired (tokens they signed may still be valid).
    const third = await reopened.rotate();
    expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([third.kid, rotated.kid, first.current.kid]);
    expect(statSync(join(dir, 'chat-keys.json')).mode & 0o777).toBe(0o600);
  });

  it('names the signing key in the token header', async ({ run, agent }) => {
    const { token, conversationId } = await customerSession(run, 'dave');
    const { stepId } = await createStep(run, agent, conversationId);
    const res = await call(run, 'POST', `/v1/steps/${stepId}/pivot-token`, { token });
    expect(decodeProtectedHeader(res.body['token'] as string).kid).toBe(run.server.context.keys.current.kid);
  });
});
