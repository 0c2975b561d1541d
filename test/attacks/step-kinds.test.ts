/**
 * Address changes and transfer confirmations end to end, and the attacks on them, with the REAL
 * chat server wired to the REAL vault service: the agent creates the step, the chat server signs
 * the pivot token (policy-gated), the vault stores the answer and delivers its signed notice, the
 * chat server appends `step_completed`. Then: tokens used at another kind's endpoint, replayed
 * tokens and notices, a notice whose transfer differs from the step, sessions without `bank`.
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrAtLeast } from '../../protocol/pivot-token.ts';
import { requiredAcrFor } from '../../server/steps/index.ts';
import { signNotice } from '../../vault/service/notices/outbox.ts';
import { VAULT_ORIGIN, postTokens, tokenizeBody, waitFor } from '../vault/helpers.ts';
import { CHAT, agentSession, call, customerSession } from '../server/helpers.ts';
import { enrolCustomerPasskey, startPivotSystem, type PivotSystem } from './helpers.ts';
import { answerWithPasskey } from '../vault/passkey-helpers.ts';
import type { SoftAuthenticator } from '../lib/soft-authenticator.ts';

let system: PivotSystem;
beforeAll(async () => {
  system = await startPivotSystem();
});
afterAll(() => system.close());

const ADDRESS_REQUEST = { kind: 'address_change', purpose: 'Your new home address', reference: 'ADR-1' };
const TRANSFER_REQUEST = {
  kind: 'transfer',
  amount: { minor: 25000, currency: 'EUR' },
  payee: { name: 'A. Martin', accountLast4: '1234' },
  purpose: 'Rent for May',
  reference: 'TRF-1',
};
const codeOf = (res: { body: Record<string, unknown> }) => (res.body['error'] as { code?: string } | undefined)?.code;
let customers = 0;

/** A bank-signed-in customer with an open step of the requested kind, and its pivot token. */
async function stepWithToken(request: object) {
  const agentToken = await agentSession(system.chat);
  const { token: customerToken, conversationId } = await customerSession(system.chat, `kinds${++customers}`);
  const created = await call(system.chat, 'POST', `/v1/agent/conversations/${conversationId}/steps`, { origin: CHAT, token: agentToken, body: request });
  expect(created.status).toBe(201);
  const stepId = created.body['stepId'] as string;
  const res = await call(system.chat, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: customerToken });
  expect(res.status).toBe(200);
  const pivotToken = res.body['token'] as string;
  // These kinds are answered with the customer's passkey (protocol/passkeys.ts).
  const passkey = await enrolCustomerPasskey(system, pivotToken);
  return { agentToken, customerToken, conversationId, stepId, pivotToken, passkey };
}

async function events(f: { conversationId: string; agentToken: string }) {
  const page = await call(system.chat, 'GET', `/v1/agent/conversations/${f.conversationId}/events?after=0`, { origin: CHAT, token: f.agentToken });
  return page.body['events'] as Record<string, unknown>[];
}

/** The customer's answer, as the frame sends it: with their passkey's assertion for this step. */
const vaultPost = (url: string, body: { pivotToken: string } & Record<string, unknown>, passkey: SoftAuthenticator) =>
  answerWithPasskey(system.vault.service, passkey, url, body);

/** Wait until the vault delivered the notice closing `pivotToken`, and return it. */
async function deliveredFor(pivotToken: string): Promise<string> {
  const ptj = decodeJwt(pivotToken).jti;
  await waitFor(() => system.delivered.some((d) => decodeJwt(d.notice)['ptj'] === ptj && d.status === 200));
  return system.delivered.find((d) => decodeJwt(d.notice)['ptj'] === ptj)!.notice;
}

