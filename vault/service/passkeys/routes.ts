/**
 * The passkey routes of the vault service (protocol/passkeys.ts), called only by the frame (the
 * vault's own Origin, like the step routes), rate limited per client address with them:
 *
 *   POST /v1/passkeys/enrolments  start an enrolment: its code goes out as a `passkey_code` notice
 *   POST /v1/passkeys             finish it: code + attestation -> the credential, `passkey_enrolled`
 *   POST /v1/passkeys/challenges  a challenge for this step token's answer
 *
 * None consumes the pivot token: the token still answers its step.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as v from 'valibot';
import { PivotError } from '../../../protocol/errors.ts';
import {
  PASSKEY_CHALLENGES_PATH,
  PASSKEY_ENROLMENTS_PATH,
  PASSKEY_MAX_BODY_BYTES,
  PASSKEY_REGISTRATION_MAX_BODY_BYTES,
  PASSKEYS_PATH,
  PasskeyRegistrationRequestSchema,
  PasskeyTokenRequestSchema,
} from '../../../protocol/passkeys.ts';
import type { PivotClaims } from '../../../protocol/pivot-token.ts';
import type { Clock } from '../../../protocol/clock.ts';
import type { VaultStatements } from '../store/statements.ts';
import type { ClientLimiter } from '../steps/rate-limit.ts';
import { verifyAnyStepToken, type StepTokenDeps } from '../steps/step-token.ts';
import { outboxNotice } from '../steps/run-step.ts';
import type { Passkeys } from './passkeys.ts';

export interface PasskeyRoutesOptions {
  readonly passkeys: Passkeys;
  readonly token: StepTokenDeps;
  readonly statements: VaultStatements;
  readonly noticeAudience: string;
  readonly clients: ClientLimiter;
  readonly clock: Clock;
  readonly checkOrigin: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  readonly onNotice: (noticeId: string) => void;
}

/** The body, by its schema, or BAD_REQUEST. */
function parse<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  return parsed.output;
}

export function registerPasskeyRoutes(app: FastifyInstance, options: PasskeyRoutesOptions): void {
  const { passkeys, statements, clock } = options;

  /** The pivot token, verified as for any step (signature, issuer, audience, lifetime, origin). */
  const claimsOf = (token: string): Promise<PivotClaims> => verifyAnyStepToken(options.token, token, new Date(clock()));
  const limited = (request: FastifyRequest) => {
    if (!options.clients.take(request.ip, clock())) throw new PivotError('RATE_LIMITED');
  };
  const notice = (claims: PivotClaims, payload: Record<string, unknown>) =>
    outboxNotice({ origin: options.token.origin, noticeAudience: options.noticeAudience }, claims, payload, clock());
  const json = (reply: FastifyReply) => reply.status(201).type('application/json; charset=utf-8').header('cache-control', 'no-store');

  app.post(PASSKEY_ENROLMENTS_PATH, { onRequest: options.checkOrigin, bodyLimit: PASSKEY_MAX_BODY_BYTES }, async (request, reply) => {
    limited(request);
    const body = parse(PasskeyTokenRequestSchema, request.body);
    const claims = await claimsOf(body.pivotToken);
    const { start, code, write } = await passkeys.startEnrolment(claims);
    // The code leaves only inside the signed notice, for the chat server to send over the
    // customer's messaging app; the response carries options and an id, never the code.
    const sent = notice(claims, { event: 'passkey_code', code, codeExp: Math.floor(Date.parse(start.expiresAt) / 1000) });
    statements.storeWithNotice(write, sent.row, {
      actor: { kind: 'customer', id: claims.sub },
      action: 'passkey.enrolment_start',
      resource: start.enrolmentId,
      outcome: 'success',
      origin: claims.origin,
      detail: `channel=${claims.och ?? 'none'}`,
    });
    request.log.info({ enrolmentId: start.enrolmentId }, 'passkey enrolment started');
    setImmediate(() => options.onNotice(sent.id));
    return json(reply).send(start);
  });

  app.post(PASSKEYS_PATH, { onRequest: options.checkOrigin, bodyLimit: PASSKEY_REGISTRATION_MAX_BODY_BYTES }, async (request, reply) => {
    limited(request);
    const body = parse(PasskeyRegistrationRequestSchema, request.body);
    const claims = await claimsOf(body.pivotToken);
    const { credentialId, write } = await passkeys.register(claims, body);
    const enrolled = notice(claims, { event: 'passkey_enrolled' });
    statements.storeWithNotice(write, enrolled.row, {
      actor: { kind: 'customer', id: claims.sub },
      action: 'passkey.register',
      resource: `passkey:${credentialId}`,
      outcome: 'success',
      origin: claims.origin,
      detail: `enrolment=${body.enrolmentId}`,
    });
    request.log.info({ enrolmentId: body.enrolmentId }, 'passkey registered');
    setImmediate(() => options.onNotice(enrolled.id));
    return json(reply).send({ credentialId });
  });

  app.post(PASSKEY_CHALLENGES_PATH, { onRequest: options.checkOrigin, bodyLimit: PASSKEY_MAX_BODY_BYTES }, async (request, reply) => {
    limited(request);
    const body = parse(PasskeyTokenRequestSchema, request.body);
    const claims = await claimsOf(body.pivotToken);
    const challenge = await passkeys.stepChallenge(claims);
    if (!challenge) return reply.status(200).type('application/json; charset=utf-8').header('cache-control', 'no-store').send({ enrolled: false });
    return json(reply).send(challenge);
  });
}
