/**
 * POST /v1/payee-confirmations: the fourth step kind, added through the registry (real HTTP
 * injection, real SQLite, real crypto, real notices to a local receiver).
 */
import { decodeJwt } from 'jose';
import { describe, expect } from 'vitest';
import { PAYEE_CONFIRMATION_MAX_BODY_BYTES, PAYEE_CONFIRMATIONS_PATH } from '../../../../protocol/steps/index.ts';
import { answerWithPasskey, enrolPasskey } from '../../passkey-helpers.ts';
import { VAULT_ORIGIN, postTokens, pivotClaims, tokenizeBody, vaultTest, waitFor } from '../../helpers.ts';

const PAYEE_STEP = {
  id: 'stp_payee0123456789abcd',
  kind: 'payee_confirmation',
  payee: { name: 'B. Okafor', accountLast4: '9876' },
  purpose: 'Add a payee for your rent',
  reference: 'PAY-3',
};
const TRANSFER_STEP = { ...PAYEE_STEP, id: 'stp_transfer0123456789', kind: 'transfer', amount: { minor: 25000, currency: 'EUR' } };

/** The file's vault sends its notices to `receiver`; its customer has enrolled a passkey. */
const it = vaultTest
  .override('vaultSetup', { scope: 'file' }, ({ receiver }) => ({ noticeUrl: receiver.noticeUrl }))
  .extend('passkey', { scope: 'file' }, ({ vault, receiver }) => enrolPasskey(vault, receiver.notices))
  .extend('payee', { scope: 'file' }, ({ vault, passkey }) => {
    const token = (step: object, overrides: Record<string, unknown> = {}) => vault.issuer.sign(pivotClaims({ step, ...overrides }));
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      vault.service.app.inject({
        method: 'POST',
        url: PAYEE_CONFIRMATIONS_PATH,
        headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const answer = async (decision: string, pivotToken?: string) =>
      answerWithPasskey(vault, passkey, PAYEE_CONFIRMATIONS_PATH, { pivotToken: pivotToken ?? (await token(PAYEE_STEP)), decision });
    return { token, post, answer };
  });
const codeOf = (res: { json(): unknown }) => (res.json() as { error?: { code?: string } }).error?.code;

describe('POST /v1/payee-confirmations', () => {
  it('records a confirmation once, with the signed payee, audits it and notifies the chat', async ({ vault, receiver: { notices }, payee: { token, answer } }) => {
    const pivotToken = await token(PAYEE_STEP);
    const res = await answer('confirm', pivotToken);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ outcome: 'confirmed' });
    const jti = decodeJwt(pivotToken).jti!;
    const row = await vault.service.db.selectFrom('payee_answers').selectAll().where('pivot_jti', '=', jti).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ outcome: 'confirmed', payee_name: 'B. Okafor', payee_last4: '9876', step_id: PAYEE_STEP.id });
    await waitFor(() => notices.some((n) => n['ptj'] === jti));
    expect(notices.find((n) => n['ptj'] === jti)).toMatchObject({ event: 'payee_confirmed', payee: { payee: { name: 'B. Okafor', accountLast4: '9876' } }, stp: PAYEE_STEP.id });
    expect((await vault.service.audit.list()).filter((e) => e.action === 'payee.confirm' && e.resource === row.id)).toHaveLength(1);
    expect((await vault.service.audit.verify()).ok).toBe(true);
    for (const decision of ['confirm', 'decline']) {
      const again = await answer(decision, pivotToken);
      expect(again.statusCode).toBe(409);
      expect(codeOf(again)).toBe('TOKEN_REPLAYED');
    }
  });

  it('records a decline', async ({ receiver: { notices }, payee: { token, answer } }) => {
    const pivotToken = await token(PAYEE_STEP);
    expect((await answer('decline', pivotToken)).json()).toEqual({ outcome: 'declined' });
    const jti = decodeJwt(pivotToken).jti!;
    await waitFor(() => notices.some((n) => n['ptj'] === jti));
    expect(notices.find((n) => n['ptj'] === jti)).toMatchObject({ event: 'payee_declined' });
  });

  it('takes no token of another kind, and its token works nowhere else', async ({ vault, payee: { token, answer } }) => {
    const transfer = await answer('confirm', await token(TRANSFER_STEP));
    expect(transfer.statusCode).toBe(403);
    expect(codeOf(transfer)).toBe('TOKEN_STEP_KIND_MISMATCH');
    expect(codeOf(await postTokens(vault.service, tokenizeBody(await token(PAYEE_STEP))))).toBe('TOKEN_STEP_KIND_MISMATCH');
    const atTransfers = await vault.service.app.inject({
      method: 'POST',
      url: '/v1/transfer-confirmations',
      headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json' },
      payload: JSON.stringify({ pivotToken: await token(PAYEE_STEP), decision: 'confirm' }),
    });
    expect(codeOf(atTransfers)).toBe('TOKEN_STEP_KIND_MISMATCH');
  });

  it(`refuses a foreign Origin, a bad decision, and a body over PAYEE_CONFIRMATION_MAX_BODY_BYTES (${PAYEE_CONFIRMATION_MAX_BODY_BYTES})`, async ({ payee: { token, post, answer } }) => {
    expect(codeOf(await post({ pivotToken: await token(PAYEE_STEP), decision: 'confirm' }, { origin: 'http://bank.localhost:8080' }))).toBe('ORIGIN_NOT_ALLOWED');
    expect(codeOf(await answer('maybe'))).toBe('BAD_REQUEST');
    const pivotToken = await token(PAYEE_STEP);
    const big = JSON.stringify({ pivotToken, decision: 'confirm', pad: 'x'.repeat(PAYEE_CONFIRMATION_MAX_BODY_BYTES) });
    expect(codeOf(await post(big))).toBe('BODY_TOO_LARGE');
    // The token was not consumed by any of these.
    expect((await answer('confirm', pivotToken)).statusCode).toBe(201);
  });

  it('refuses a payee token whose step lacks the payee (claims schema)', async ({ payee: { token, answer } }) => {
    const { payee: _payee, ...withoutPayee } = PAYEE_STEP;
    const res = await answer('confirm', await token(withoutPayee));
    expect(res.statusCode).toBe(401);
    expect(codeOf(res)).toBe('TOKEN_CLAIM_INVALID');
  });
});