describe('address change, end to end', () => {
  it('the agent sees "Address change received: Lyon, FR" and nothing more of the address', async () => {
    const f = await stepWithToken(ADDRESS_REQUEST);
    const stepEvent = (await events(f)).find((e) => e['kind'] === 'step');
    expect(stepEvent?.['step']).toEqual({ id: f.stepId, ...ADDRESS_REQUEST });
    const res = await vaultPost('/v1/addresses', {
      pivotToken: f.pivotToken,
      address: { lines: ['12 Rue de la République'], postcode: '69002', city: 'Lyon', country: 'FR' },
    }, f.passkey);
    expect(res.statusCode).toBe(201);
    const notice = await deliveredFor(f.pivotToken);
    const completed = (await events(f)).filter((e) => e['kind'] === 'step_completed');
    expect(completed).toEqual([
      expect.objectContaining({ stepId: f.stepId, stepKind: 'address_change', address: { city: 'Lyon', country: 'FR' }, text: 'Address change received: Lyon, FR · verified by passkey' }),
    ]);
    expect(JSON.stringify(await events(f))).not.toMatch(/République|69002/);

    // attack: replaying the genuine notice
    const replay = await call(system.chat, 'POST', '/v1/vault/notices', { body: { notice }, origin: null });
    expect(replay.status).toBe(409);
    expect(codeOf(replay)).toBe('NOTICE_REPLAYED');
    expect((await events(f)).filter((e) => e['kind'] === 'step_completed')).toHaveLength(1);
  });
});

describe('transfer confirmation, end to end', () => {
  it('the agent sees "Transfer of €250.00 to A. Martin (…1234) confirmed · verified by passkey"', async () => {
    const f = await stepWithToken(TRANSFER_REQUEST);
    expect(decodeJwt(f.pivotToken)['step']).toEqual({ id: f.stepId, ...TRANSFER_REQUEST });
    expect((await vaultPost('/v1/transfer-confirmations', { pivotToken: f.pivotToken, decision: 'confirm' }, f.passkey)).statusCode).toBe(201);
    await deliveredFor(f.pivotToken);
    const completed = (await events(f)).filter((e) => e['kind'] === 'step_completed');
    expect(completed).toEqual([
      expect.objectContaining({ stepKind: 'transfer', transfer: { outcome: 'confirmed' }, text: 'Transfer of €250.00 to A. Martin (…1234) confirmed · verified by passkey' }),
    ]);
    // The step is done: no new token for it.
    const again = await call(system.chat, 'POST', `/v1/steps/${f.stepId}/pivot-token`, { token: f.customerToken });
    expect(codeOf(again)).toBe('STEP_ALREADY_COMPLETED');
  });

  it('a decline reads "… declined"', async () => {
    const f = await stepWithToken(TRANSFER_REQUEST);
    expect((await vaultPost('/v1/transfer-confirmations', { pivotToken: f.pivotToken, decision: 'decline' }, f.passkey)).statusCode).toBe(201);
    await deliveredFor(f.pivotToken);
    const completed = (await events(f)).find((e) => e['kind'] === 'step_completed');
    expect(completed?.['text']).toBe('Transfer of €250.00 to A. Martin (…1234) declined · verified by passkey');
  });
});

describe('attack: a token used at another kind’s endpoint', () => {
  it('card, address and transfer tokens from the chat server work only at their own endpoint', async () => {
    const card = await system.customerWithToken();
    const address = await stepWithToken(ADDRESS_REQUEST);
    const transfer = await stepWithToken(TRANSFER_REQUEST);
    const addressBody = (pivotToken: string) => ({ pivotToken, address: { lines: ['1 Main St'], postcode: '10115', city: 'Berlin', country: 'DE' } });
    const attempts = [
      await vaultPost('/v1/addresses', addressBody(card.pivotToken), address.passkey),
      await vaultPost('/v1/transfer-confirmations', { pivotToken: card.pivotToken, decision: 'confirm' }, transfer.passkey),
      await vaultPost('/v1/transfer-confirmations', { pivotToken: address.pivotToken, decision: 'confirm' }, address.passkey),
      await vaultPost('/v1/tokens', tokenizeBody(address.pivotToken), address.passkey),
      await vaultPost('/v1/tokens', tokenizeBody(transfer.pivotToken), transfer.passkey),
      await vaultPost('/v1/addresses', addressBody(transfer.pivotToken), transfer.passkey),
    ];
    for (const res of attempts) {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'TOKEN_STEP_KIND_MISMATCH' } });
    }
    // None was consumed: each still works where it belongs.
    expect((await postTokens(system.vault.service, tokenizeBody(card.pivotToken))).statusCode).toBe(201);
    expect((await vaultPost('/v1/addresses', addressBody(address.pivotToken), address.passkey)).statusCode).toBe(201);
    expect((await vaultPost('/v1/transfer-confirmations', { pivotToken: transfer.pivotToken, decision: 'decline' }, transfer.passkey)).statusCode).toBe(201);
  });
});

