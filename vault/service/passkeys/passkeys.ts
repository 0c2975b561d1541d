/**
 * Passkeys in the vault service: the customer's own authenticator proves that the customer, and
 * not whoever holds their pivot token, answers a step (protocol/passkeys.ts has the routes).
 *
 * - **Enrolment** needs a token at acr `bank` AND a one-time code that went to the customer over
 *   the messaging app of their conversation (the token's `och`): the bank page, which can hold
 *   a bank-level token, never sees that message, so it cannot register an authenticator of its
 *   own (docs/decisions/0010-passkeys-in-the-vault.md). The code is stored hashed; a wrong code
 *   counts, and PASSKEY_CODE_MAX_ATTEMPTS of them void the enrolment.
 * - **A step challenge** is 16 random bytes followed by the SHA-256 of the SIGNED step (kind,
 *   amount, currency, payee, purpose, reference, its id) and the token's jti and subject: the
 *   authenticator's signature over it is dynamic linking in the sense of PSD2 RTS art. 5. One
 *   challenge per token at a time, single use, PASSKEY_CHALLENGE_TTL_S.
 * - **An assertion** is checked field by field first, so each refusal has its own stable code
 *   (challenge, origin and rpId, credential of this customer, user verification, counter), then
 *   verified in full (signature included) by @simplewebauthn/server. Its challenge is consumed and
 *   the counter stored in the SAME transaction as the step's answer (run-step.ts).
 *
 * The relying party is the vault's origin: rpId = its host name, expected origin = its origin.
 *
 * @module
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticatorTransportFuture,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL, parseAuthenticatorData } from '@simplewebauthn/server/helpers';
import { PivotError } from '../../../protocol/errors.ts';
import {
  PASSKEY_CHALLENGE_TTL_S,
  PASSKEY_CODE_DIGITS,
  PASSKEY_CODE_MAX_ATTEMPTS,
  PASSKEY_ENROLMENT_TTL_S,
  PASSKEY_ENROLMENTS_PER_HOUR,
  PASSKEYS_PER_CUSTOMER,
  type AuthenticationResponse,
  type PasskeyChallenge,
  type PasskeyEnrolmentStart,
  type PasskeyRegistrationRequest,
  type VerificationMethod,
} from '../../../protocol/passkeys.ts';
import { acrAtLeast, type PivotClaims } from '../../../protocol/pivot-token.ts';
import type { StepDefinition } from '../../../protocol/steps/definition.ts';
import type { Clock } from '../../../protocol/clock.ts';
import type { PasskeyChallengesTable, PasskeyEnrolmentsTable, PasskeysTable } from '../store/db.ts';

/** Random bytes in a step challenge, before the step's digest. */
export const CHALLENGE_NONCE_BYTES = 16;
/** Random bytes of an enrolment's creation challenge. */
export const ENROLMENT_CHALLENGE_BYTES = 32;
/** Random bytes in an enrolment id (`enr_` + base64url). */
export const ENROLMENT_ID_BYTES = 18;
const HOUR_MS = 60 * 60 * 1000;

export interface PasskeyDeps {
  readonly sqlite: Database.Database;
  /** Kinds the bank requires a passkey for even where the kind's default accepts a bank sign-in. */
  readonly requiredFor?: readonly string[];
  /** The vault's public origin: the expected WebAuthn origin; its host name is the rpId. */
  readonly origin: string;
  readonly clock: Clock;
}

/** How an answer was proven, and what its transaction must also write. */
export interface PresenceProof {
  readonly method: VerificationMethod;
  readonly credentialId?: string;
  /** Runs inside the step's transaction: consumes the challenge, stores the counter. Throws if the challenge was taken meanwhile. */
  readonly commit: () => void;
}

export interface Passkeys {
  readonly rpId: string;
  hasPasskey(subject: string): boolean;
  /** Starts an enrolment: the options for `navigator.credentials.create()` and the code to send. */
  startEnrolment(claims: PivotClaims): Promise<{ readonly start: PasskeyEnrolmentStart; readonly code: string; readonly write: () => void }>;
  /** Checks the code and the attestation; returns the row writer (run in a transaction with the notice). */
  register(claims: PivotClaims, request: PasskeyRegistrationRequest): Promise<{ readonly credentialId: string; readonly write: () => void }>;
  /** A challenge for this step token (replacing an unused earlier one of the same token); null when the customer has no passkey. */
  stepChallenge(claims: PivotClaims): Promise<PasskeyChallenge | null>;
  /** The proof an answer carries, by the kind's policy; rejects with a {@link PivotError}. */
  verifyPresence(definition: StepDefinition<string, unknown, unknown>, claims: PivotClaims, assertion: AuthenticationResponse | undefined): Promise<PresenceProof>;
}

