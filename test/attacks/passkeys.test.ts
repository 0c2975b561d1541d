/**
 * Only the customer answers: the attacks of an outside review on the vault's steps, each with
 * the stable code it must get. The attacker holds what a compromised bank page can obtain (the
 * customer's chat session, so any pivot token the chat server signs for it, at acr `bank` even)
 * and drives the vault from a non-browser client with a hand-written `Origin` header; it may run
 * a software authenticator of its own. It never sees the customer's messaging app, nor what is
 * inside the vault frame.
 *
 * The full system (real chat server + real vault) for the reviewer's exact request; a vault with
 * a fake clock and a local notice receiver for the ceremonies.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PASSKEY_CHALLENGE_TTL_S,
  PASSKEY_CHALLENGES_PATH,
  PASSKEY_CODE_MAX_ATTEMPTS,
  PASSKEY_ENROLMENT_TTL_S,
  PASSKEY_ENROLMENTS_PATH,
  PASSKEY_ENROLMENTS_PER_HOUR,
  PASSKEY_REGISTRATION_MAX_BODY_BYTES,
  PASSKEYS_PATH,
} from '../../protocol/passkeys.ts';
import { ADDRESSES_PATH, PAYEE_CONFIRMATIONS_PATH, TOKENS_PATH, TRANSFER_CONFIRMATIONS_PATH } from '../../protocol/steps/index.ts';
import { CHAT, call } from '../server/helpers.ts';
import { SoftAuthenticator } from '../lib/soft-authenticator.ts';
import { VAULT_ORIGIN, noticeReceiver, logCapture, pivotClaims, startVault, tokenizeBody, type NoticeReceiver, type VaultFixture } from '../vault/helpers.ts';
import { VAULT_RP_ID, challengeFor, codeSentFor, enrolPasskey, newAuthenticator, postJson } from '../vault/passkey-helpers.ts';
import { enrolCustomerPasskey, startPivotSystem, type PivotSystem } from './helpers.ts';

const TRANSFER_STEP = {
  id: 'stp_transfer0123456789',
  kind: 'transfer',
  amount: { minor: 95000, currency: 'EUR' },
  payee: { name: 'Mallory Ltd', accountLast4: '6666' },
  purpose: 'Invoice 77',
  reference: 'TRF-77',
};
const codeOf = (res: { json(): unknown }) => (res.json() as { error?: { code?: string } }).error?.code;

describe('the reviewer’s request: a pivot token alone answers nothing', () => {
  let system: PivotSystem;
  beforeAll(async () => {
    system = await startPivotSystem();
  });
  afterAll(() => system.close());

  /** A bank-level customer with an open step of `request`, and the token the page can get for it. */
  async function stepToken(request: object, subject: string) {
    const { agentToken, conversationId, customerToken } = await system.customerWithToken(subject);
    const created = await call(system.chat, 'POST', `/v1/agent/conversations/${conversationId}/steps`, { origin: CHAT, token: agentToken, body: request });
    const stepId = created.body['stepId'] as string;
    const res = await call(system.chat, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: customerToken });
    expect(res.status).toBe(200);
    return { agentToken, conversationId, pivotToken: res.body['token'] as string };
  }
  const completions = async (f: { conversationId: string; agentToken: string }) => {
    const page = await call(system.chat, 'GET', `/v1/agent/conversations/${f.conversationId}/events?after=0`, { origin: CHAT, token: f.agentToken });
    return (page.body['events'] as { kind: string }[]).filter((e) => e.kind === 'step_completed');
  };

  it('POST /v1/transfer-confirmations {pivotToken, decision: confirm} with a forged vault Origin: 403 PASSKEY_REQUIRED, nothing recorded', async () => {
    const { id: _id, ...request } = TRANSFER_STEP;
    const f = await stepToken(request, 'reviewer-transfer');
    const res = await postJson(system.vault.service, TRANSFER_CONFIRMATIONS_PATH, { pivotToken: f.pivotToken, decision: 'confirm' });
    expect(res.statusCode).toBe(403);
    expect(codeOf(res)).toBe('PASSKEY_REQUIRED');
    expect(await system.vault.service.db.selectFrom('transfer_answers').selectAll().execute()).toEqual([]);
    expect(await completions(f)).toEqual([]);
  });

  it('the same for an address change and a new payee', async () => {
    const address = await stepToken({ kind: 'address_change', purpose: 'New address', reference: 'ADR-9' }, 'reviewer-address');
    const res = await postJson(system.vault.service, ADDRESSES_PATH, {
      pivotToken: address.pivotToken,
      address: { lines: ['1 Attacker Road'], postcode: 'E1 1AA', city: 'London', country: 'GB' },
    });
    expect(codeOf(res)).toBe('PASSKEY_REQUIRED');
    const payee = await stepToken({ kind: 'payee_confirmation', payee: { name: 'Mallory Ltd', accountLast4: '6666' }, purpose: 'Add payee', reference: 'PAY-9' }, 'reviewer-payee');
    expect(codeOf(await postJson(system.vault.service, PAYEE_CONFIRMATIONS_PATH, { pivotToken: payee.pivotToken, decision: 'confirm' }))).toBe('PASSKEY_REQUIRED');
    expect(await completions(address)).toEqual([]);
    expect(await completions(payee)).toEqual([]);
  });

  it('a customer who holds a passkey: the bare token is refused even for a card payment', async () => {
    const f = await system.customerWithToken('reviewer-card');
    await enrolCustomerPasskey(system, f.pivotToken);
    const res = await postJson(system.vault.service, TOKENS_PATH, tokenizeBody(f.pivotToken));
    expect(codeOf(res)).toBe('PASSKEY_REQUIRED');
  });
});

