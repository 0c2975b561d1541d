/**
 * Attacks on POST /v1/vault/notices of the REAL chat server, wired to the REAL vault service
 * (helpers.ts `startPivotSystem`): the chat server issues the pivot token, the vault tokenizes
 * the card and delivers its own signed notice; the attacker then forges, replays, ages and
 * swaps notices. Each asserts the status and `error.code`, and that the step was completed
 * only by the genuine notice.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAULT_NOTICE_TYP } from '../../protocol/vault-api.ts';
import { signNotice, type StoredNoticeClaims } from '../../vault/service/notices/outbox.ts';
import { postTokens, tokenizeBody, waitFor } from '../vault/helpers.ts';
import { CHAT, VAULT, call } from '../server/helpers.ts';
import { startPivotSystem, type PivotSystem } from './helpers.ts';

let system: PivotSystem;

beforeAll(async () => {
  system = await startPivotSystem();
});
afterAll(() => system.close());

const post = (notice: string) => call(system.chat, 'POST', '/v1/vault/notices', { body: { notice }, origin: null });
const codeOf = (res: { body: Record<string, unknown> }) => (res.body['error'] as { code?: string } | undefined)?.code;
const nowS = () => Math.floor(Date.now() / 1000);

/** Claims the vault would sign for `f`'s step (display data only). */
function claimsFor(
  f: { conversationId: string; stepId: string; pivotToken: string },
  overrides: Partial<Extract<StoredNoticeClaims, { event: 'card_tokenized' }>> = {},
): Extract<StoredNoticeClaims, { event: 'card_tokenized' }> {
  return {
    iss: VAULT,
    aud: CHAT,
    jti: `ntc_${randomBytes(16).toString('base64url')}`,
    cnv: f.conversationId,
    stp: f.stepId,
    ptj: decodeJwt(f.pivotToken).jti!,
    event: 'card_tokenized',
    card: { token: `tok_${randomBytes(16).toString('base64url')}`, brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030 },
    ...overrides,
  };
}

/** The `step_completed` events of `f`'s step, as the agent reads them. */
async function completions(f: { conversationId: string; stepId: string; agentToken: string }): Promise<unknown[]> {
  const page = await call(system.chat, 'GET', `/v1/agent/conversations/${f.conversationId}/events?after=0`, { origin: CHAT, token: f.agentToken });
  return (page.body['events'] as { kind: string; stepId?: string }[]).filter((e) => e.kind === 'step_completed' && e.stepId === f.stepId);
}

