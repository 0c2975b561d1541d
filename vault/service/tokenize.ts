/**
 * Tokenization: the one place where a PAN enters storage.
 *
 * 1. parse the body (TokenizeRequestSchema)                       -> 400 BAD_REQUEST
 * 2. verify the pivot token authoritatively (issuer keys fetched by the vault, `aud` = vault
 *    origin, `iss` = trusted issuer, `origin` claim in the allowed parents) -> 401 TOKEN_* / 502;
 *    the token's step must be a `card_payment`                     -> 403 TOKEN_STEP_KIND_MISMATCH
 * 3. validate the card (Luhn, brand, length, expiry, CVC length)  -> 422 CARD_*; after
 *    MAX_ATTEMPTS_PER_PIVOT_TOKEN refused cards the token is refused (rate-limit.ts) -> 429
 * 4. ONE transaction: insert the token's `jti` into `used_jti` (primary key: a second insert
 *    fails -> 409 TOKEN_REPLAYED), the encrypted card, the outbox notice and the audit entry.
 * 5. hand the CVC to the CVC store (cvc-store.ts: encrypted, in memory, `CVC_TTL_MS`) for
 *    the card's first charge.
 *
 * Card checks come before the jti is consumed so that a typo does not burn the payment request;
 * the transaction makes "jti consumed" and "card stored" one fact. The CVC is never stored on
 * disk, logged, or sent anywhere but to the processor with the first charge.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { PivotError } from '../../protocol/errors.ts';
import type { CardDisplay } from '../../protocol/frame.ts';
import { TokenizeRequestSchema } from '../../protocol/vault-api.ts';
import { validateCard } from '../shared/card.ts';
import { fingerprintPan, sealCard } from './card-crypto.ts';
import type { CvcStore } from './cvc-store.ts';
import type { KeyProvider } from './keys.ts';
import type { StoredNoticeClaims } from './notices.ts';
import type { AttemptLimiter } from './rate-limit.ts';
import type { VaultStatements } from './statements.ts';
import { verifyStepToken, type StepTokenDeps } from './step-token.ts';

/** Random bytes in a card token (`tok_` + base64url). */
export const CARD_TOKEN_BYTES = 24;

export interface TokenizeDeps extends StepTokenDeps {
  readonly statements: VaultStatements;
  readonly keys: KeyProvider;
  /** Where the CVC waits for the first charge; absent = the CVC is dropped after the check. */
  readonly cvcs?: CvcStore;
  /** Attempts per pivot token (card-testing guard); absent = unlimited. */
  readonly attempts?: AttemptLimiter;
  /** The chat server's origin: the notices' `aud`. */
  readonly noticeAudience: string;
  readonly now?: () => Date;
}

export interface TokenizeResult {
  readonly card: CardDisplay;
  /** Id of the notice queued for the chat server. */
  readonly noticeId: string;
  /** Whether the CVC is held for the first charge (false when the store refused it). */
  readonly cvcHeld: boolean;
}

/** Run one tokenization. Rejects with a {@link PivotError}. */
export async function tokenize(deps: TokenizeDeps, body: unknown): Promise<TokenizeResult> {
  const parsed = v.safeParse(TokenizeRequestSchema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  const { pivotToken, card } = parsed.output;
  const now = deps.now?.() ?? new Date();

  const claims = await verifyStepToken(deps, pivotToken, 'card_payment', now);

  const nowS = Math.floor(now.getTime() / 1000);
  if (deps.attempts?.blocked(claims.jti, nowS)) throw new PivotError('RATE_LIMITED');

  const checked = validateCard(card, now);
  if (!checked.ok) {
    deps.attempts?.failed(claims.jti, claims.exp, nowS);
    throw new PivotError(checked.code);
  }

  const token = `tok_${randomBytes(CARD_TOKEN_BYTES).toString('base64url')}`;
  const display: CardDisplay = { token, brand: checked.brand, last4: checked.last4, expMonth: card.expMonth, expYear: card.expYear };
  const [dataKey, hmacKey] = await Promise.all([deps.keys.currentDataKey(), deps.keys.getHmacKey()]);
  const name = card.name?.trim();
  const sealed = sealCard(name ? { pan: checked.pan, name } : { pan: checked.pan }, token, dataKey);
  const fingerprint = fingerprintPan(checked.pan, hmacKey);
  const noticeId = `ntc_${randomBytes(18).toString('base64url')}`;
  const createdAt = now.toISOString();

  const claimsForNotice: StoredNoticeClaims = {
    iss: deps.origin,
    aud: deps.noticeAudience,
    jti: noticeId,
    cnv: claims.cnv,
    stp: claims.step.id,
    ptj: claims.jti,
    event: 'card_tokenized',
    card: display,
  };
  const queuedAt = now.getTime();
  const stored = deps.statements.storeTokenized(
    { jti: claims.jti, exp: claims.exp, used_at: createdAt },
    {
      token,
      key_id: sealed.keyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      auth_tag: sealed.tag,
      fingerprint,
      fingerprint_kid: hmacKey.kid,
      brand: display.brand,
      last4: display.last4,
      exp_month: display.expMonth,
      exp_year: display.expYear,
      pivot_jti: claims.jti,
      conversation_id: claims.cnv,
      step_id: claims.step.id,
      subject: claims.sub,
      created_at: createdAt,
    },
    { id: noticeId, claims: JSON.stringify(claimsForNotice), created_at: queuedAt, attempts: 0, next_attempt_at: queuedAt, last_error: null },
    {
      actor: { kind: 'customer', id: claims.sub },
      action: 'card.tokenize',
      resource: token,
      outcome: 'success',
      origin: claims.origin,
      detail: `step=${claims.step.id}`,
    },
  );
  if (!stored) throw new PivotError('TOKEN_REPLAYED');

  // The card is stored and the step done: a store that fails (a shared store being down) only
  // means the first charge goes without CVC, so it must not fail the request.
  let cvcHeld = false;
  if (deps.cvcs) {
    cvcHeld = await deps.cvcs.put(token, card.cvc).then(
      () => true,
      () => false,
    );
  }
  return { card: display, noticeId, cvcHeld };
}
