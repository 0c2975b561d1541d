/**
 * Address change: the one place where a customer's new postal address enters storage.
 *
 * 1. parse the body (AddressChangeRequestSchema)                  -> 400 BAD_REQUEST
 * 2. verify the pivot token authoritatively, and that its step is an `address_change`
 *    (step-token.ts)                                               -> 401 TOKEN_* / 403 TOKEN_STEP_KIND_MISMATCH / 502
 * 3. check the address (vault/shared/address.ts, plus an assigned ISO 3166-1 country)
 *                                                                  -> 422 ADDRESS_*; after
 *    MAX_ATTEMPTS_PER_PIVOT_TOKEN refused addresses the token is refused (rate-limit.ts) -> 429
 * 4. ONE transaction: consume the token's `jti` (409 TOKEN_REPLAYED on a second use), store the
 *    address sealed with AES-256-GCM (card-crypto.ts, bound to the record id), queue the notice.
 *
 * Only city and country leave the vault (the response, the notice); the lines and the postcode
 * stay in the ciphertext and are never logged.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { PivotError } from '../../protocol/errors.ts';
import type { AddressSummary } from '../../protocol/frame.ts';
import { AddressChangeRequestSchema } from '../../protocol/vault-api.ts';
import { checkAddress } from '../shared/address.ts';
import { sealJson } from './card-crypto.ts';
import { isAssignedCountry } from './countries.ts';
import type { KeyProvider } from './keys.ts';
import type { StoredNoticeClaims } from './notices.ts';
import type { AttemptLimiter } from './rate-limit.ts';
import type { VaultStatements } from './statements.ts';
import { verifyStepToken, type StepTokenDeps } from './step-token.ts';

/** Random bytes in an address record id (`adr_` + base64url). */
export const ADDRESS_ID_BYTES = 18;

export interface AddressChangeDeps extends StepTokenDeps {
  readonly statements: VaultStatements;
  readonly keys: KeyProvider;
  /** Refused addresses per pivot token; absent = unlimited. */
  readonly attempts?: AttemptLimiter;
  /** The chat server's origin: the notices' `aud`. */
  readonly noticeAudience: string;
  readonly now?: () => Date;
}

export interface AddressChangeResult {
  readonly summary: AddressSummary;
  /** Id of the stored (sealed) address. */
  readonly addressId: string;
  /** Id of the notice queued for the chat server. */
  readonly noticeId: string;
}

/** Store one address change. Rejects with a {@link PivotError}. */
export async function changeAddress(deps: AddressChangeDeps, body: unknown): Promise<AddressChangeResult> {
  const parsed = v.safeParse(AddressChangeRequestSchema, body);
  if (!parsed.success) throw new PivotError('BAD_REQUEST');
  const now = deps.now?.() ?? new Date();
  const claims = await verifyStepToken(deps, parsed.output.pivotToken, 'address_change', now);

  const nowS = Math.floor(now.getTime() / 1000);
  if (deps.attempts?.blocked(claims.jti, nowS)) throw new PivotError('RATE_LIMITED');
  const checked = checkAddress(parsed.output.address);
  const code = !checked.ok ? checked.code : isAssignedCountry(checked.address.country) ? undefined : 'ADDRESS_COUNTRY_INVALID';
  if (code || !checked.ok) {
    deps.attempts?.failed(claims.jti, claims.exp, nowS);
    throw new PivotError(code ?? 'BAD_REQUEST');
  }
  const { address } = checked;

  const addressId = `adr_${randomBytes(ADDRESS_ID_BYTES).toString('base64url')}`;
  const sealed = sealJson(address, addressId, await deps.keys.currentDataKey());
  const summary: AddressSummary = { city: address.city, country: address.country };
  const noticeId = `ntc_${randomBytes(18).toString('base64url')}`;
  const notice: StoredNoticeClaims = {
    iss: deps.origin,
    aud: deps.noticeAudience,
    jti: noticeId,
    cnv: claims.cnv,
    stp: claims.step.id,
    ptj: claims.jti,
    event: 'address_changed',
    address: summary,
  };
  const createdAt = now.toISOString();
  const queuedAt = now.getTime();
  const stored = deps.statements.storeAddress(
    { jti: claims.jti, exp: claims.exp, used_at: createdAt },
    {
      id: addressId,
      key_id: sealed.keyId,
      iv: sealed.iv,
      ciphertext: sealed.ciphertext,
      auth_tag: sealed.tag,
      pivot_jti: claims.jti,
      conversation_id: claims.cnv,
      step_id: claims.step.id,
      subject: claims.sub,
      created_at: createdAt,
    },
    { id: noticeId, claims: JSON.stringify(notice), created_at: queuedAt, attempts: 0, next_attempt_at: queuedAt, last_error: null },
    // The resource is the sealed record's id: no address field goes into the audit trail.
    { actor: { kind: 'customer', id: claims.sub }, action: 'address.change', resource: addressId, outcome: 'success', origin: claims.origin, detail: `step=${claims.step.id}` },
  );
  if (!stored) throw new PivotError('TOKEN_REPLAYED');
  return { summary, addressId, noticeId };
}