describe('attack: a vault-signed notice whose result does not match the step', () => {
  it('a transfer notice with another amount or payee, or an address notice for a transfer step, is NOTICE_INVALID', async () => {
    const f = await stepWithToken(TRANSFER_REQUEST);
    const base = {
      iss: VAULT_ORIGIN,
      aud: CHAT,
      cnv: f.conversationId,
      stp: f.stepId,
      ptj: decodeJwt(f.pivotToken).jti!,
    };
    const jti = () => `ntc_${randomBytes(16).toString('base64url')}`;
    const forged = [
      { ...base, jti: jti(), event: 'transfer_confirmed' as const, transfer: { amount: { minor: 2500000, currency: 'EUR' }, payee: TRANSFER_REQUEST.payee } },
      { ...base, jti: jti(), event: 'transfer_confirmed' as const, transfer: { amount: TRANSFER_REQUEST.amount, payee: { name: 'M. Mallory', accountLast4: '9999' } } },
      { ...base, jti: jti(), event: 'address_changed' as const, address: { city: 'Lyon', country: 'FR' } },
    ];
    for (const claims of forged) {
      const notice = await signNotice(claims, system.vault.service.keys, Math.floor(Date.now() / 1000));
      const res = await call(system.chat, 'POST', '/v1/vault/notices', { body: { notice }, origin: null });
      expect(res.status).toBe(401);
      expect(codeOf(res)).toBe('NOTICE_INVALID');
    }
    expect((await events(f)).filter((e) => e['kind'] === 'step_completed')).toHaveLength(0);
  });
});

describe('policy and requests', () => {
  it('both kinds need acr bank: a session below it gets STEP_UP_REQUIRED', async () => {
    expect(requiredAcrFor('address_change')).toBe('bank');
    expect(requiredAcrFor('transfer')).toBe('bank');
    expect(acrAtLeast('channel', requiredAcrFor('transfer'))).toBe(false);
    const agentToken = await agentSession(system.chat);
    const { token, conversationId, acr } = await customerSession(system.chat);
    expect(acr).not.toBe('bank');
    for (const request of [ADDRESS_REQUEST, TRANSFER_REQUEST]) {
      const created = await call(system.chat, 'POST', `/v1/agent/conversations/${conversationId}/steps`, { origin: CHAT, token: agentToken, body: request });
      expect(created.body['stepId']).toBeTypeOf('string');
      const res = await call(system.chat, 'POST', `/v1/steps/${created.body['stepId'] as string}/pivot-token`, { token });
      expect(res.status).toBe(403);
      expect(codeOf(res)).toBe('STEP_UP_REQUIRED');
    }
  });

  it('refuses step requests that mix the kinds’ fields', async () => {
    const agentToken = await agentSession(system.chat);
    const { conversationId } = await customerSession(system.chat, 'mixer');
    const bad = [
      { ...ADDRESS_REQUEST, amount: { minor: 100, currency: 'EUR' } },
      { ...TRANSFER_REQUEST, payee: undefined },
      { ...TRANSFER_REQUEST, payee: { name: 'A. Martin', accountLast4: '12' } },
      { ...TRANSFER_REQUEST, payee: { ...TRANSFER_REQUEST.payee, iban: 'FR7630006000011234567890189' } },
      { ...TRANSFER_REQUEST, kind: 'wire' },
    ];
    for (const body of bad) {
      const res = await call(system.chat, 'POST', `/v1/agent/conversations/${conversationId}/steps`, { origin: CHAT, token: agentToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(codeOf(res)).toBe('BAD_REQUEST');
    }
  });
});
