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
 *
 *   Each POST accepts only a pivot token whose `step.kind` is the endpoint's kind
 *   (TOKEN_STEP_KIND_MISMATCH otherwise) and consumes the token's `jti` once.
 *   GET  /.well-known/jwks.json    the vault's notice-signing public keys
 *
 *   vault service -> chat server:  POST {CHAT_INTERNAL_URL}/v1/vault/notices  VaultNoticeEnvelope
 *
 * @module
 */
import * as v from 'valibot';
import { AddressSummarySchema, CardDisplaySchema } from './frame.ts';
import { AmountSchema, PayeeSchema } from './pivot-token.ts';

/** Largest body `POST /v1/tokens` accepts, in bytes. */
export const TOKENIZE_MAX_BODY_BYTES = 8 * 1024;

export const TokenizeRequestSchema = v.strictObject({
  pivotToken: v.pipe(v.string(), v.minLength(1), v.maxLength(4096)),
  card: v.strictObject({
    number: v.pipe(v.string(), v.regex(/^[0-9 ]{12,23}$/)),
    expMonth: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(12)),
    expYear: v.pipe(v.number(), v.integer(), v.minValue(2000), v.maxValue(2100)),
    cvc: v.pipe(v.string(), v.regex(/^[0-9]{3,4}$/)),
    name: v.optional(v.pipe(v.string(), v.maxLength(100))),
  }),
});
export type TokenizeRequest = v.InferOutput<typeof TokenizeRequestSchema>;

export const TokenizeResponseSchema = CardDisplaySchema;

/** Largest body `POST /v1/addresses` accepts, in bytes (a pivot token + one postal address). */
export const ADDRESS_MAX_BODY_BYTES = 6 * 1024;
/** Largest body `POST /v1/transfer-confirmations` accepts, in bytes (a pivot token + the answer). */
export const TRANSFER_CONFIRMATION_MAX_BODY_BYTES = 5 * 1024;
/** Most address lines (street, building, ...). */
export const ADDRESS_MAX_LINES = 3;
/** Longest address line, in characters. */
export const ADDRESS_LINE_MAX_CHARS = 70;
/** Longest postcode, in characters. */
export const POSTCODE_MAX_CHARS = 10;

const pivotToken = v.pipe(v.string(), v.minLength(1), v.maxLength(4096));
/** Structural bounds only; the field rules (and their ADDRESS_* codes) are in vault/shared/address.ts. */
const loose = (max: number) => v.pipe(v.string(), v.maxLength(max));

export const AddressChangeRequestSchema = v.strictObject({
  pivotToken,
  address: v.strictObject({
    lines: v.pipe(v.array(loose(2 * ADDRESS_LINE_MAX_CHARS)), v.minLength(1), v.maxLength(ADDRESS_MAX_LINES)),
    postcode: loose(2 * POSTCODE_MAX_CHARS),
    city: loose(200),
    country: loose(8),
  }),
});
export type AddressChangeRequest = v.InferOutput<typeof AddressChangeRequestSchema>;
export type PostalAddress = AddressChangeRequest['address'];

/** 201 answer of `POST /v1/addresses`: what may be shown outside the vault. */
export const AddressChangeResponseSchema = AddressSummarySchema;

/** What the customer pressed in the frame. */
export const TRANSFER_DECISIONS = ['confirm', 'decline'] as const;
export type TransferDecision = (typeof TRANSFER_DECISIONS)[number];

export const TransferConfirmationRequestSchema = v.strictObject({
  pivotToken,
  decision: v.picklist(TRANSFER_DECISIONS),
});
export type TransferConfirmationRequest = v.InferOutput<typeof TransferConfirmationRequestSchema>;

export const TransferConfirmationResponseSchema = v.strictObject({ outcome: v.picklist(['confirmed', 'declined']) });
export type TransferConfirmationResponse = v.InferOutput<typeof TransferConfirmationResponseSchema>;

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

/** The transfer as signed in the pivot token; the chat server checks it against its step. */
const TransferNoticeSchema = v.object({ amount: AmountSchema, payee: PayeeSchema });

/** Claims of the signed notice (ES256, kid from the vault's JWKS), one shape per `event`. */
export const VaultNoticeClaimsSchema = v.variant('event', [
  v.object({ ...noticeBase, event: v.literal('card_tokenized'), card: CardDisplaySchema }),
  v.object({ ...noticeBase, event: v.literal('address_changed'), address: AddressSummarySchema }),
  v.object({ ...noticeBase, event: v.literal('transfer_confirmed'), transfer: TransferNoticeSchema }),
  v.object({ ...noticeBase, event: v.literal('transfer_declined'), transfer: TransferNoticeSchema }),
]);
export type VaultNoticeClaims = v.InferOutput<typeof VaultNoticeClaimsSchema>;
export type VaultNoticeEvent = VaultNoticeClaims['event'];

export const VaultNoticeEnvelopeSchema = v.strictObject({ notice: v.pipe(v.string(), v.maxLength(8192)) });
