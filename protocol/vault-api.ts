/**
 * Vault frame <-> vault service (same origin), and vault service -> chat server notices.
 *
 *   GET  /frame                    the frame page (strict CSP, frame-ancestors = bank origins)
 *   GET  /frame/assets/*           the frame's scripts (hashed names)
 *   GET  /v1/issuer-jwks           the trusted issuer's JWKS, fetched server-side by the vault
 *                                  from its OWN configuration (lets the frame keep connect-src 'self')
 *   POST /v1/tokens                TokenizeRequest -> CardDisplay (201) | ErrorBody
 *   GET  /.well-known/jwks.json    the vault's notice-signing public keys
 *
 *   vault service -> chat server:  POST {CHAT_INTERNAL_URL}/v1/vault/notices  VaultNoticeEnvelope
 *
 * @module
 */
import * as v from 'valibot';
import { CardDisplaySchema } from './frame.ts';

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

/** JOSE `typ` of the vault -> chat notice. */
export const VAULT_NOTICE_TYP = 'vault-notice+jwt';
/** A notice lives this long, in seconds. */
export const VAULT_NOTICE_TTL_S = 60;

/** Claims of the signed notice (ES256, kid from the vault's JWKS). */
export const VaultNoticeClaimsSchema = v.object({
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
  event: v.literal('card_tokenized'),
  card: CardDisplaySchema,
});
export type VaultNoticeClaims = v.InferOutput<typeof VaultNoticeClaimsSchema>;

export const VaultNoticeEnvelopeSchema = v.strictObject({ notice: v.pipe(v.string(), v.maxLength(8192)) });
