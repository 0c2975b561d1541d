/**
 * The pivot token: a JWS the chat server signs, the widget carries, and the vault verifies
 * (in the frame, to decide whether to render; in the vault service, authoritatively).
 *
 * Only the claims set is described here; signature checks live with each verifier.
 *
 * @module
 */
import * as v from 'valibot';
import { AcrSchema } from './values.ts';
import { StepSchema } from './steps/index.ts';

/** JOSE header `typ` of every pivot token. Checked by every verifier. */
export const PIVOT_TOKEN_TYP = 'pivot+jwt';
/** The only algorithms a verifier accepts for pivot tokens. */
export const PIVOT_TOKEN_ALGS = ['ES256'] as const;
/** A pivot token may live at most this long (exp - iat), in seconds. */
export const PIVOT_TOKEN_MAX_LIFETIME_S = 300;
/** The lifetime the chat server gives the tokens it signs, in seconds. */
export const PIVOT_TOKEN_TTL_S = 120;
/** Clock skew tolerated by verifiers, in seconds. */
export const PIVOT_TOKEN_CLOCK_SKEW_S = 30;

export {
  ACR_LEVELS,
  AcrSchema,
  AmountSchema,
  CurrencySchema,
  PAYEE_NAME_MAX_CHARS,
  PayeeSchema,
  StepIdSchema,
  acrAtLeast,
  boundedText,
  formatAmount,
  type Acr,
  type Amount,
  type Payee,
} from './values.ts';
export { AddressChangeFields, CardPaymentFields, STEP_KINDS, StepSchema, TransferFields, type Step, type StepKind, type StepOf } from './steps/index.ts';

/** Claims of a pivot token (after signature verification). */
export const PivotClaimsSchema = v.object({
  iss: v.pipe(v.string(), v.url()),
  aud: v.pipe(v.string(), v.url()),
  sub: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  jti: v.pipe(v.string(), v.minLength(16), v.maxLength(128)),
  iat: v.pipe(v.number(), v.integer()),
  nbf: v.pipe(v.number(), v.integer()),
  exp: v.pipe(v.number(), v.integer()),
  /** Origin of the host page the vault frame must be embedded in. */
  origin: v.pipe(v.string(), v.url()),
  /** Conversation id. */
  cnv: v.pipe(v.string(), v.minLength(1), v.maxLength(128)),
  step: StepSchema,
  acr: AcrSchema,
  /**
   * The messaging app the customer proved they hold (the conversation's platform), absent for a
   * web-only conversation: where the vault may send a passkey enrolment code that the bank's
   * page cannot see (protocol/passkeys.ts).
   */
  och: v.optional(v.picklist(['messenger', 'whatsapp', 'sms'])),
});
export type PivotClaims = v.InferOutput<typeof PivotClaimsSchema>;
