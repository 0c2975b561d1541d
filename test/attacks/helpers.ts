/**
 * Fixtures of the attack suite. They reuse the realm fixtures (test/vault/helpers.ts,
 * test/server/helpers.ts) and add:
 *
 * - `expectRefusal`: one POST /v1/tokens, asserting status + stable `error.code`, and that the
 *   refused token consumed no `jti` and stored no card;
 * - `enrolCustomerPasskey`: a software authenticator enrolled, through the vault's routes, for
 *   the customer of a pivot token;
 * - `startPivotSystem`: the REAL chat server and the REAL vault service wired to each other
 *   (vault trusts the chat server's JWKS, notices go to the chat server, the chat server trusts
 *   the vault's notice JWKS), so that the notice attacks use tokens and notices the products
 *   themselves signed.
 */
import { expect } from 'vitest';
import { decodeJwt } from 'jose';
import { postJson, type PostJson } from '../../vault/service/http/post-json.ts';
import type { VaultService } from '../../vault/service/app.ts';
import { logCapture, listen, postTokens, startVault, tokenizeBody, waitFor, type TestServer, type VaultFixture } from '../vault/helpers.ts';
import { enrolWith, newAuthenticator } from '../vault/passkey-helpers.ts';
import type { SoftAuthenticator } from '../lib/soft-authenticator.ts';
import type { PivotClaims } from '../../protocol/pivot-token.ts';
import { signPivotToken } from '../../server/keys/sign-pivot-token.ts';
import { agentSession, call, createStep, customerSession, removeDir, startChat, tempDir as chatTempDir, type Running } from '../server/helpers.ts';

export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly body: string;
}

/** POST /v1/tokens with a valid card and the vault's own Origin; returns status, code and raw body. */
export async function tryTokenize(service: VaultService, pivotToken: string): Promise<Refusal> {
  const res = await postTokens(service, tokenizeBody(pivotToken));
  let code = '';
  try {
    code = (res.json() as { error?: { code?: string } }).error?.code ?? '';
  } catch {
    code = '';
  }
  return { status: res.statusCode, code, body: res.body };
}

