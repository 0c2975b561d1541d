/**
 * Vault frame <-> vault service (same origin), and vault service -> chat server notices.
 *
 *   GET  /frame                    the frame page (strict CSP, frame-ancestors = bank origins)
 *   GET  /frame/assets/*           the frame's scripts (hashed names)
 *   GET  /v1/issuer-jwks           the trusted issuer's JWKS, fetched server-side by the vault
 *                                  from its OWN configuration (lets the frame keep connect-src 'self')
 *   POST /v1/tokens                TokenizeRequest -> CardDisplay (201) | ErrorBody   (card_payment)
 *   POST /v1/addresses             AddressChangeRequest -> AddressSummary (201)       (address_change)
 *   POST /v1/transfer-confirmations TransferConfirmationRequest -> TransferConfirmationResponse (201) (transfer)
 *   POST /v1/payee-confirmations   PayeeConfirmationRequest -> PayeeConfirmationResponse (201) (payee_confirmation)
 *   (each step kind declares its path, body limit and schemas in protocol/steps/<kind>.ts)
 *
 *   Each POST accepts only a pivot token whose `step.kind` is the endpoint's kind
 *   (TOKEN_STEP_KIND_MISMATCH otherwise) and consumes the token's `jti` once.
 *   GET  /.well-known/jwks.json    the vault's notice-signing public keys
 *
 *   vault service -> chat server:  POST {CHAT_INTERNAL_URL}/v1/vault/notices  VaultNoticeEnvelope
 *                                  ({ notice } or a batch { notices } -> VaultNoticeBatchResponse)
 *
 *   bank back end -> vault service (server to server, never a browser):
 *   POST /v1/charges               ChargeRequest -> ChargeResponse (201) | ErrorBody
 *                                  `Authorization: Bearer <client credential>` (ES256 JWS, typ
 *                                  `vault-client+jwt`, one per request); any `Origin` -> 403
 *   vault service -> processor:    POST {VAULT_PROCESSOR_URL}  ProcessorChargeRequest -> ProcessorChargeResponse
 *
 * @module
 */
import * as v from 'valibot';
import { ERROR_CODES } from './errors.ts';
import { AddressSummarySchema, CardDisplaySchema, PayeeNoticeSchema, TransferNoticeSchema } from './steps/index.ts';
import { AmountSchema } from './values.ts';
import { PASSKEY_CODE_DIGITS, VERIFICATION_METHODS } from './passkeys.ts';

export {
  ADDRESS_LINE_MAX_CHARS,
  ADDRESS_MAX_BODY_BYTES,
  ADDRESS_MAX_LINES,
  AddressChangeRequestSchema,
  AddressChangeResponseSchema,
  POSTCODE_MAX_CHARS,
  TOKENIZE_MAX_BODY_BYTES,
  TRANSFER_CONFIRMATION_MAX_BODY_BYTES,
  TRANSFER_DECISIONS,
  TokenizeRequestSchema,
  TokenizeResponseSchema,
  TransferConfirmationRequestSchema,
  TransferConfirmationResponseSchema,
  type AddressChangeRequest,
  type PostalAddress,
  type TokenizeRequest,
  type TransferConfirmationRequest,
  type TransferConfirmationResponse,
  type TransferDecision,
} from './steps/index.ts';

/** JOSE `typ` of the vault -> chat notice. */
export const VAULT_NOTICE_TYP = 'vault-notice+jwt';
/** A notice lives this long, in seconds. */
export const VAULT_NOTICE_TTL_S = 60;

const noticeBase = {
  iss: v.pipe(v.string(), v.url()),
  aud: v.pipe(v.string(), v.url()),
  jti: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
  iat: v.number(),
  exp: v.number(),
  /** Conversation id, from the pivot token. */
  cnv: v.string(),
  /** Step id, from the pivot token. */
  stp: v.string(),
  /** jti of the pivot token this notice closes. */
  ptj: v.string(),
};

/** A step's answer also says how the customer was verified for it (absent from older vaults). */
const stepNoticeBase = { ...noticeBase, verified: v.optional(v.picklist(VERIFICATION_METHODS)) };

/**
 * Claims of the signed notice (ES256, kid from the vault's JWKS), one shape per `event`: a
 * step's answer, or a passkey event of the step's conversation (`passkey_code`: send this
 * enrolment code over the conversation's messaging app, and store it nowhere; `passkey_enrolled`:
 * the customer added a passkey).
 */
