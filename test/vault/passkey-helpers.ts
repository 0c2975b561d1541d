/**
 * Passkeys for vault tests, through the real routes: enrol a software authenticator for a
 * customer (the code read from the `passkey_code` notice the chat server would have sent to the
 * customer's phone), and answer a step with an assertion for the vault's challenge.
 */
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { PASSKEY_CHALLENGES_PATH, PASSKEY_ENROLMENTS_PATH, PASSKEYS_PATH } from '../../protocol/passkeys.ts';
import { SoftAuthenticator } from '../lib/soft-authenticator.ts';
import { VAULT_ORIGIN, pivotClaims, waitFor, type VaultFixture } from './helpers.ts';

export const VAULT_RP_ID = new URL(VAULT_ORIGIN).hostname;

/** Anything with the vault's Fastify app. */
export interface HasApp {
  readonly app: FastifyInstance;
}

export const postJson = (service: HasApp, url: string, body: unknown, headers: Record<string, string> = {}) =>
  service.app.inject({
    method: 'POST',
    url,
    headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** Every notice the test's receiver decoded, newest last. */
export type NoticeLog = readonly Record<string, unknown>[];

/** The enrolment code the vault sent for the token `ptj`, once its notice arrived. */
export async function codeSentFor(notices: NoticeLog, ptj: string): Promise<string> {
  let code: string | undefined;
  await waitFor(() => {
    code = notices.find((n) => n.event === 'passkey_code' && n.ptj === ptj)?.code as string | undefined;
    return code !== undefined;
  });
  return code!;
}

/** A new software authenticator for the vault's relying party. */
export const newAuthenticator = (options: { userVerification?: boolean } = {}) => new SoftAuthenticator({ rpId: VAULT_RP_ID, origin: VAULT_ORIGIN, ...options });

/**
 * Enrols `auth` with `pivotToken` (acr `bank`, with `och`): start, create, then the code that
 * `readCode` finds (the notice the chat server would have sent on). Throws unless both succeed.
 */
export async function enrolWith(service: HasApp, pivotToken: string, auth: SoftAuthenticator, readCode: (ptj: string) => Promise<string>): Promise<SoftAuthenticator> {
  const res = await postJson(service, PASSKEY_ENROLMENTS_PATH, { pivotToken });
  if (res.statusCode !== 201) throw new Error(`enrolment start: ${res.statusCode} ${res.body}`);
  const { enrolmentId, options } = res.json() as { enrolmentId: string; options: { challenge: string; user: { id: string } } };
  const credential = await auth.register({ challenge: options.challenge, user: options.user });
  const code = await readCode(decodeJwt(pivotToken).jti!);
  const done = await postJson(service, PASSKEYS_PATH, { pivotToken, enrolmentId, code, credential });
  if (done.statusCode !== 201) throw new Error(`registration: ${done.statusCode} ${done.body}`);
  return auth;
}

/** Enrols a new software authenticator for `sub` on a vault fixture; returns it. */
export async function enrolPasskey(
  vault: VaultFixture,
  notices: NoticeLog,
  sub = 'cus_test_1',
  auth = newAuthenticator(),
  claims: Record<string, unknown> = {},
): Promise<SoftAuthenticator> {
  const pivotToken = await vault.issuer.sign(pivotClaims({ sub, och: 'messenger', ...claims }));
  return enrolWith(vault.service, pivotToken, auth, (ptj) => codeSentFor(notices, ptj));
}

/** The vault's challenge for this step token (its base64url value). */
export async function challengeFor(service: HasApp, pivotToken: string): Promise<string> {
  const res = await postJson(service, PASSKEY_CHALLENGES_PATH, { pivotToken });
  if (res.statusCode !== 201) throw new Error(`challenge: ${res.statusCode} ${res.body}`);
  return (res.json() as { options: { challenge: string } }).options.challenge;
}

/**
 * POSTs `body` to a step path with `auth`'s assertion for the token's challenge; when the vault
 * gives no challenge (an expired or malformed token), without one, so that the step route
 * answers its own refusal.
 */
export async function answerWithPasskey(service: HasApp | VaultFixture, auth: SoftAuthenticator, path: string, body: { pivotToken: string } & Record<string, unknown>) {
  const target = 'service' in service ? service.service : service;
  const res = await postJson(target, PASSKEY_CHALLENGES_PATH, { pivotToken: body.pivotToken });
  if (res.statusCode !== 201) return postJson(target, path, body); // no passkey, or a refused token
  const assertion = await auth.assert({ challenge: (res.json() as { options: { challenge: string } }).options.challenge });
  return postJson(target, path, { ...body, assertion });
}
