/**
 * The vault endpoints of the steps beyond card payments: POST /v1/addresses and
 * POST /v1/transfer-confirmations (real HTTP injection, real SQLite, real crypto, real notices
 * to a local receiver).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect } from 'vitest';
import { ADDRESS_MAX_BODY_BYTES, TRANSFER_CONFIRMATION_MAX_BODY_BYTES } from '../../../../protocol/vault-api.ts';
import { openJson } from '../../../../vault/service/keys/card-crypto.ts';
import { MAX_ATTEMPTS_PER_PIVOT_TOKEN } from '../../../../vault/service/steps/rate-limit.ts';
import { checkAddress } from '../../../../vault/shared/address.ts';
import { VAULT_ORIGIN, logCapture, nowS, pivotClaims, postTokens, tokenizeBody, vaultTest, waitFor } from '../../helpers.ts';
import { secretsIn } from '../../../secret-scan.ts';
import { answerWithPasskey, enrolPasskey } from '../../passkey-helpers.ts';

const log = logCapture();

const ADDRESS_STEP = { id: 'stp_address0123456789', kind: 'address_change', purpose: 'Update your postal address', reference: 'ADR-7' };
const TRANSFER_STEP = {
  id: 'stp_transfer0123456789',
  kind: 'transfer',
  amount: { minor: 25000, currency: 'EUR' },
  payee: { name: 'A. Martin', accountLast4: '1234' },
  purpose: 'Rent for May',
  reference: 'TRF-9',
};
const ADDRESS = { lines: ['12 Rue de la République', 'Bâtiment B'], postcode: '69002', city: 'Lyon', country: 'fr' };

const codeOf = (res: { json(): unknown }) => (res.json() as { error?: { code?: string } }).error?.code;

/** The file's vault sends its notices to `receiver` and logs to `log`; its customer has enrolled a passkey. */
const it = vaultTest
  .override('vaultSetup', { scope: 'file' }, ({ receiver }) => ({ noticeUrl: receiver.noticeUrl, deps: { logStream: log.stream } }))
  .extend('passkey', { scope: 'file' }, ({ vault, receiver }) => enrolPasskey(vault, receiver.notices))
  .extend('steps', { scope: 'file' }, ({ vault, passkey }) => {
    const token = (step: object, overrides: Record<string, unknown> = {}) => vault.issuer.sign(pivotClaims({ step, ...overrides }));
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      vault.service.app.inject({
        method: 'POST',
        url,
        headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json', ...headers },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const postAddress = async (address: object = ADDRESS, pivotToken?: string) =>
      answerWithPasskey(vault, passkey, '/v1/addresses', { pivotToken: pivotToken ?? (await token(ADDRESS_STEP)), address });
    const postAnswer = async (decision: string, pivotToken?: string) =>
      answerWithPasskey(vault, passkey, '/v1/transfer-confirmations', { pivotToken: pivotToken ?? (await token(TRANSFER_STEP)), decision });
    const dbBytes = (): string =>
      Buffer.concat(
        readdirSync(vault.dataDir)
          .filter((f) => f.startsWith('vault.db'))
          .map((f) => readFileSync(join(vault.dataDir, f))),
      ).toString('utf8');
    return { token, post, postAddress, postAnswer, dbBytes };
  });

describe('POST /v1/addresses', () => {
  it('stores the address sealed, answers city and country only, and notifies the chat', async ({ vault, receiver: { notices }, passkey, steps: { token, postAddress } }) => {
    const pivotToken = await token(ADDRESS_STEP);
    const res = await postAddress({ ...ADDRESS, lines: ['7 Quai Claude Bernard'], postcode: '69007' }, pivotToken);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ city: 'Lyon', country: 'FR' });
    const jti = decodeJwt(pivotToken).jti!;
    const row = await vault.service.db.selectFrom('addresses').selectAll().where('pivot_jti', '=', jti).executeTakeFirstOrThrow();
    const key = await vault.service.keys.getDataKey(row.key_id);
    expect(openJson({ keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, tag: row.auth_tag }, row.id, key)).toEqual({
      lines: ['7 Quai Claude Bernard'],
      postcode: '69007',
      city: 'Lyon',
      country: 'FR',
    });
    // Bound to its record id: the ciphertext does not open as another row's.
    expect(() => openJson({ keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, tag: row.auth_tag }, 'adr_other', key)).toThrow();
    await waitFor(() => notices.some((n) => n['ptj'] === jti));
    const notice = notices.find((n) => n['ptj'] === jti)!;
    expect(notice).toMatchObject({ event: 'address_changed', address: { city: 'Lyon', country: 'FR' }, stp: ADDRESS_STEP.id, verified: 'passkey' });
    expect(JSON.stringify(notice)).not.toContain('Quai');
    expect(secretsIn(JSON.stringify(notice), ['69007'])).toEqual([]); // not inside iat/exp by chance
    // The audit trail records the change by record id, in the same transaction, with no address field.
    const entries = await vault.service.audit.list();
    const entry = entries.find((e) => e.action === 'address.change' && e.resource === row.id);
    expect(entry).toMatchObject({ outcome: 'success', actor: { kind: 'customer' } });
    expect(entry?.detail).toBe(`step=${ADDRESS_STEP.id} verified=passkey passkey=${passkey.credentialId}`);
    expect(JSON.stringify(entries)).not.toContain('Quai');
    expect((await vault.service.audit.verify()).ok).toBe(true);
  });

  it('keeps no part of the street or postcode in clear in the database files, nor in the log', async ({ vault, steps: { postAddress, dbBytes } }) => {
    const street = '221 Avenue Jean Jaurès';
    const res = await postAddress({ lines: [street], postcode: '69362', city: 'Villeurbanne', country: 'FR' });
    expect(res.statusCode).toBe(201);
    await waitFor(async () => (await vault.service.db.selectFrom('notice_outbox').selectAll().execute()).length === 0);
    const bytes = dbBytes();
    expect(secretsIn(bytes, [street, 'Jean Jaur', '69362', 'Rue de la R'])).toEqual([]);
    const lines = log.text();
    expect(secretsIn(lines, [street, '69362', 'Villeurbanne'])).toEqual([]);
    expect(lines).toContain('address stored');
  });

  it('refuses a second use of the same token (TOKEN_REPLAYED)', async ({ steps: { token, postAddress } }) => {
    const pivotToken = await token(ADDRESS_STEP);
    expect((await postAddress(ADDRESS, pivotToken)).statusCode).toBe(201);
    const again = await postAddress(ADDRESS, pivotToken);
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('TOKEN_REPLAYED');
  });

  it('refuses a card-payment or transfer token (TOKEN_STEP_KIND_MISMATCH), without consuming it', async ({ vault, passkey, steps: { token, postAddress } }) => {
    const cardToken = await vault.issuer.sign(pivotClaims());
    const res = await postAddress(ADDRESS, cardToken);
    expect(res.statusCode).toBe(403);
    expect(codeOf(res)).toBe('TOKEN_STEP_KIND_MISMATCH');
    expect(codeOf(await postAddress(ADDRESS, await token(TRANSFER_STEP)))).toBe('TOKEN_STEP_KIND_MISMATCH');
    // The card token still works where it belongs (with the customer's passkey, which they hold).
    expect((await answerWithPasskey(vault, passkey, '/v1/tokens', tokenizeBody(cardToken))).statusCode).toBe(201);
  });

  it('refuses an expired token', async ({ steps: { token, postAddress } }) => {
    const res = await postAddress(ADDRESS, await token(ADDRESS_STEP, { iat: nowS() - 400, nbf: nowS() - 400, exp: nowS() - 300 }));
    expect(res.statusCode).toBe(401);
    expect(codeOf(res)).toBe('TOKEN_EXPIRED');
  });

  it('refuses any Origin but the vault’s own', async ({ steps: { token, post } }) => {
    for (const origin of ['http://bank.localhost:8080', 'null']) {
      const res = await post('/v1/addresses', { pivotToken: await token(ADDRESS_STEP), address: ADDRESS }, { origin });
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('ORIGIN_NOT_ALLOWED');
    }
  });

  it(`refuses a body over ADDRESS_MAX_BODY_BYTES (${ADDRESS_MAX_BODY_BYTES})`, async ({ steps: { token, post } }) => {
    const pivotToken = await token(ADDRESS_STEP);
    const body = JSON.stringify({ pivotToken, address: { ...ADDRESS, city: 'x'.repeat(ADDRESS_MAX_BODY_BYTES) } });
    const res = await post('/v1/addresses', body);
    expect(res.statusCode).toBe(413);
    expect(codeOf(res)).toBe('BODY_TOO_LARGE');
    // Just under the limit it is parsed (and refused by the schema instead).
    const under = JSON.stringify({ pivotToken, address: { ...ADDRESS, city: 'x'.repeat(ADDRESS_MAX_BODY_BYTES - pivotToken.length - 200) } });
    expect(Buffer.byteLength(under)).toBeLessThan(ADDRESS_MAX_BODY_BYTES);
    expect(codeOf(await post('/v1/addresses', under))).toBe('BAD_REQUEST');
  });

  it('answers a field code for each invalid field, and does not consume the token', async ({ steps: { token, postAddress } }) => {
    const pivotToken = await token(ADDRESS_STEP);
    const cases: [object, string][] = [
      [{ ...ADDRESS, lines: ['   '] }, 'ADDRESS_LINE_INVALID'],
      [{ ...ADDRESS, lines: ['x'.repeat(71)] }, 'ADDRESS_LINE_INVALID'],
      [{ ...ADDRESS, postcode: '6' }, 'ADDRESS_POSTCODE_INVALID'],
      [{ ...ADDRESS, postcode: '69002!' }, 'ADDRESS_POSTCODE_INVALID'],
      [{ ...ADDRESS, city: '' }, 'ADDRESS_CITY_INVALID'],
      [{ ...ADDRESS, city: '<script>' }, 'ADDRESS_CITY_INVALID'],
      [{ ...ADDRESS, country: 'France' }, 'ADDRESS_COUNTRY_INVALID'],
      [{ ...ADDRESS, country: 'ZZ' }, 'ADDRESS_COUNTRY_INVALID'],
      [{ ...ADDRESS, country: 'EU' }, 'ADDRESS_COUNTRY_INVALID'],
    ];
    for (const [address, code] of cases.slice(0, MAX_ATTEMPTS_PER_PIVOT_TOKEN - 1)) {
      const res = await postAddress(address, pivotToken);
      expect(res.statusCode, code).toBe(422);
      expect(codeOf(res)).toBe(code);
    }
    expect((await postAddress(ADDRESS, pivotToken)).statusCode).toBe(201);
    for (const [address, code] of cases.slice(MAX_ATTEMPTS_PER_PIVOT_TOKEN - 1)) expect(codeOf(await postAddress(address)), code).toBe(code);
    // Structure is the schema's business: extra fields, too many lines.
    expect(codeOf(await postAddress({ ...ADDRESS, lines: ['a', 'b', 'c', 'd'] }))).toBe('BAD_REQUEST');
    expect(codeOf(await postAddress({ ...ADDRESS, phone: '0600000000' }))).toBe('BAD_REQUEST');
  });

  it(`refuses the token after MAX_ATTEMPTS_PER_PIVOT_TOKEN (${MAX_ATTEMPTS_PER_PIVOT_TOKEN}) refused addresses`, async ({ steps: { token, postAddress } }) => {
    const pivotToken = await token(ADDRESS_STEP);
    for (let i = 0; i < MAX_ATTEMPTS_PER_PIVOT_TOKEN; i++) expect(codeOf(await postAddress({ ...ADDRESS, country: 'ZZ' }, pivotToken))).toBe('ADDRESS_COUNTRY_INVALID');
    const res = await postAddress(ADDRESS, pivotToken);
    expect(res.statusCode).toBe(429);
    expect(codeOf(res)).toBe('RATE_LIMITED');
  });
});