export const VaultNoticeClaimsSchema = v.variant('event', [
  v.object({ ...stepNoticeBase, event: v.literal('card_tokenized'), card: CardDisplaySchema }),
  v.object({ ...stepNoticeBase, event: v.literal('address_changed'), address: AddressSummarySchema }),
  v.object({ ...stepNoticeBase, event: v.literal('transfer_confirmed'), transfer: TransferNoticeSchema }),
  v.object({ ...stepNoticeBase, event: v.literal('transfer_declined'), transfer: TransferNoticeSchema }),
  v.object({ ...stepNoticeBase, event: v.literal('payee_confirmed'), payee: PayeeNoticeSchema }),
  v.object({ ...stepNoticeBase, event: v.literal('payee_declined'), payee: PayeeNoticeSchema }),
  v.object({
    ...noticeBase,
    event: v.literal('passkey_code'),
    code: v.pipe(v.string(), v.regex(new RegExp(`^[0-9]{${PASSKEY_CODE_DIGITS}}$`))),
    /** Epoch seconds: when the code stops working. */
    codeExp: v.pipe(v.number(), v.integer()),
  }),
  v.object({ ...noticeBase, event: v.literal('passkey_enrolled') }),
]);
/** The notice events that answer a step (the others are passkey events). */
export const STEP_NOTICE_EVENTS = ['card_tokenized', 'address_changed', 'transfer_confirmed', 'transfer_declined', 'payee_confirmed', 'payee_declined'] as const;
export type VaultNoticeClaims = v.InferOutput<typeof VaultNoticeClaimsSchema>;
export type VaultNoticeEvent = VaultNoticeClaims['event'];

/** Longest signed notice (compact JWS), in characters. */
export const VAULT_NOTICE_MAX_CHARS = 8192;
/** Most notices in one `{ notices }` envelope. */
export const VAULT_NOTICE_BATCH_MAX = 50;
/**
 * Largest body `POST /v1/vault/notices` accepts, in bytes: a full batch of the longest notices
 * as compact JSON (`{"notices":["…","…"]}`), with a little room to spare (~400 KiB).
 */
export const VAULT_NOTICE_MAX_BODY_BYTES = VAULT_NOTICE_BATCH_MAX * (VAULT_NOTICE_MAX_CHARS + 3) + 64;

const noticeJws = v.pipe(v.string(), v.minLength(1), v.maxLength(VAULT_NOTICE_MAX_CHARS));

/**
 * Body of `POST /v1/vault/notices`: one notice (`{ notice }`, answered 200 `{ accepted, seq }` or
 * an error), or a batch (`{ notices }`, 1..VAULT_NOTICE_BATCH_MAX, each a separately signed JWS
 * with its own `jti`, answered 200 VaultNoticeBatchResponse).
 */
export const VaultNoticeEnvelopeSchema = v.union([
  v.strictObject({ notice: noticeJws }),
  v.strictObject({ notices: v.pipe(v.array(noticeJws), v.minLength(1), v.maxLength(VAULT_NOTICE_BATCH_MAX)) }),
]);
export type VaultNoticeEnvelope = v.InferOutput<typeof VaultNoticeEnvelopeSchema>;

/**
 * What became of one notice of a batch: `accepted` (applied now), `replayed` (its `jti` was
 * already received: NOTICE_REPLAYED), `invalid` (refused; `code` is the 4xx error code the single
 * form would have answered, e.g. NOTICE_INVALID, STEP_ALREADY_COMPLETED). A failure that is not
 * the notice's fault (JWKS_UNAVAILABLE, INTERNAL_ERROR) fails the whole request with its error
 * body instead, and the sender retries the whole batch (notices applied before it come back as
 * `replayed`).
 */
export const VAULT_NOTICE_RESULT_STATUSES = ['accepted', 'replayed', 'invalid'] as const;
export type VaultNoticeResultStatus = (typeof VAULT_NOTICE_RESULT_STATUSES)[number];

export const VaultNoticeResultSchema = v.strictObject({
  /** The notice's `jti`, once its signature verified. */
  jti: v.optional(noticeBase.jti),
  status: v.picklist(VAULT_NOTICE_RESULT_STATUSES),
  code: v.optional(v.picklist(ERROR_CODES)),
});
export type VaultNoticeResult = v.InferOutput<typeof VaultNoticeResultSchema>;

/** 200 answer to a `{ notices }` batch: one result per notice, in the order they were sent. */
export const VaultNoticeBatchResponseSchema = v.strictObject({
  results: v.pipe(v.array(VaultNoticeResultSchema), v.minLength(1), v.maxLength(VAULT_NOTICE_BATCH_MAX)),
});
export type VaultNoticeBatchResponse = v.InferOutput<typeof VaultNoticeBatchResponseSchema>;

// ---- processor-facing charges (bank back end -> vault -> processor) ----

