/**
 * Step kind `card_payment` in the vault: the one place where a PAN enters storage.
 *
 * Checks: Luhn, brand, length, expiry, CVC length (vault/shared/card.ts) -> 422 CARD_*.
 * Stored: the card sealed with AES-256-GCM under the current data key (bound to the card token),
 * the keyed PAN fingerprint, display data (brand, last 4, expiry). The CVC is never written: it
 * goes to the CVC store (charges/cvc-store.ts: sealed, in memory, `CVC_TTL_MS`) for the card's first
 * charge, after the row is stored.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  cardPayment,
  TokenizeRequestSchema,
  type CardDisplay,
  type TokenizeRequest,
} from '../../../protocol/steps/index.ts';
import { validateCard } from '../../shared/card.ts';
import { fingerprintPan, sealCard } from '../keys/card-crypto.ts';
import type { CvcStore } from '../charges/cvc-store.ts';
import type { CardsTable } from '../store/db.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import type { VaultStepKind } from './run-step.ts';

/** Random bytes in a card token (`tok_` + base64url). */
export const CARD_TOKEN_BYTES = 24;

interface CheckedCard {
  readonly pan: string;
  readonly brand: CardDisplay['brand'];
  readonly last4: string;
  readonly card: TokenizeRequest['card'];
}

export interface CardPaymentDeps {
  readonly sqlite: Database.Database;
  readonly keys: KeyProvider;
  /** Where the CVC waits for the first charge; absent = the CVC is dropped after the check. */
  readonly cvcs?: CvcStore;
}

export function cardPaymentStep(deps: CardPaymentDeps): VaultStepKind<'card_payment', TokenizeRequest, CheckedCard, CardDisplay> {
  const insertCard = deps.sqlite.prepare(
    `INSERT INTO cards (token, key_id, iv, ciphertext, auth_tag, fingerprint, fingerprint_kid, brand, last4,
       exp_month, exp_year, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@token, @key_id, @iv, @ciphertext, @auth_tag, @fingerprint, @fingerprint_kid, @brand, @last4,
       @exp_month, @exp_year, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
  );
  return {
    kind: cardPayment.kind,
    path: cardPayment.vaultPath,
    maxBodyBytes: cardPayment.maxBodyBytes,
    requestSchema: TokenizeRequestSchema,
    logMessage: 'card tokenized',
    check(request, _claims, now) {
      const checked = validateCard(request.card, now);
      return checked.ok ? { ok: true, value: { pan: checked.pan, brand: checked.brand, last4: checked.last4, card: request.card } } : checked;
    },
    async record(checked, claims, now) {
      const { card } = checked;
      const token = `tok_${randomBytes(CARD_TOKEN_BYTES).toString('base64url')}`;
      const display: CardDisplay = { token, brand: checked.brand, last4: checked.last4, expMonth: card.expMonth, expYear: card.expYear };
      const [dataKey, hmacKey] = await Promise.all([deps.keys.currentDataKey(), deps.keys.getHmacKey()]);
      const name = card.name?.trim();
      const sealed = sealCard(name ? { pan: checked.pan, name } : { pan: checked.pan }, token, dataKey);
      const row: CardsTable = {
        token,
        key_id: sealed.keyId,
        iv: sealed.iv,
        ciphertext: sealed.ciphertext,
        auth_tag: sealed.tag,
        fingerprint: fingerprintPan(checked.pan, hmacKey),
        fingerprint_kid: hmacKey.kid,
        brand: display.brand,
        last4: display.last4,
        exp_month: display.expMonth,
        exp_year: display.expYear,
        pivot_jti: claims.jti,
        conversation_id: claims.cnv,
        step_id: claims.step.id,
        subject: claims.sub,
        created_at: now.toISOString(),
      };
      const { cvcs } = deps;
      return {
        write: () => void insertCard.run(row),
        notice: { event: 'card_tokenized', card: display },
        audit: { action: 'card.tokenize', resource: token },
        response: display,
        log: { token, brand: display.brand },
        // The card is stored and the step done: a CVC store that fails (a shared store being
        // down) only means the first charge goes without CVC, so it must not fail the request.
        afterStore: async () => ({ cvcHeld: cvcs ? await cvcs.put(token, card.cvc).then(() => true, () => false) : false }),
      };
    },
  };
}
