/**
 * The one tap after the pivot, on the real chat server and the real vault: a customer who came by
 * a pivot link (acr `channel`) gets no bank-level step until they hold a passkey; once the vault
 * says they do, the chat server signs a token at `channel` for such a step, the vault accepts the
 * answer only with the passkey, and the chat server then raises the session and the conversation
 * to `bank` and tells the agent "verified by passkey". The enrolment code reaches neither the
 * conversation nor the bank page.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSession } from '../../server/auth/sessions.ts';
import { signPivotToken } from '../../server/keys/sign-pivot-token.ts';
import { hashToken } from '../../server/lib/ids.ts';
import { TRANSFER_CONFIRMATIONS_PATH } from '../../protocol/steps/index.ts';
import { CHAT, agentSession, call, newSession, signIn } from '../server/helpers.ts';
import { waitFor } from '../vault/helpers.ts';
import { answerWithPasskey, postJson } from '../vault/passkey-helpers.ts';
import { enrolCustomerPasskey, startPivotSystem, type PivotSystem } from './helpers.ts';

let system: PivotSystem;
beforeAll(async () => {
  system = await startPivotSystem();
});
afterAll(() => system.close());

const TRANSFER = { kind: 'transfer', amount: { minor: 25000, currency: 'EUR' }, payee: { name: 'A. Martin', accountLast4: '1234' }, purpose: 'Rent', reference: 'TRF-5' };

/** A customer who came from Messenger by a pivot link: a `channel` session of a messenger conversation. */
async function pivotedCustomer() {
  const { store, clock } = system.chat.server.context;
  const customer = await store.customers.create({ subject: null, displayName: 'Robert' });
  const conversation = await store.conversations.create(customer.id, 'channel', 'messenger');
  const { token, session } = await issueSession(store, clock, { role: 'customer', acr: 'channel', customerId: customer.id, agentId: null, conversationId: conversation.id });
  return { customerId: customer.id, conversationId: conversation.id, token, sessionId: session.id };
}

describe('one tap after the pivot', () => {
  it('no passkey: STEP_UP_REQUIRED; with one: a channel-level token, answered by the passkey, raises the session to bank', async () => {
    const robert = await pivotedCustomer();
    const agentToken = await agentSession(system.chat);
    const step = await call(system.chat, 'POST', `/v1/agent/conversations/${robert.conversationId}/steps`, { origin: CHAT, token: agentToken, body: TRANSFER });
    const stepId = step.body['stepId'] as string;
    const ask = () => call(system.chat, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: robert.token });
    expect((await ask()).body).toMatchObject({ error: { code: 'STEP_UP_REQUIRED' } });

    // Robert added a passkey earlier (a bank-level enrolment, recorded as issued to his session here).
    const { store } = system.chat.server.context;
    const { pseudonym } = (await store.customers.get(robert.customerId))!;
    // A token shaped like the step's (the helper re-signs it at `bank`, naming Messenger).
    const { token: enrolmentBase } = await signPivotToken(system.chat.server.context.keys.current, {
      issuer: CHAT,
      audience: system.vault.config.origin,
      subject: pseudonym,
      origin: 'http://bank.localhost:8080',
      conversationId: robert.conversationId,
      step: { id: stepId, ...TRANSFER } as never,
      acr: 'bank',
      now: Math.floor(Date.now() / 1000),
    });
    const passkey = await enrolCustomerPasskey(system, enrolmentBase, { sessionId: robert.sessionId });
    await waitFor(async () => (await store.customers.get(robert.customerId))?.hasPasskey === true);

    const issued = await ask();
    expect(issued.status).toBe(200);
    const pivotToken = issued.body['token'] as string;
    expect(decodeJwt(pivotToken)).toMatchObject({ acr: 'channel', och: 'messenger', sub: pseudonym });

    // The page's attacker, with this token and no passkey: refused.
    expect((await postJson(system.vault.service, TRANSFER_CONFIRMATIONS_PATH, { pivotToken, decision: 'confirm' })).json()).toMatchObject({ error: { code: 'PASSKEY_REQUIRED' } });
    // Robert's one tap.
    expect((await answerWithPasskey(system.vault.service, passkey, TRANSFER_CONFIRMATIONS_PATH, { pivotToken, decision: 'confirm' })).statusCode).toBe(201);

    await waitFor(async () => (await store.sessions.get(robert.sessionId))?.acr === 'bank');
    const events = (await call(system.chat, 'GET', `/v1/agent/conversations/${robert.conversationId}/events?after=0`, { origin: CHAT, token: agentToken })).body['events'] as { kind: string; text?: string }[];
    const texts = events.map((e) => e.text ?? '');
    expect(texts).toContain('Transfer of €250.00 to A. Martin (…1234) confirmed · verified by passkey');
    expect(texts).toContain('Signed in with a passkey');
    expect(texts).toContain('A passkey was added for secure steps');
    // The code went to the phone (here: no platform is configured, so the agent is told it could
    // not); it is in no event.
    const code = system.delivered.map((d) => decodeJwt(d.notice)).find((n) => n['event'] === 'passkey_code')?.['code'] as string;
    expect(code).toMatch(/^[0-9]{6}$/);
    expect(JSON.stringify(events)).not.toContain(code);
    const summary = await store.conversations.summary(robert.conversationId);
    expect(summary).toMatchObject({ acr: 'bank', verifiedBy: 'passkey' });
  });
});

describe('where the enrolment code may go', () => {
  /** A web customer signed in with the bank, with an id_token carrying `claims`; the token of a new transfer step. */
  async function webCustomerToken(subject: string, claims: Record<string, unknown>) {
        const { token } = await newSession(system.chat);
    expect((await signIn(system.chat, token, subject, claims)).status).toBe(200);
    const { store } = system.chat.server.context;
    const session = await store.sessions.findByTokenHash(hashToken(token));
    const { conversation } = (await store.conversations.startForSession(session!.id))!;
    const agentToken = await agentSession(system.chat);
    const step = await call(system.chat, 'POST', `/v1/agent/conversations/${conversation.id}/steps`, { origin: CHAT, token: agentToken, body: TRANSFER });
    const res = await call(system.chat, 'POST', `/v1/steps/${step.body['stepId'] as string}/pivot-token`, { token });
    expect(res.status).toBe(200);
    return decodeJwt(res.body['token'] as string);
  }

  it('a web customer: by SMS to the phone the bank’s IdP verified (och sms), and nowhere when it is unverified or not E.164', async () => {
    expect(await webCustomerToken('web-phone', { phone_number: '+447700900123', phone_number_verified: true })).toMatchObject({ och: 'sms' });
    expect((await webCustomerToken('web-unverified', { phone_number: '+447700900124', phone_number_verified: false })).och).toBeUndefined();
    expect((await webCustomerToken('web-bad-phone', { phone_number: '07700 900125', phone_number_verified: true })).och).toBeUndefined();
    expect((await webCustomerToken('web-none', {})).och).toBeUndefined();
  });
});