/** Path of the charge API on the vault origin. */
export const CHARGES_PATH = '/v1/charges';
/** Largest body `POST /v1/charges` accepts, in bytes. */
export const CHARGE_MAX_BODY_BYTES = 2 * 1024;
/** JOSE `typ` of the bank back end's client credential. */
export const VAULT_CLIENT_TYP = 'vault-client+jwt';
/** Algorithms a client credential may use. */
export const VAULT_CLIENT_ALGS = ['ES256'] as const;
/** Longest a client credential may live (`exp - iat`), in seconds. */
export const CLIENT_CREDENTIAL_MAX_LIFETIME_S = 60;
/** Clock skew tolerated on a client credential's `iat`/`exp`, in seconds. */
export const CLIENT_CREDENTIAL_CLOCK_SKEW_S = 30;
/** Longest `jti` of a client credential, in characters. */
export const CLIENT_JTI_MAX_CHARS = 128;
/** Longest idempotency key, in characters. */
export const IDEMPOTENCY_KEY_MAX_CHARS = 128;
/** Shortest idempotency key, in characters (a UUID or 16+ random characters). */
export const IDEMPOTENCY_KEY_MIN_CHARS = 16;
/** Longest charge reference, in characters. */
export const CHARGE_REFERENCE_MAX_CHARS = 64;

/** A card token as `POST /v1/tokens` issues it: `tok_` + base64url. */
export const CardTokenSchema = v.pipe(v.string(), v.regex(/^tok_[A-Za-z0-9_-]{16,64}$/));

/** Claims of the client credential; `iss` is the client id bound to the signing key. */
export const ClientCredentialClaimsSchema = v.object({
  iss: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)),
  aud: v.union([v.string(), v.array(v.string())]),
  iat: v.pipe(v.number(), v.integer()),
  exp: v.pipe(v.number(), v.integer()),
  jti: v.pipe(v.string(), v.regex(new RegExp(`^[A-Za-z0-9._:-]{16,${CLIENT_JTI_MAX_CHARS}}$`))),
});
export type ClientCredentialClaims = v.InferOutput<typeof ClientCredentialClaimsSchema>;

/** Amount bounds are AmountSchema's: 1 ..= 100,000,000 minor units, ISO 4217 currency. */
export const ChargeRequestSchema = v.strictObject({
  token: CardTokenSchema,
  amount: v.strictObject({ minor: AmountSchema.entries.minor, currency: AmountSchema.entries.currency }),
  reference: v.pipe(v.string(), v.regex(new RegExp(`^[A-Za-z0-9 ._:/#-]{1,${CHARGE_REFERENCE_MAX_CHARS}}$`))),
  idempotencyKey: v.pipe(
    v.string(),
    v.regex(new RegExp(`^[A-Za-z0-9._:-]{${IDEMPOTENCY_KEY_MIN_CHARS},${IDEMPOTENCY_KEY_MAX_CHARS}}$`)),
  ),
});
export type ChargeRequest = v.InferOutput<typeof ChargeRequestSchema>;

export const CHARGE_STATUSES = ['approved', 'declined'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

/** 201 answer of `POST /v1/charges` (also for a decline, and for an idempotent replay). Never the PAN. */
export const ChargeResponseSchema = v.strictObject({
  chargeId: v.pipe(v.string(), v.regex(/^chg_[A-Za-z0-9_-]{16,64}$/)),
  status: v.picklist(CHARGE_STATUSES),
  processorReference: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  card: v.strictObject({ brand: CardDisplaySchema.entries.brand, last4: CardDisplaySchema.entries.last4 }),
});
export type ChargeResponse = v.InferOutput<typeof ChargeResponseSchema>;

/**
 * What the vault posts to the processor (in PCI scope, like the vault). `cvc` only on the first
 * charge of a card, while the vault still holds it; `chargeId` is the processor's idempotency key
 * (the same on a retry after PROCESSOR_UNAVAILABLE).
 */
export const ProcessorChargeRequestSchema = v.strictObject({
  chargeId: ChargeResponseSchema.entries.chargeId,
  pan: v.pipe(v.string(), v.regex(/^[0-9]{12,19}$/)),
  expMonth: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)),
  expYear: v.pipe(v.number(), v.integer(), v.minValue(2000), v.maxValue(2100)),
  cvc: v.optional(v.pipe(v.string(), v.regex(/^[0-9]{3,4}$/))),
  amount: AmountSchema,
  reference: ChargeRequestSchema.entries.reference,
});
export type ProcessorChargeRequest = v.InferOutput<typeof ProcessorChargeRequestSchema>;

/** The processor's 2xx answer; anything else is PROCESSOR_UNAVAILABLE. */
export const ProcessorChargeResponseSchema = v.object({
  status: v.picklist(CHARGE_STATUSES),
  reference: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
});
export type ProcessorChargeResponse = v.InferOutput<typeof ProcessorChargeResponseSchema>;
