/**
 * Passkeys in the vault (frame <-> vault service, same origin): the customer's own authenticator
 * is the proof that the customer, and nobody holding their pivot token, answers a step.
 *
 *   POST /v1/passkeys/enrolments  {pivotToken}                 -> 201 PasskeyEnrolmentStart
 *        needs a token at acr `bank`; a one-time code goes to the customer over a channel the bank
 *        page cannot see (the conversation's messaging app), never to the page
 *   POST /v1/passkeys             {pivotToken, enrolmentId, code, credential} -> 201 {credentialId}
 *   POST /v1/passkeys/challenges  {pivotToken}                 -> 201 PasskeyChallenge, or 200
 *        {enrolled: false} for a customer with no passkey (an ordinary answer, not an error)
 *        a WebAuthn challenge for THIS step (kind, amount, payee, reference), single use
 *   each step answer              {..., assertion}             the assertion for that challenge
 *
 * The relying party is the vault's own origin (its host name is the rpId): the frame is where the
 * ceremonies run, and the vault is the only party that verifies them (docs/decisions/0010).
 *
 * @module
 */
import * as v from 'valibot';
import { PivotTokenFieldSchema } from './values.ts';

export const PASSKEY_ENROLMENTS_PATH = '/v1/passkeys/enrolments';
export const PASSKEYS_PATH = '/v1/passkeys';
export const PASSKEY_CHALLENGES_PATH = '/v1/passkeys/challenges';

/** A step challenge is valid this long, in seconds (the customer taps within it). */
export const PASSKEY_CHALLENGE_TTL_S = 120;
/** An enrolment (its code and its creation challenge) is valid this long, in seconds. */
export const PASSKEY_ENROLMENT_TTL_S = 10 * 60;
/** Digits of the enrolment confirmation code. */
export const PASSKEY_CODE_DIGITS = 6;
/** Wrong codes one enrolment allows; then it is void and the customer starts again. */
export const PASSKEY_CODE_MAX_ATTEMPTS = 5;
/** Enrolments one customer may start per hour (each sends a message to their phone). */
export const PASSKEY_ENROLMENTS_PER_HOUR = 5;
/** Passkeys one customer may hold. */
export const PASSKEYS_PER_CUSTOMER = 10;
/** Largest body of `POST /v1/passkeys` (token, code and attestation), in bytes. */
export const PASSKEY_REGISTRATION_MAX_BODY_BYTES = 16 * 1024;
/** Largest body of the other passkey routes, in bytes. */
export const PASSKEY_MAX_BODY_BYTES = 5 * 1024;

/** Longest base64url field of a WebAuthn response (an attestation object with its certificates). */
const B64_MAX_CHARS = 8 * 1024;
const b64url = (max = B64_MAX_CHARS) => v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]+$/), v.maxLength(max));
/** A credential id: at most 1023 bytes by the WebAuthn spec, so at most 1364 base64url characters. */
export const CredentialIdSchema = b64url(1364);
const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

/** The frame's `credential.toJSON()` of `navigator.credentials.create()` (RegistrationResponseJSON). */
export const RegistrationResponseSchema = v.object({
  id: CredentialIdSchema,
  rawId: CredentialIdSchema,
  type: v.literal('public-key'),
  response: v.object({
    clientDataJSON: b64url(2048),
    attestationObject: b64url(),
    authenticatorData: v.optional(b64url()),
    transports: v.optional(v.pipe(v.array(v.picklist(TRANSPORTS)), v.maxLength(TRANSPORTS.length))),
    publicKeyAlgorithm: v.optional(v.number()),
    publicKey: v.optional(b64url(2048)),
  }),
  authenticatorAttachment: v.optional(v.picklist(['platform', 'cross-platform'])),
  clientExtensionResults: v.record(v.string(), v.unknown()),
});
export type RegistrationResponse = v.InferOutput<typeof RegistrationResponseSchema>;

/** The frame's `credential.toJSON()` of `navigator.credentials.get()` (AuthenticationResponseJSON). */
export const AuthenticationResponseSchema = v.object({
  id: CredentialIdSchema,
  rawId: CredentialIdSchema,
  type: v.literal('public-key'),
  response: v.object({
    clientDataJSON: b64url(2048),
    authenticatorData: b64url(2048),
    signature: b64url(512),
    userHandle: v.optional(v.nullable(b64url(128))),
  }),
  authenticatorAttachment: v.optional(v.nullable(v.picklist(['platform', 'cross-platform']))),
  clientExtensionResults: v.record(v.string(), v.unknown()),
});
export type AuthenticationResponse = v.InferOutput<typeof AuthenticationResponseSchema>;

export const PasskeyTokenRequestSchema = v.strictObject({ pivotToken: PivotTokenFieldSchema });

/** Where the enrolment code went: the messaging app's name, for the frame to say. */
export const PasskeyEnrolmentStartSchema = v.strictObject({
  enrolmentId: v.pipe(v.string(), v.regex(/^enr_[A-Za-z0-9_-]{16,64}$/)),
  /** PublicKeyCredentialCreationOptionsJSON, for `PublicKeyCredential.parseCreationOptionsFromJSON`. */
  options: v.record(v.string(), v.unknown()),
  expiresAt: v.string(),
});
export type PasskeyEnrolmentStart = v.InferOutput<typeof PasskeyEnrolmentStartSchema>;

export const PasskeyRegistrationRequestSchema = v.strictObject({
  pivotToken: PivotTokenFieldSchema,
  enrolmentId: PasskeyEnrolmentStartSchema.entries.enrolmentId,
  code: v.pipe(v.string(), v.regex(new RegExp(`^[0-9]{${PASSKEY_CODE_DIGITS}}$`))),
  credential: RegistrationResponseSchema,
});
export type PasskeyRegistrationRequest = v.InferOutput<typeof PasskeyRegistrationRequestSchema>;

export const PasskeyRegistrationResponseSchema = v.strictObject({ credentialId: CredentialIdSchema });

/** 200 answer of the challenge route for a customer who has no passkey. */
export const PasskeyNotEnrolledSchema = v.strictObject({ enrolled: v.literal(false) });

export const PasskeyChallengeSchema = v.strictObject({
  enrolled: v.literal(true),
  /** PublicKeyCredentialRequestOptionsJSON, for `PublicKeyCredential.parseRequestOptionsFromJSON`. */
  options: v.record(v.string(), v.unknown()),
  expiresAt: v.string(),
});
export type PasskeyChallenge = v.InferOutput<typeof PasskeyChallengeSchema>;

/** How the customer was verified for an answer, as the vault's notice tells the chat server. */
export const VERIFICATION_METHODS = ['passkey', 'bank', 'link'] as const;
export type VerificationMethod = (typeof VERIFICATION_METHODS)[number];

/**
 * What a step kind accepts from a customer who has NO passkey (the bank's policy, per kind;
 * a customer who has one always answers with it):
 * - `refuse`: nothing; the frame offers to create a passkey first (the default for every kind
 *   that needs nothing else from the customer: a pivot token alone would answer it);
 * - `bank`: a pivot token at acr `bank` suffices, as before passkeys. Weaker: a compromised bank
 *   page holding the customer's sessions can obtain such a token; acceptable for a card payment,
 *   which also needs a real card.
 */
export const WITHOUT_PASSKEY_POLICIES = ['refuse', 'bank'] as const;
export type WithoutPasskeyPolicy = (typeof WITHOUT_PASSKEY_POLICIES)[number];
