/**
 * The one error catalog. Every failure that crosses a boundary (HTTP, WebSocket, postMessage)
 * carries `{ code, message }` with a code from this table. Callers switch on `code`, never on
 * `message`. Codes are grouped by who must act, in the manner of Braintree's catalog:
 *
 * - CUSTOMER: the person at the keyboard can fix it (bad card number, sign in again).
 * - MERCHANT: the bank's integration is wrong (origin not allowed, bad configuration).
 * - NETWORK:  transient; retrying may help.
 * - INTERNAL: our bug or an attack; nothing the caller can do but report it.
 *
 * docs/errors.md documents every code; a test fails when the two disagree.
 *
 * @module
 */

export type ErrorAudience = 'CUSTOMER' | 'MERCHANT' | 'NETWORK' | 'INTERNAL';

interface CatalogEntry {
  readonly status: number;
  readonly audience: ErrorAudience;
  readonly message: string;
}

export const ERROR_CATALOG = {
  // ---- generic request validation ----
  BAD_REQUEST: { status: 400, audience: 'MERCHANT', message: 'The request does not match the schema.' },
  BODY_TOO_LARGE: { status: 413, audience: 'MERCHANT', message: 'The request body is larger than allowed.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, audience: 'MERCHANT', message: 'The request body has a content type this route does not accept.' },
  NOT_FOUND: { status: 404, audience: 'MERCHANT', message: 'No such resource.' },
  RATE_LIMITED: { status: 429, audience: 'CUSTOMER', message: 'Too many requests; slow down.' },
  INTERNAL_ERROR: { status: 500, audience: 'INTERNAL', message: 'Something went wrong on our side.' },
  UPSTREAM_UNAVAILABLE: { status: 502, audience: 'NETWORK', message: 'A service we depend on did not answer.' },

  // ---- sessions and authentication (chat server) ----
  UNAUTHENTICATED: { status: 401, audience: 'CUSTOMER', message: 'A valid session is required.' },
  SESSION_EXPIRED: { status: 401, audience: 'CUSTOMER', message: 'The session has expired; start again.' },
  FORBIDDEN: { status: 403, audience: 'MERCHANT', message: 'This session may not do that.' },
  ORIGIN_NOT_ALLOWED: { status: 403, audience: 'MERCHANT', message: 'The request comes from an origin that is not configured.' },
  BAD_CREDENTIALS: { status: 401, audience: 'CUSTOMER', message: 'Name or password is wrong.' },
  LOGIN_THROTTLED: { status: 429, audience: 'CUSTOMER', message: 'Too many failed sign-ins; wait before trying again (see Retry-After).' },
  LOGIN_LOCKED: { status: 403, audience: 'CUSTOMER', message: 'Sign-in is locked after too many failures; an operator must unlock it.' },
  SESSION_REVOKED: { status: 401, audience: 'CUSTOMER', message: 'This session was signed out; sign in again.' },
  AGENT_PASSWORD_REQUIRED: { status: 500, audience: 'MERCHANT', message: 'Outside demo mode (DEMO_MODE) the chat server needs AGENT_PASSWORD set, and not to the demo password; it did not start.' },
  STEP_UP_REQUIRED: { status: 403, audience: 'CUSTOMER', message: 'Please sign in to the bank to continue.' },
  STEP_NOT_FOUND: { status: 404, audience: 'MERCHANT', message: 'No such step in this conversation.' },
  STEP_ALREADY_COMPLETED: { status: 409, audience: 'CUSTOMER', message: 'This step has already been completed.' },
  WS_TICKET_INVALID: { status: 401, audience: 'CUSTOMER', message: 'The connection ticket is unknown, used or expired.' },
  WS_TOO_MANY_TICKETS: { status: 429, audience: 'CUSTOMER', message: 'This session holds too many unused connection tickets; use one or wait for them to expire.' },
  WS_TOO_MANY_SOCKETS: { status: 429, audience: 'CUSTOMER', message: 'This session has too many open connections; close one first.' },

  // ---- pivot links (public channel -> bank site) ----
  PIVOT_LINK_INVALID: { status: 400, audience: 'CUSTOMER', message: 'This secure link is not valid. Ask your advisor for a new one.' },
  PIVOT_LINK_EXPIRED: { status: 410, audience: 'CUSTOMER', message: 'This secure link has expired. Ask your advisor for a new one.' },
  PIVOT_LINK_USED: { status: 409, audience: 'CUSTOMER', message: 'This secure link has already been used. Ask your advisor for a new one.' },

  // ---- bank identity assertions (OIDC id_token from the bank's IdP) ----
  IDP_NOT_CONFIGURED: { status: 403, audience: 'MERCHANT', message: 'No identity provider is configured for this bank.' },
  ID_TOKEN_INVALID: { status: 401, audience: 'MERCHANT', message: 'The identity token is malformed or its signature does not verify.' },
  ID_TOKEN_EXPIRED: { status: 401, audience: 'CUSTOMER', message: 'The bank sign-in has expired; please sign in again.' },
  ID_TOKEN_ISSUER_INVALID: { status: 401, audience: 'MERCHANT', message: 'The identity token comes from an issuer that is not configured.' },
  ID_TOKEN_AUDIENCE_INVALID: { status: 401, audience: 'MERCHANT', message: 'The identity token is meant for another client.' },
  ID_TOKEN_NONCE_INVALID: { status: 401, audience: 'MERCHANT', message: 'The identity token does not carry the nonce this session asked for, or the nonce was used.' },
  IDENTITY_MISMATCH: { status: 403, audience: 'CUSTOMER', message: 'The bank sign-in is for a different customer than this conversation.' },

  // ---- public channels (Messenger, WhatsApp, SMS) ----
  WEBHOOK_SIGNATURE_MISSING: { status: 401, audience: 'INTERNAL', message: 'The webhook request carries no signature.' },
  WEBHOOK_SIGNATURE_INVALID: { status: 403, audience: 'INTERNAL', message: 'The webhook signature does not match the body.' },
  WEBHOOK_VERIFY_FAILED: { status: 403, audience: 'MERCHANT', message: 'The webhook verification token does not match.' },
  CHANNEL_NOT_CONFIGURED: { status: 404, audience: 'MERCHANT', message: 'This channel is not configured on this server.' },
  CHANNEL_NOT_AVAILABLE: { status: 409, audience: 'MERCHANT', message: 'This conversation has no public channel to send to.' },
  CHANNEL_WINDOW_CLOSED: { status: 409, audience: 'MERCHANT', message: 'WhatsApp allows free-form messages only within 24 hours of the customer\'s last message, and no template is configured.' },
  CHANNEL_SEND_FAILED: { status: 502, audience: 'NETWORK', message: 'The messaging platform did not accept the message.' },

  // ---- chat wire protocol ----
  FRAME_INVALID: { status: 400, audience: 'INTERNAL', message: 'The WebSocket frame does not match the schema.' },
  FRAME_TOO_LARGE: { status: 413, audience: 'INTERNAL', message: 'The WebSocket frame is larger than allowed.' },
  MESSAGE_TOO_LONG: { status: 400, audience: 'CUSTOMER', message: 'The message is too long.' },
  CONVERSATION_NOT_FOUND: { status: 404, audience: 'MERCHANT', message: 'No such conversation.' },
  CURSOR_INVALID: { status: 400, audience: 'MERCHANT', message: 'The list cursor is malformed; start again from the first page.' },

  // ---- pivot token (vault frame and vault service) ----
  TOKEN_MALFORMED: { status: 401, audience: 'INTERNAL', message: 'The pivot token is not a well-formed JWS.' },
  TOKEN_HEADER_INVALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token header lacks kid or carries a parameter the vault refuses (jku, x5u, x5c, jwk, crit).' },
  TOKEN_ALG_NOT_ALLOWED: { status: 401, audience: 'INTERNAL', message: 'The pivot token uses an algorithm that is not allowed.' },
  TOKEN_TYP_INVALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token has the wrong type.' },
  TOKEN_KID_UNKNOWN: { status: 401, audience: 'INTERNAL', message: 'The pivot token names a key that the vault does not trust.' },
  TOKEN_SIGNATURE_INVALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token signature does not verify.' },
  TOKEN_ISSUER_INVALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token comes from an issuer the vault does not trust.' },
  TOKEN_AUDIENCE_INVALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token is meant for another audience.' },
  TOKEN_EXPIRED: { status: 401, audience: 'CUSTOMER', message: 'The payment request has expired; ask for a new one.' },
  TOKEN_NOT_YET_VALID: { status: 401, audience: 'INTERNAL', message: 'The pivot token is not valid yet.' },
  TOKEN_CLAIM_MISSING: { status: 401, audience: 'INTERNAL', message: 'The pivot token lacks a required claim.' },
  TOKEN_CLAIM_INVALID: { status: 401, audience: 'INTERNAL', message: 'A claim of the pivot token is invalid.' },
  TOKEN_LIFETIME_TOO_LONG: { status: 401, audience: 'INTERNAL', message: 'The pivot token lives longer than allowed.' },
  TOKEN_ORIGIN_MISMATCH: { status: 401, audience: 'MERCHANT', message: 'The pivot token was issued for another page origin.' },
  TOKEN_REPLAYED: { status: 409, audience: 'CUSTOMER', message: 'This payment request has already been used.' },
  TOKEN_STEP_KIND_MISMATCH: { status: 403, audience: 'INTERNAL', message: 'This request was issued for another kind of step.' },
  JWKS_UNAVAILABLE: { status: 502, audience: 'NETWORK', message: 'The issuer keys could not be fetched.' },

  // ---- vault frame ----
  FRAME_NOT_ALLOWED: { status: 403, audience: 'MERCHANT', message: 'The vault frame is not embedded by an allowed origin.' },
  FRAME_ALREADY_BEGUN: { status: 409, audience: 'MERCHANT', message: 'begin() may be called once per frame.' },
  FRAME_NOT_READY: { status: 409, audience: 'MERCHANT', message: 'The frame has not been given a valid pivot token.' },

  // ---- widget (host page; reported as spc-error events, never sent over HTTP) ----
  WIDGET_CONFIG_INVALID: { status: 400, audience: 'MERCHANT', message: 'The chat widget is not configured: its server attribute is missing or not an origin.' },
  VAULT_ORIGIN_MISMATCH: { status: 403, audience: 'MERCHANT', message: 'The chat server named a vault origin other than the one configured on the page; the frame was not opened.' },
  VAULT_FRAME_UNAVAILABLE: { status: 502, audience: 'NETWORK', message: 'The secure payment frame did not load or did not answer in time.' },
  VAULT_RESPONSE_INVALID: { status: 502, audience: 'INTERNAL', message: 'The secure payment frame answered outside the frame protocol.' },

  // ---- card data (vault) ----
  CARD_NUMBER_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The card number is not valid.' },
  CARD_BRAND_UNSUPPORTED: { status: 422, audience: 'CUSTOMER', message: 'This card brand is not accepted.' },
  CARD_EXPIRY_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The expiry date is not valid.' },
  CARD_EXPIRED: { status: 422, audience: 'CUSTOMER', message: 'The card has expired.' },
  CARD_CVC_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The security code is not valid.' },

  // ---- postal address (vault) ----
  ADDRESS_LINE_INVALID: { status: 422, audience: 'CUSTOMER', message: 'An address line is missing or not valid.' },
  ADDRESS_POSTCODE_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The postcode is not valid.' },
  ADDRESS_CITY_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The city is missing or not valid.' },
  ADDRESS_COUNTRY_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The country is not a valid ISO 3166-1 code.' },

  // ---- processor-facing charges (vault, bank back end only) ----
  CHARGES_NOT_CONFIGURED: { status: 404, audience: 'MERCHANT', message: 'Charges are not enabled on this vault: no client keys or processor are configured.' },
  CLIENT_CREDENTIAL_MISSING: { status: 401, audience: 'MERCHANT', message: 'The request carries no Bearer client credential.' },
  CLIENT_CREDENTIAL_INVALID: { status: 401, audience: 'MERCHANT', message: 'The client credential is malformed, signed with an unknown key or algorithm, or its claims are wrong.' },
  CLIENT_CREDENTIAL_EXPIRED: { status: 401, audience: 'MERCHANT', message: 'The client credential has expired or is not valid yet; sign a new one.' },
  CLIENT_CREDENTIAL_REPLAYED: { status: 409, audience: 'MERCHANT', message: 'This client credential has already been used; sign a new one per request.' },
  CARD_TOKEN_NOT_FOUND: { status: 404, audience: 'MERCHANT', message: 'No card is stored under this token.' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, audience: 'MERCHANT', message: 'This idempotency key was already used for a different charge.' },
  CHARGE_IN_PROGRESS: { status: 409, audience: 'NETWORK', message: 'A charge with this idempotency key is still in progress; retry shortly.' },
  PROCESSOR_UNAVAILABLE: { status: 502, audience: 'NETWORK', message: 'The payment processor did not answer or answered outside its protocol; retry with the same idempotency key.' },

  // ---- passkeys (vault): proof that the customer answers ----
  PASSKEY_REQUIRED: { status: 403, audience: 'CUSTOMER', message: 'This step must be confirmed with your passkey, inside the secure form.' },
  PASSKEY_CHALLENGE_INVALID: { status: 401, audience: 'CUSTOMER', message: 'The passkey request is unknown, used or expired for this step; try again.' },
  PASSKEY_CREDENTIAL_UNKNOWN: { status: 401, audience: 'CUSTOMER', message: 'This passkey is not registered for you.' },
  PASSKEY_USER_NOT_VERIFIED: { status: 401, audience: 'CUSTOMER', message: 'Your device did not verify you (PIN, fingerprint or face); try again.' },
  PASSKEY_ORIGIN_MISMATCH: { status: 401, audience: 'INTERNAL', message: 'The passkey answer was made for another origin or relying party.' },
  PASSKEY_COUNTER_REGRESSED: { status: 401, audience: 'INTERNAL', message: 'The passkey signature counter went backwards: the authenticator may be cloned.' },
  PASSKEY_ASSERTION_INVALID: { status: 401, audience: 'INTERNAL', message: 'The passkey answer is malformed or its signature does not verify.' },
  PASSKEY_PROMPT_FAILED: { status: 400, audience: 'CUSTOMER', message: 'No passkey was used: the device prompt was cancelled, timed out, or this device holds none of yours.' },
  PASSKEY_ENROLMENT_REQUIRES_BANK: { status: 403, audience: 'CUSTOMER', message: 'Sign in to the bank before adding a passkey.' },
  PASSKEY_ENROLMENT_UNAVAILABLE: { status: 409, audience: 'CUSTOMER', message: 'No channel is known to send you a confirmation code; a passkey cannot be added here.' },
  PASSKEY_ENROLMENT_INVALID: { status: 401, audience: 'CUSTOMER', message: 'The passkey set-up is unknown, used or expired; start again.' },
  PASSKEY_ENROLMENT_CODE_WRONG: { status: 422, audience: 'CUSTOMER', message: 'The confirmation code is not the one we sent.' },
  PASSKEY_ATTESTATION_INVALID: { status: 422, audience: 'CUSTOMER', message: 'The new passkey could not be verified; try again.' },
  PASSKEY_ALREADY_REGISTERED: { status: 409, audience: 'CUSTOMER', message: 'This passkey is already registered.' },

  // ---- vault -> chat notices ----
  NOTICE_INVALID: { status: 401, audience: 'INTERNAL', message: 'The vault notice does not verify.' },
  NOTICE_REPLAYED: { status: 409, audience: 'INTERNAL', message: 'The vault notice has already been received.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

/** The body every HTTP error response carries, and the payload of WS/postMessage errors. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOG, value);
}

/**
 * The base error of every realm. `code` is stable; `message` is for people; `cause` keeps the
 * underlying error for server logs only (it is never serialised to a client).
 */
export class PivotError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CATALOG[code].message, options);
    this.name = 'PivotError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function errorBody(code: ErrorCode, message?: string): ErrorBody {
  return { error: { code, message: message ?? ERROR_CATALOG[code].message } };
}