describe('attack: vault notices posted to the chat server', () => {
  it('control: the real flow (chat pivot token -> vault tokenize -> vault notice) completes the step once', async () => {
    const f = await system.customerWithToken();
    const res = await postTokens(system.vault.service, tokenizeBody(f.pivotToken));
    expect(res.statusCode).toBe(201);
    await waitFor(() => system.delivered.some((d) => decodeJwt(d.notice).ptj === decodeJwt(f.pivotToken).jti && d.status === 200));
    expect(await completions(f)).toHaveLength(1);
  });

  it('a replayed notice (the vault\'s own, delivered once, posted again) -> 409 NOTICE_REPLAYED', async () => {
    const f = await system.customerWithToken();
    expect((await postTokens(system.vault.service, tokenizeBody(f.pivotToken))).statusCode).toBe(201);
    const ptj = decodeJwt(f.pivotToken).jti;
    await waitFor(() => system.delivered.some((d) => decodeJwt(d.notice).ptj === ptj && d.status === 200));
    const genuine = system.delivered.find((d) => decodeJwt(d.notice).ptj === ptj)!.notice;
    const res = await post(genuine);
    expect({ status: res.status, code: codeOf(res) }).toEqual({ status: 409, code: 'NOTICE_REPLAYED' });
    expect(await completions(f)).toHaveLength(1);
  });

  it('a batch smuggling a replayed and a forged notice beside a genuine one -> replayed / invalid; only the genuine one applies', async () => {
    const done = await system.customerWithToken();
    expect((await postTokens(system.vault.service, tokenizeBody(done.pivotToken))).statusCode).toBe(201);
    const ptj = decodeJwt(done.pivotToken).jti;
    await waitFor(() => system.delivered.some((d) => decodeJwt(d.notice).ptj === ptj && d.status === 200));
    const replayed = system.delivered.find((d) => decodeJwt(d.notice).ptj === ptj)!.notice;

    const f = await system.customerWithToken();
    const genuine = await signNotice(claimsFor(f), system.vault.service.keys, nowS());
    const forgedClaims = claimsFor(f);
    const t = nowS();
    const forged = await new SignJWT({ cnv: forgedClaims.cnv, stp: forgedClaims.stp, ptj: forgedClaims.ptj, event: forgedClaims.event, card: forgedClaims.card })
      .setProtectedHeader({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid: (await system.vault.service.keys.getNoticeSigningKey()).kid })
      .setIssuer(forgedClaims.iss)
      .setAudience(forgedClaims.aud)
      .setJti(forgedClaims.jti)
      .setIssuedAt(t)
      .setExpirationTime(t + 60)
      .sign((await generateKeyPair('ES256')).privateKey);
    const res = await call(system.chat, 'POST', '/v1/vault/notices', { body: { notices: [forged, replayed, genuine] }, origin: null });
    expect(res.status).toBe(200);
    expect((res.body['results'] as { status: string; code?: string }[]).map((r) => [r.status, r.code])).toEqual([
      ['invalid', 'NOTICE_INVALID'],
      ['replayed', 'NOTICE_REPLAYED'],
      ['accepted', undefined],
    ]);
    expect(await completions(f)).toHaveLength(1);
    expect(await completions(done)).toHaveLength(1);
  });

  it('a notice signed by a key not in the vault JWKS (same kid as the vault\'s, or an unknown kid) -> 401 NOTICE_INVALID', async () => {
    const f = await system.customerWithToken();
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const { kid } = await system.vault.service.keys.getNoticeSigningKey();
    for (const useKid of [kid, 'nk_attacker_0001']) {
      const claims = claimsFor(f);
      const t = nowS();
      const forged = await new SignJWT({ cnv: claims.cnv, stp: claims.stp, ptj: claims.ptj, event: claims.event, card: claims.card })
        .setProtectedHeader({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid: useKid })
        .setIssuer(claims.iss)
        .setAudience(claims.aud)
        .setJti(claims.jti)
        .setIssuedAt(t)
        .setExpirationTime(t + 60)
        .sign(stranger);
      const res = await post(forged);
      expect({ status: res.status, code: codeOf(res) }, useKid).toEqual({ status: 401, code: 'NOTICE_INVALID' });
    }
    expect(await completions(f)).toHaveLength(0);
  });

  it('an expired notice (genuinely signed by the vault key, exp beyond the skew) -> 401 NOTICE_INVALID', async () => {
    const f = await system.customerWithToken();
    const expired = await signNotice(claimsFor(f), system.vault.service.keys, nowS() - 600);
    expect(decodeJwt(expired).exp).toBeLessThan(nowS() - 60);
    const res = await post(expired);
    expect({ status: res.status, code: codeOf(res) }).toEqual({ status: 401, code: 'NOTICE_INVALID' });
    expect(await completions(f)).toHaveLength(0);
  });

  it('a notice naming a pivot jti the chat never issued (genuinely signed by the vault key) -> 401 NOTICE_INVALID', async () => {
    const f = await system.customerWithToken();
    const other = await system.customerWithToken();
    for (const ptj of ['ptj_never_issued_by_the_chat_server', decodeJwt(other.pivotToken).jti!]) {
      const notice = await signNotice(claimsFor(f, { ptj }), system.vault.service.keys, nowS());
      const res = await post(notice);
      expect({ status: res.status, code: codeOf(res) }, ptj).toEqual({ status: 401, code: 'NOTICE_INVALID' });
    }
    expect(await completions(f)).toHaveLength(0);
  });

  it('a pivot token (typ pivot+jwt, signed by the chat server itself) posted as a notice -> 401 NOTICE_INVALID', async () => {
    const f = await system.customerWithToken();
    expect(decodeProtectedHeader(f.pivotToken).typ).toBe('pivot+jwt');
    const res = await post(f.pivotToken);
    expect({ status: res.status, code: codeOf(res) }).toEqual({ status: 401, code: 'NOTICE_INVALID' });
    expect(await completions(f)).toHaveLength(0);
  });

  it('a notice posted from a browser (any Origin) -> 403 ORIGIN_NOT_ALLOWED', async () => {
    const f = await system.customerWithToken();
    const notice = await signNotice(claimsFor(f), system.vault.service.keys, nowS());
    const res = await call(system.chat, 'POST', '/v1/vault/notices', { body: { notice } });
    expect({ status: res.status, code: codeOf(res) }).toEqual({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
    expect(await completions(f)).toHaveLength(0);
  });
});