/** The digest the step challenge commits to: the signed step and whose token it is. */
export function stepDigest(claims: PivotClaims): Buffer {
  // The step object comes from the verified token through its schema, so its key order is fixed.
  const canonical = JSON.stringify({ kind: claims.step.kind, step: claims.step, jti: claims.jti, sub: claims.sub, cnv: claims.cnv });
  return createHash('sha256').update(canonical).digest();
}

function codeHash(enrolmentId: string, code: string): string {
  return createHash('sha256').update(`${enrolmentId}:${code}`).digest('base64url');
}

/** The WebAuthn user handle: a hash of the pseudonymous subject, so no id of ours is on the device. */
function userHandle(subject: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`vault-user:${subject}`).digest());
}

export function createPasskeys(deps: PasskeyDeps): Passkeys {
  const { sqlite, origin, clock } = deps;
  const rpId = new URL(origin).hostname;
  const rpIdHash = createHash('sha256').update(rpId).digest();

  const byCustomer = sqlite.prepare('SELECT * FROM passkeys WHERE subject = ?');
  const insertPasskey = sqlite.prepare(
    `INSERT INTO passkeys (credential_id, subject, public_key, counter, transports, backed_up, enrolment_id, created_at, last_used_at)
     VALUES (@credential_id, @subject, @public_key, @counter, @transports, @backed_up, @enrolment_id, @created_at, @last_used_at)`,
  );
  const updateCounter = sqlite.prepare('UPDATE passkeys SET counter = ?, last_used_at = ? WHERE credential_id = ?');
  const enrolmentsSince = sqlite.prepare('SELECT COUNT(*) FROM passkey_enrolments WHERE subject = ? AND created_at > ?').pluck();
  const insertEnrolment = sqlite.prepare(
    `INSERT INTO passkey_enrolments (id, subject, conversation_id, challenge, code_hash, attempts, created_at, expires_at, used_at)
     VALUES (@id, @subject, @conversation_id, @challenge, @code_hash, @attempts, @created_at, @expires_at, @used_at)`,
  );
  const selectEnrolment = sqlite.prepare('SELECT * FROM passkey_enrolments WHERE id = ?');
  const countWrongCode = sqlite.prepare('UPDATE passkey_enrolments SET attempts = attempts + 1 WHERE id = ?');
  const useEnrolment = sqlite.prepare('UPDATE passkey_enrolments SET used_at = ? WHERE id = ? AND used_at IS NULL');
  const dropChallenges = sqlite.prepare('DELETE FROM passkey_challenges WHERE pivot_jti = ? AND used_at IS NULL');
  const insertChallenge = sqlite.prepare(
    'INSERT INTO passkey_challenges (challenge, pivot_jti, subject, expires_at, used_at) VALUES (@challenge, @pivot_jti, @subject, @expires_at, @used_at)',
  );
  const selectChallenge = sqlite.prepare('SELECT * FROM passkey_challenges WHERE challenge = ?');
  const useChallenge = sqlite.prepare('UPDATE passkey_challenges SET used_at = ? WHERE challenge = ? AND used_at IS NULL');
  const newChallenge = sqlite.transaction((row: PasskeyChallengesTable) => {
    dropChallenges.run(row.pivot_jti);
    insertChallenge.run(row);
  });

  const passkeysOf = (subject: string) => byCustomer.all(subject) as PasskeysTable[];
  const transportsOf = (row: PasskeysTable) => JSON.parse(row.transports) as AuthenticatorTransportFuture[];

  return {
    rpId,
    hasPasskey: (subject) => passkeysOf(subject).length > 0,

    async startEnrolment(claims) {
      if (claims.acr !== 'bank') throw new PivotError('PASSKEY_ENROLMENT_REQUIRES_BANK');
      if (!claims.och) throw new PivotError('PASSKEY_ENROLMENT_UNAVAILABLE');
      const now = clock();
      const existing = passkeysOf(claims.sub);
      if (existing.length >= PASSKEYS_PER_CUSTOMER) throw new PivotError('RATE_LIMITED');
      if ((enrolmentsSince.get(claims.sub, now - HOUR_MS) as number) >= PASSKEY_ENROLMENTS_PER_HOUR) throw new PivotError('RATE_LIMITED');
      const id = `enr_${randomBytes(ENROLMENT_ID_BYTES).toString('base64url')}`;
      const code = String(randomInt(0, 10 ** PASSKEY_CODE_DIGITS)).padStart(PASSKEY_CODE_DIGITS, '0');
      const challenge = new Uint8Array(randomBytes(ENROLMENT_CHALLENGE_BYTES));
      const expiresAt = now + PASSKEY_ENROLMENT_TTL_S * 1000;
      const options = await generateRegistrationOptions({
        rpName: 'Secure payments',
        rpID: rpId,
        userID: userHandle(claims.sub),
        userName: 'Secure chat',
        challenge,
        timeout: PASSKEY_ENROLMENT_TTL_S * 1000,
        attestationType: 'none',
        excludeCredentials: existing.map((row) => ({ id: row.credential_id, transports: transportsOf(row) })),
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: [-7, -257],
      });
      return {
        code,
        start: { enrolmentId: id, options: { ...options }, expiresAt: new Date(expiresAt).toISOString() },
        write: () => {
          // Counted again inside the transaction: starts racing past the check above stop here.
          if ((enrolmentsSince.get(claims.sub, now - HOUR_MS) as number) >= PASSKEY_ENROLMENTS_PER_HOUR) throw new PivotError('RATE_LIMITED');
          insertEnrolment.run({
            id,
            subject: claims.sub,
            conversation_id: claims.cnv,
            challenge: options.challenge,
            code_hash: codeHash(id, code),
            attempts: 0,
            created_at: now,
            expires_at: expiresAt,
            used_at: null,
          } satisfies PasskeyEnrolmentsTable);
        },
      };
    },

    async register(claims, request) {
      if (claims.acr !== 'bank') throw new PivotError('PASSKEY_ENROLMENT_REQUIRES_BANK');
      const now = clock();
      const row = selectEnrolment.get(request.enrolmentId) as PasskeyEnrolmentsTable | undefined;
      if (!row || row.subject !== claims.sub || row.used_at !== null || row.expires_at <= now || row.attempts >= PASSKEY_CODE_MAX_ATTEMPTS) {
        throw new PivotError('PASSKEY_ENROLMENT_INVALID');
      }
      const expected = Buffer.from(row.code_hash);
      const given = Buffer.from(codeHash(row.id, request.code));
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        countWrongCode.run(row.id);
        throw new PivotError('PASSKEY_ENROLMENT_CODE_WRONG');
      }
      const clientData = readClientData(request.credential.response.clientDataJSON);
      if (clientData.type !== 'webauthn.create' || clientData.challenge !== row.challenge) throw new PivotError('PASSKEY_ATTESTATION_INVALID');
      if (clientData.origin !== origin) throw new PivotError('PASSKEY_ORIGIN_MISMATCH');
      let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        verification = await verifyRegistrationResponse({
          response: request.credential as Parameters<typeof verifyRegistrationResponse>[0]['response'],
          expectedChallenge: row.challenge,
          expectedOrigin: origin,
          expectedRPID: rpId,
          requireUserVerification: true,
        });
      } catch (error) {
        throw new PivotError(/user verification/i.test(String((error as Error).message)) ? 'PASSKEY_USER_NOT_VERIFIED' : 'PASSKEY_ATTESTATION_INVALID', undefined, { cause: error });
      }
      if (!verification.verified) throw new PivotError('PASSKEY_ATTESTATION_INVALID');
      const { credential, credentialBackedUp } = verification.registrationInfo;
      const createdAt = new Date(now).toISOString();
      return {
        credentialId: credential.id,
        write: () => {
          // Taken once: a second registration with the same enrolment stores nothing.
          if (useEnrolment.run(now, row.id).changes !== 1) throw new PivotError('PASSKEY_ENROLMENT_INVALID');
          try {
            insertPasskey.run({
              credential_id: credential.id,
              subject: claims.sub,
              public_key: Buffer.from(credential.publicKey),
              counter: credential.counter,
              transports: JSON.stringify(request.credential.response.transports ?? []),
              backed_up: credentialBackedUp ? 1 : 0,
              enrolment_id: row.id,
              created_at: createdAt,
              last_used_at: null,
            } satisfies PasskeysTable);
          } catch (error) {
            const code = (error as { code?: unknown }).code;
            if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new PivotError('PASSKEY_ALREADY_REGISTERED');
            throw error;
          }
        },
      };
    },

    async stepChallenge(claims) {
      const credentials = passkeysOf(claims.sub);
      if (credentials.length === 0) return null;
      const now = clock();
      const challengeBytes = new Uint8Array(Buffer.concat([randomBytes(CHALLENGE_NONCE_BYTES), stepDigest(claims)]));
      const challenge = isoBase64URL.fromBuffer(challengeBytes);
      const expiresAt = now + PASSKEY_CHALLENGE_TTL_S * 1000;
      newChallenge({ challenge, pivot_jti: claims.jti, subject: claims.sub, expires_at: expiresAt, used_at: null });
      const options = await generateAuthenticationOptions({
        rpID: rpId,
        challenge: challengeBytes,
        timeout: PASSKEY_CHALLENGE_TTL_S * 1000,
        userVerification: 'required',
        allowCredentials: credentials.map((row) => ({ id: row.credential_id, transports: transportsOf(row) })),
      });
      return { enrolled: true, options: { ...options }, expiresAt: new Date(expiresAt).toISOString() };
    },

    async verifyPresence(definition, claims, assertion) {
      const credentials = passkeysOf(claims.sub);
      if (!assertion) {
        // Without an assertion: only a customer with no passkey, at the kind's acr, where the
        // bank's policy for the kind accepts that (protocol/passkeys.ts WITHOUT_PASSKEY_POLICIES).
        const refuse = definition.withoutPasskey === 'refuse' || deps.requiredFor?.includes(definition.kind) === true;
        if (credentials.length > 0 || refuse || !acrAtLeast(claims.acr, definition.requiredAcr)) {
          throw new PivotError('PASSKEY_REQUIRED');
        }
        return { method: claims.acr === 'bank' ? 'bank' : 'link', commit: () => {} };
      }
      const now = clock();
      const clientData = readClientData(assertion.response.clientDataJSON);
      if (clientData.type !== 'webauthn.get') throw new PivotError('PASSKEY_ASSERTION_INVALID');
      const challenge = selectChallenge.get(clientData.challenge) as PasskeyChallengesTable | undefined;
      // Unknown, used, expired, or issued for another token (another step, another customer).
      if (!challenge || challenge.pivot_jti !== claims.jti || challenge.subject !== claims.sub || challenge.used_at !== null || challenge.expires_at <= now) {
        throw new PivotError('PASSKEY_CHALLENGE_INVALID');
      }
      // The challenge commits to the step the token signs (dynamic linking); re-derived, not trusted.
      if (!Buffer.from(isoBase64URL.toBuffer(challenge.challenge)).subarray(CHALLENGE_NONCE_BYTES).equals(stepDigest(claims))) {
        throw new PivotError('PASSKEY_CHALLENGE_INVALID');
      }
      if (clientData.origin !== origin) throw new PivotError('PASSKEY_ORIGIN_MISMATCH');
      const credential = credentials.find((row) => row.credential_id === assertion.id);
      if (!credential) throw new PivotError('PASSKEY_CREDENTIAL_UNKNOWN');
      let authData: ReturnType<typeof parseAuthenticatorData>;
      try {
        authData = parseAuthenticatorData(isoBase64URL.toBuffer(assertion.response.authenticatorData));
      } catch (error) {
        throw new PivotError('PASSKEY_ASSERTION_INVALID', undefined, { cause: error });
      }
      if (!Buffer.from(authData.rpIdHash).equals(rpIdHash)) throw new PivotError('PASSKEY_ORIGIN_MISMATCH');
      if (!authData.flags.uv) throw new PivotError('PASSKEY_USER_NOT_VERIFIED');
      if ((authData.counter > 0 || credential.counter > 0) && authData.counter <= credential.counter) {
        throw new PivotError('PASSKEY_COUNTER_REGRESSED');
      }
      let newCounter: number;
      try {
        const result = await verifyAuthenticationResponse({
          response: assertion as Parameters<typeof verifyAuthenticationResponse>[0]['response'],
          expectedChallenge: challenge.challenge,
          expectedOrigin: origin,
          expectedRPID: rpId,
          credential: { id: credential.credential_id, publicKey: new Uint8Array(credential.public_key), counter: credential.counter, transports: transportsOf(credential) },
          requireUserVerification: true,
        });
        if (!result.verified) throw new Error('not verified');
        newCounter = result.authenticationInfo.newCounter;
      } catch (error) {
        throw new PivotError('PASSKEY_ASSERTION_INVALID', undefined, { cause: error });
      }
      return {
        method: 'passkey',
        credentialId: credential.credential_id,
        commit: () => {
          if (useChallenge.run(now, challenge.challenge).changes !== 1) throw new PivotError('PASSKEY_CHALLENGE_INVALID');
          updateCounter.run(newCounter, new Date(now).toISOString(), credential.credential_id);
        },
      };
    },
  };
}

/** The client data of a WebAuthn response, or PASSKEY_ASSERTION_INVALID. */
function readClientData(encoded: string): { type: string; challenge: string; origin: string } {
  try {
    const data = decodeClientDataJSON(encoded) as { type?: unknown; challenge?: unknown; origin?: unknown };
    if (typeof data.type === 'string' && typeof data.challenge === 'string' && typeof data.origin === 'string') {
      return { type: data.type, challenge: data.challenge, origin: data.origin };
    }
  } catch {
    // Falls through to the refusal: not JSON, not base64url.
  }
  throw new PivotError('PASSKEY_ASSERTION_INVALID');
}