describe('passkey ceremonies under attack', () => {
  let vault: VaultFixture;
  let receiver: NoticeReceiver;
  let notices: Record<string, unknown>[];
  const log = logCapture();
  // A fake clock, moved by the tests that need time to pass (the challenge and enrolment TTLs).
  let now = Date.now();
  const nowS = () => Math.floor(now / 1000);
  /** Claims valid at the fake clock's time. */
  const times = () => ({ iat: nowS(), nbf: nowS(), exp: nowS() + 120 });
  const claims = (overrides: Record<string, unknown> = {}) => pivotClaims({ ...times(), ...overrides });
  const token = (overrides: Record<string, unknown> = {}) => vault.issuer.sign(claims({ step: TRANSFER_STEP, ...overrides }));
  const confirm = (pivotToken: string, assertion?: unknown) =>
    postJson(vault.service, TRANSFER_CONFIRMATIONS_PATH, { pivotToken, decision: 'confirm', ...(assertion ? { assertion } : {}) });
  let victim: SoftAuthenticator;

  beforeAll(async () => {
    receiver = await noticeReceiver();
    notices = receiver.notices;
    vault = await startVault({ noticeUrl: receiver.noticeUrl, deps: { logStream: log.stream, clock: () => now } });
    victim = await enrolPasskey(vault, notices, 'cus_victim', newAuthenticator(), times());
  });
  afterAll(async () => {
    await vault.close();
    await receiver.close();
  });

  const startEnrolment = async (overrides: Record<string, unknown> = {}) => {
    const pivotToken = await token({ sub: 'cus_victim', och: 'messenger', ...overrides });
    const res = await postJson(vault.service, PASSKEY_ENROLMENTS_PATH, { pivotToken });
    return { res, pivotToken, body: res.json() as { enrolmentId: string; options: { challenge: string; user: { id: string } } } };
  };
  const passkeysOf = (subject: string) => vault.service.db.selectFrom('passkeys').selectAll().where('subject', '=', subject).execute();

  it('enrolment: the attacker’s own authenticator without the code sent to the customer’s phone is refused; no passkey is stored', async () => {
    const before = (await passkeysOf('cus_victim')).length;
    const { res, pivotToken, body } = await startEnrolment();
    expect(res.statusCode).toBe(201);
    // The code goes to the phone only: not in the answer, never in the log.
    const code = await codeSentFor(notices, decodeJwt(pivotToken).jti!);
    expect(res.body).not.toContain(code);
    expect(log.text()).not.toContain(`"${code}"`);
    const attacker = newAuthenticator();
    const credential = await attacker.register({ challenge: body.options.challenge, user: body.options.user });
    const guess = code === '000000' ? '000001' : '000000';
    const wrong = await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code: guess, credential });
    expect(codeOf(wrong)).toBe('PASSKEY_ENROLMENT_CODE_WRONG');
    expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, credential }))).toBe('BAD_REQUEST');
    expect((await passkeysOf('cus_victim')).length).toBe(before);
  });

  it(`enrolment: after PASSKEY_CODE_MAX_ATTEMPTS (${PASSKEY_CODE_MAX_ATTEMPTS}) wrong codes even the right one is refused`, async () => {
    const { pivotToken, body } = await startEnrolment();
    const code = await codeSentFor(notices, decodeJwt(pivotToken).jti!);
    const credential = await newAuthenticator().register({ challenge: body.options.challenge, user: body.options.user });
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < PASSKEY_CODE_MAX_ATTEMPTS; i++) {
      expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code: wrong, credential }))).toBe('PASSKEY_ENROLMENT_CODE_WRONG');
    }
    expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code, credential }))).toBe('PASSKEY_ENROLMENT_INVALID');
  });

  it('enrolment: needs acr bank and a messaging app for the code; an expired enrolment is refused', async () => {
    expect(codeOf((await startEnrolment({ acr: 'channel' })).res)).toBe('PASSKEY_ENROLMENT_REQUIRES_BANK');
    expect(codeOf((await startEnrolment({ och: undefined })).res)).toBe('PASSKEY_ENROLMENT_UNAVAILABLE');
    const { pivotToken, body } = await startEnrolment({ sub: 'cus_slow' });
    const code = await codeSentFor(notices, decodeJwt(pivotToken).jti!);
    const credential = await newAuthenticator().register({ challenge: body.options.challenge, user: body.options.user });
    now += PASSKEY_ENROLMENT_TTL_S * 1000;
    const late = await postJson(vault.service, PASSKEYS_PATH, { pivotToken: await token({ sub: 'cus_slow' }), enrolmentId: body.enrolmentId, code, credential });
    expect(codeOf(late)).toBe('PASSKEY_ENROLMENT_INVALID');
    expect(await passkeysOf('cus_slow')).toEqual([]);
  });

  it(`enrolment: at most PASSKEY_ENROLMENTS_PER_HOUR (${PASSKEY_ENROLMENTS_PER_HOUR}) starts per customer (each sends a message)`, async () => {
    for (let i = 0; i < PASSKEY_ENROLMENTS_PER_HOUR; i++) expect((await startEnrolment({ sub: 'cus_spam' })).res.statusCode).toBe(201);
    expect(codeOf((await startEnrolment({ sub: 'cus_spam' })).res)).toBe('RATE_LIMITED');
  });

  it('enrolment: a malformed clientDataJSON, an unknown enrolment, an oversized attestation: clear codes, nothing half-stored', async () => {
    const { pivotToken, body } = await startEnrolment({ sub: 'cus_malformed' });
    const code = await codeSentFor(notices, decodeJwt(pivotToken).jti!);
    const credential = await newAuthenticator().register({ challenge: body.options.challenge, user: body.options.user });
    const broken = { ...credential, response: { ...credential.response, clientDataJSON: Buffer.from('{not json').toString('base64url') } };
    expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code, credential: broken }))).toBe('PASSKEY_ASSERTION_INVALID');
    expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: 'enr_unknownunknownunknown', code, credential }))).toBe('PASSKEY_ENROLMENT_INVALID');
    const huge = { ...credential, response: { ...credential.response, attestationObject: 'A'.repeat(PASSKEY_REGISTRATION_MAX_BODY_BYTES) } };
    expect(codeOf(await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code, credential: huge }))).toBe('BODY_TOO_LARGE');
    expect(await passkeysOf('cus_malformed')).toEqual([]);
    // The genuine attempt still works: none of the above used the enrolment up.
    expect((await postJson(vault.service, PASSKEYS_PATH, { pivotToken, enrolmentId: body.enrolmentId, code, credential })).statusCode).toBe(201);
    expect(await passkeysOf('cus_malformed')).toHaveLength(1);
  });

  it('a replayed assertion is refused (PASSKEY_CHALLENGE_INVALID): its challenge is used, and a new token of the same step has its own', async () => {
    const first = await token({ sub: 'cus_victim' });
    const assertion = await victim.assert({ challenge: await challengeFor(vault.service, first) });
    expect((await confirm(first, assertion)).statusCode).toBe(201);
    expect(codeOf(await confirm(first, assertion))).toBe('PASSKEY_CHALLENGE_INVALID');
    // With a fresh challenge the used token is still refused by its own replay guard.
    const again = await victim.assert({ challenge: await challengeFor(vault.service, first) });
    expect(codeOf(await confirm(first, again))).toBe('TOKEN_REPLAYED');
    const second = await token({ sub: 'cus_victim' });
    await challengeFor(vault.service, second);
    expect(codeOf(await confirm(second, assertion))).toBe('PASSKEY_CHALLENGE_INVALID');
  });

  it('an assertion made for another step is refused (PASSKEY_CHALLENGE_INVALID): the challenge commits to the step', async () => {
    const small = await token({ sub: 'cus_victim', step: { ...TRANSFER_STEP, id: 'stp_smallsmall0123456789', amount: { minor: 500, currency: 'EUR' } } });
    const assertion = await victim.assert({ challenge: await challengeFor(vault.service, small) });
    const big = await token({ sub: 'cus_victim' });
    expect(codeOf(await confirm(big, assertion))).toBe('PASSKEY_CHALLENGE_INVALID');
  });

  it('another customer’s credential, an unknown credential id: PASSKEY_CREDENTIAL_UNKNOWN', async () => {
    const other = await enrolPasskey(vault, notices, 'cus_other', newAuthenticator(), times());
    const pivotToken = await token({ sub: 'cus_victim' });
    const challenge = await challengeFor(vault.service, pivotToken);
    expect(codeOf(await confirm(pivotToken, await other.assert({ challenge })))).toBe('PASSKEY_CREDENTIAL_UNKNOWN');
    const unknown = await victim.assert({ challenge, credentialId: Buffer.alloc(32, 7).toString('base64url') });
    expect(codeOf(await confirm(pivotToken, unknown))).toBe('PASSKEY_CREDENTIAL_UNKNOWN');
  });

  it('user verification false: PASSKEY_USER_NOT_VERIFIED', async () => {
    const pivotToken = await token({ sub: 'cus_victim' });
    const assertion = await victim.assert({ challenge: await challengeFor(vault.service, pivotToken), userVerification: false });
    expect(codeOf(await confirm(pivotToken, assertion))).toBe('PASSKEY_USER_NOT_VERIFIED');
  });

  it('a wrong origin or rpId: PASSKEY_ORIGIN_MISMATCH', async () => {
    const pivotToken = await token({ sub: 'cus_victim' });
    const challenge = await challengeFor(vault.service, pivotToken);
    expect(codeOf(await confirm(pivotToken, await victim.assert({ challenge, origin: 'http://bank.localhost:8080' })))).toBe('PASSKEY_ORIGIN_MISMATCH');
    expect(codeOf(await confirm(pivotToken, await victim.assert({ challenge, rpId: 'bank.localhost' })))).toBe('PASSKEY_ORIGIN_MISMATCH');
  });

  it('a signature counter that goes backwards: PASSKEY_COUNTER_REGRESSED (a cloned authenticator)', async () => {
    const ok = await token({ sub: 'cus_victim' });
    expect((await confirm(ok, await victim.assert({ challenge: await challengeFor(vault.service, ok), counter: 50 }))).statusCode).toBe(201);
    const clone = await token({ sub: 'cus_victim' });
    expect(codeOf(await confirm(clone, await victim.assert({ challenge: await challengeFor(vault.service, clone), counter: 20 })))).toBe('PASSKEY_COUNTER_REGRESSED');
  });

  it('a forged signature, a malformed clientDataJSON: PASSKEY_ASSERTION_INVALID', async () => {
    const pivotToken = await token({ sub: 'cus_victim' });
    const challenge = await challengeFor(vault.service, pivotToken);
    // Past the counter the test above left (50): only the signature or the client data is wrong.
    const genuine = await victim.assert({ challenge, counter: 1000 });
    const forged = { ...genuine, response: { ...genuine.response, signature: Buffer.alloc(70, 1).toString('base64url') } };
    expect(codeOf(await confirm(pivotToken, forged))).toBe('PASSKEY_ASSERTION_INVALID');
    const broken = { ...genuine, response: { ...genuine.response, clientDataJSON: 'bm90LWpzb24' } };
    expect(codeOf(await confirm(pivotToken, broken))).toBe('PASSKEY_ASSERTION_INVALID');
  });

  it(`a challenge older than PASSKEY_CHALLENGE_TTL_S (${PASSKEY_CHALLENGE_TTL_S} s): PASSKEY_CHALLENGE_INVALID`, async () => {
    const pivotToken = await token({ sub: 'cus_victim', exp: nowS() + 290 });
    const assertion = await victim.assert({ challenge: await challengeFor(vault.service, pivotToken) });
    now += PASSKEY_CHALLENGE_TTL_S * 1000;
    expect(codeOf(await confirm(pivotToken, assertion))).toBe('PASSKEY_CHALLENGE_INVALID');
  });

  it('a token below the step’s level (acr channel) answers only with the passkey, which then counts as the sign-in', async () => {
    const withoutPasskey = await token({ sub: 'cus_victim', acr: 'channel' });
    expect(codeOf(await confirm(withoutPasskey))).toBe('PASSKEY_REQUIRED');
    const oneTap = await token({ sub: 'cus_victim', acr: 'channel' });
    const res = await confirm(oneTap, await victim.assert({ challenge: await challengeFor(vault.service, oneTap), counter: 2000 }));
    expect(res.statusCode).toBe(201);
    const ptj = decodeJwt(oneTap).jti;
    await expect.poll(() => notices.find((n) => n.ptj === ptj)).toMatchObject({ event: 'transfer_confirmed', verified: 'passkey' });
  });

  it('a customer with no passkey: the challenge route says {enrolled: false}; a card payment passes on the bank sign-in (policy `bank`), verified: bank', async () => {
    const pivotToken = await vault.issuer.sign(claims({ sub: 'cus_new' }));
    const none = await postJson(vault.service, PASSKEY_CHALLENGES_PATH, { pivotToken });
    expect([none.statusCode, none.json()]).toEqual([200, { enrolled: false }]);
    expect((await postJson(vault.service, TOKENS_PATH, tokenizeBody(pivotToken))).statusCode).toBe(201);
    const ptj = decodeJwt(pivotToken).jti;
    await expect.poll(() => notices.find((n) => n.ptj === ptj)).toMatchObject({ event: 'card_tokenized', verified: 'bank' });
  });

  it('VAULT_PASSKEY_REQUIRED_FOR tightens the bank\'s policy: a card payment from a customer without a passkey is then PASSKEY_REQUIRED', async () => {
    const strict = await startVault({ deps: { logStream: logCapture().stream, clock: () => now } , passkeyRequiredFor: ['card_payment'] });
    try {
      const pivotToken = await strict.issuer.sign(claims({ sub: 'cus_strict' }));
      expect(codeOf(await postJson(strict.service, TOKENS_PATH, tokenizeBody(pivotToken)))).toBe('PASSKEY_REQUIRED');
    } finally {
      await strict.close();
    }
  });

  it('the relying party is the vault: its host name is the rpId of every ceremony', async () => {
    const { body } = await startEnrolment({ sub: 'cus_rp' });
    expect(body.options).toMatchObject({ rp: { id: VAULT_RP_ID }, authenticatorSelection: { residentKey: 'required', userVerification: 'required' } });
    expect(new URL(VAULT_ORIGIN).hostname).toBe(VAULT_RP_ID);
  });
});