function jtiOf(token: string): string | undefined {
  try {
    const jti = decodeJwt(token).jti;
    return typeof jti === 'string' ? jti : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Present `pivotToken` to the real vault API and assert the refusal: HTTP `status`,
 * `body.error.code` = `code`, the body is exactly `{error: {code, message}}`, and nothing was
 * consumed or stored under the token's `jti`.
 */
export async function expectRefusal(service: VaultService, pivotToken: string, status: number, code: string): Promise<void> {
  const res = await tryTokenize(service, pivotToken);
  expect({ status: res.status, code: res.code }).toEqual({ status, code });
  expect(JSON.parse(res.body)).toEqual({ error: { code, message: expect.any(String) } });
  const jti = jtiOf(pivotToken);
  if (jti !== undefined) {
    const used = await service.db.selectFrom('used_jti').select('jti').where('jti', '=', jti).execute();
    const cards = await service.db.selectFrom('cards').select('token').where('pivot_jti', '=', jti).execute();
    expect({ used, cards }).toEqual({ used: [], cards: [] });
  }
}

/** A delivery attempt of a notice by the vault, as the vault's own transport made it. */
export interface RecordedNotice {
  readonly notice: string;
  readonly status: number;
}

export interface PivotSystem {
  readonly chat: Running;
  readonly chatDir: string;
  readonly vault: VaultFixture;
  /** Notices the vault POSTed to the chat server, with the chat server's answer. */
  readonly delivered: RecordedNotice[];
  /** A new customer (signed in with the bank: acr `bank`) with an open card step and its pivot token. */
  customerWithToken(subject?: string): Promise<{ customerToken: string; conversationId: string; stepId: string; pivotToken: string; agentToken: string }>;
  close(): Promise<void>;
}

/**
 * The chat server and the vault service, wired as in production (only the public origins are
 * the *.localhost test values): vault `VAULT_ISSUER_JWKS_URL` = chat JWKS, vault
 * `VAULT_NOTICE_URL` = chat notices, chat `CHAT_VAULT_JWKS_URL` = the vault's notice JWKS.
 */
export async function startPivotSystem(): Promise<PivotSystem> {
  let vaultRef: VaultFixture | undefined;
  // The chat server needs the vault's JWKS URL before the vault exists (each needs the other's
  // URL): serve the vault key provider's public keys, exactly what GET /.well-known/jwks.json of
  // the vault answers.
  const vaultJwks: TestServer = await listen((_req, res) => {
    if (!vaultRef) return void res.writeHead(503).end();
    void vaultRef.service.app
      .inject({ method: 'GET', url: '/.well-known/jwks.json' })
      .then((r) => res.writeHead(r.statusCode, { 'content-type': 'application/json' }).end(r.body));
  });
  const chatDir = chatTempDir();
  const chat = await startChat(chatDir, { CHAT_VAULT_JWKS_URL: `${vaultJwks.url}/.well-known/jwks.json` });
  const delivered: RecordedNotice[] = [];
  const post: PostJson = async (url, body, timeoutMs) => {
    const result = await postJson(url, body, timeoutMs);
    const envelope = body as { notice?: string; notices?: string[] };
    if (envelope.notice !== undefined) {
      delivered.push({ notice: envelope.notice, status: result.status });
    } else {
      // A batch: each notice's own outcome is in the answer's results, in order.
      const results = ((result.json ?? {}) as { results?: { status?: string }[] }).results ?? [];
      const STATUS: Record<string, number> = { accepted: 200, replayed: 409, invalid: 401 };
      (envelope.notices ?? []).forEach((notice, i) => delivered.push({ notice, status: STATUS[results[i]?.status ?? ''] ?? result.status }));
    }
    return result;
  };
  const vault = await startVault({
    issuerJwksUrl: `${chat.httpBase}/.well-known/jwks.json`,
    noticeUrl: `${chat.httpBase}/v1/vault/notices`,
    deps: { logStream: logCapture().stream, post },
  });
  vaultRef = vault;
  let customers = 0;
  return {
    chat,
    chatDir,
    vault,
    delivered,
    async customerWithToken(subject = `customer${++customers}`) {
      const agentToken = await agentSession(chat);
      const { token: customerToken, conversationId } = await customerSession(chat, subject);
      const { stepId } = await createStep(chat, agentToken, conversationId);
      const res = await call(chat, 'POST', `/v1/steps/${stepId}/pivot-token`, { token: customerToken });
      if (res.status !== 200) throw new Error(`pivot token: ${res.status} ${JSON.stringify(res.body)}`);
      return { customerToken, conversationId, stepId, pivotToken: res.body['token'] as string, agentToken };
    },
    async close() {
      await vault.close();
      await chat.close();
      await vaultJwks.close();
      removeDir(chatDir);
    },
  };
}

/**
 * Gives the customer of `pivotToken` a passkey (a software authenticator) the way the frame
 * would: an enrolment token like the step's, from the chat server's own key, naming the
 * messaging app the code goes to; the code is read from the vault's `passkey_code` notice.
 */
export async function enrolCustomerPasskey(
  system: PivotSystem,
  pivotToken: string,
  /** Record the enrolment token as issued to this session (as the chat server does), so its notices apply. */
  issuedTo?: { readonly sessionId: string },
): Promise<SoftAuthenticator> {
  const claims = decodeJwt(pivotToken) as unknown as PivotClaims;
  const { token, claims: signed } = await signPivotToken(system.chat.server.context.keys.current, {
    issuer: claims.iss,
    audience: claims.aud,
    subject: claims.sub,
    origin: claims.origin,
    conversationId: claims.cnv,
    step: claims.step,
    acr: 'bank',
    outOfBandChannel: 'messenger',
    now: Math.floor(Date.now() / 1000),
  });
  if (issuedTo) {
    await system.chat.server.context.store.steps.recordPivotToken({
      jti: signed.jti,
      stepId: signed.step.id,
      sessionId: issuedTo.sessionId,
      issuedAt: signed.iat * 1000,
      expiresAt: signed.exp * 1000,
    });
  }
  const readCode = async (ptj: string) => {
    let code: string | undefined;
    await waitFor(() => {
      code = system.delivered.map((d) => decodeJwt(d.notice)).find((n) => n['event'] === 'passkey_code' && n['ptj'] === ptj)?.['code'] as string | undefined;
      return code !== undefined;
    });
    return code!;
  };
  return enrolWith(system.vault.service, token, newAuthenticator(), readCode);
}