describe('POST /v1/transfer-confirmations', () => {
  it('records a confirmation once, with the signed amount and payee, and notifies the chat', async ({ vault, receiver: { notices }, steps: { token, postAnswer } }) => {
    const pivotToken = await token(TRANSFER_STEP);
    const res = await postAnswer('confirm', pivotToken);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ outcome: 'confirmed' });
    const jti = decodeJwt(pivotToken).jti!;
    const row = await vault.service.db.selectFrom('transfer_answers').selectAll().where('pivot_jti', '=', jti).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ outcome: 'confirmed', amount_minor: 25000, currency: 'EUR', payee_name: 'A. Martin', payee_last4: '1234', step_id: TRANSFER_STEP.id });
    await waitFor(() => notices.some((n) => n['ptj'] === jti));
    expect(notices.find((n) => n['ptj'] === jti)).toMatchObject({
      event: 'transfer_confirmed',
      transfer: { amount: { minor: 25000, currency: 'EUR' }, payee: { name: 'A. Martin', accountLast4: '1234' } },
    });
    const entries = await vault.service.audit.list();
    expect(entries.filter((e) => e.action === 'transfer.confirm' && e.resource === row.id)).toHaveLength(1);
    // One answer per token, whichever button comes second.
    for (const decision of ['confirm', 'decline']) {
      const again = await postAnswer(decision, pivotToken);
      expect(again.statusCode).toBe(409);
      expect(codeOf(again)).toBe('TOKEN_REPLAYED');
    }
  });

  it('records a decline', async ({ vault, receiver: { notices }, passkey, steps: { token, postAnswer } }) => {
    const pivotToken = await token(TRANSFER_STEP);
    const res = await postAnswer('decline', pivotToken);
    expect(res.json()).toEqual({ outcome: 'declined' });
    const jti = decodeJwt(pivotToken).jti!;
    await waitFor(() => notices.some((n) => n['ptj'] === jti));
    expect(notices.find((n) => n['ptj'] === jti)).toMatchObject({ event: 'transfer_declined' });
    expect((await vault.service.audit.list()).some((e) => e.action === 'transfer.decline' && e.detail === `step=${TRANSFER_STEP.id} verified=passkey passkey=${passkey.credentialId}`)).toBe(true);
  });

  it('refuses a token of another kind, an expired token, a foreign origin, a bad decision, a large body', async ({ vault, steps: { token, post, postAnswer } }) => {
    for (const step of [ADDRESS_STEP, undefined]) {
      const other = step ? await token(step) : await vault.issuer.sign(pivotClaims());
      const res = await postAnswer('confirm', other);
      expect(res.statusCode).toBe(403);
      expect(codeOf(res)).toBe('TOKEN_STEP_KIND_MISMATCH');
    }
    // A transfer token is no card token either.
    expect(codeOf(await postTokens(vault.service, tokenizeBody(await token(TRANSFER_STEP))))).toBe('TOKEN_STEP_KIND_MISMATCH');
    expect(codeOf(await postAnswer('confirm', await token(TRANSFER_STEP, { iat: nowS() - 400, nbf: nowS() - 400, exp: nowS() - 300 })))).toBe('TOKEN_EXPIRED');
    const foreign = await post('/v1/transfer-confirmations', { pivotToken: await token(TRANSFER_STEP), decision: 'confirm' }, { origin: 'http://bank.localhost:8080' });
    expect(codeOf(foreign)).toBe('ORIGIN_NOT_ALLOWED');
    expect(codeOf(await postAnswer('maybe'))).toBe('BAD_REQUEST');
    const big = JSON.stringify({ pivotToken: await token(TRANSFER_STEP), decision: 'confirm', pad: 'x'.repeat(TRANSFER_CONFIRMATION_MAX_BODY_BYTES) });
    expect(codeOf(await post('/v1/transfer-confirmations', big))).toBe('BODY_TOO_LARGE');
  });

  it('refuses a transfer token whose step lacks the payee (claims schema)', async ({ steps: { token, postAnswer } }) => {
    const { payee: _payee, ...withoutPayee } = TRANSFER_STEP;
    const res = await postAnswer('confirm', await token(withoutPayee));
    expect(res.statusCode).toBe(401);
    expect(codeOf(res)).toBe('TOKEN_CLAIM_INVALID');
  });
});

describe('checkAddress (shared by frame and service)', () => {
  it('normalises: trims, drops empty extra lines, upper-cases postcode and country', () => {
    expect(checkAddress({ lines: ['  1 Main St ', ''], postcode: ' sw1a 1aa ', city: ' London ', country: 'gb' })).toEqual({
      ok: true,
      address: { lines: ['1 Main St'], postcode: 'SW1A 1AA', city: 'London', country: 'GB' },
    });
  });
});
