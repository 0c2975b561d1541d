/**
 * The configuration the vault service embeds in the frame page, as NON-executable data:
 *
 *     <script type="application/json" id="spc-vault-config">{...}</script>
 *
 * The service writes it (vault/service/http/frame-page.ts); the frame reads and validates it
 * (vault/frame/config.ts). Nothing in it is secret: it is what the page's own CSP already says.
 *
 * @module
 */
import * as v from 'valibot';

/** `id` of the JSON data element in the frame page. */
export const FRAME_CONFIG_ELEMENT_ID = 'spc-vault-config';
/** Same-origin path where the frame fetches the trusted issuer's JWKS (CSP `connect-src 'self'`). */
export const ISSUER_JWKS_PATH = '/v1/issuer-jwks';
/** The step endpoints' paths are declared by each step kind (protocol/steps/). */
export { ADDRESSES_PATH, TOKENS_PATH, TRANSFER_CONFIRMATIONS_PATH } from '../../protocol/steps/index.ts';
/** Path of the vault's own notice-signing keys. */
export const VAULT_JWKS_PATH = '/.well-known/jwks.json';
/** Path prefix of the frame's static assets. */
export const FRAME_ASSETS_PATH = '/frame/assets';

const origin = v.pipe(v.string(), v.url(), v.maxLength(200));

export const FrameConfigSchema = v.strictObject({
  version: v.literal(1),
  /** Host-page origins the frame may sit in (same list as CSP `frame-ancestors`). */
  allowedParentOrigins: v.pipe(v.array(origin), v.minLength(1), v.maxLength(32)),
  /** The only pivot-token issuer trusted. */
  issuer: origin,
  /** The vault's own origin: the pivot token's expected `aud`. */
  audience: origin,
  /** Refuse answers where IntersectionObserver v2 is missing (`VAULT_REQUIRE_VISIBILITY_CHECK`). */
  strictVisibility: v.optional(v.boolean()),
});
export type FrameConfig = v.InferOutput<typeof FrameConfigSchema>;

/**
 * Serialise the config for embedding inside a `<script type="application/json">` element:
 * `<`, `>` and `&` are escaped so the text can never close the element or start markup.
 */
export function serializeFrameConfig(config: FrameConfig): string {
  return JSON.stringify(v.parse(FrameConfigSchema, config))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
