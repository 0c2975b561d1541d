/**
 * Step kind `address_change` in the vault: the one place where a customer's new postal address
 * enters storage.
 *
 * Checks: vault/shared/address.ts, plus an assigned ISO 3166-1 country -> 422 ADDRESS_*.
 * Stored: the address sealed with AES-256-GCM, bound to the record id. Only city and country
 * leave the vault (the response, the notice); the lines and the postcode stay in the ciphertext
 * and are never logged, not even in the audit trail (its resource is the record id).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  addressChange,
  AddressChangeRequestSchema,
  type AddressChangeRequest,
  type AddressSummary,
  type PostalAddress,
} from '../../../protocol/steps/index.ts';
import { checkAddress } from '../../shared/address.ts';
import { sealJson } from '../keys/card-crypto.ts';
import { isAssignedCountry } from './countries.ts';
import type { AddressesTable } from '../store/db.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import type { VaultStepKind } from './run-step.ts';

/** Random bytes in an address record id (`adr_` + base64url). */
export const ADDRESS_ID_BYTES = 18;

export function addressChangeStep(deps: { readonly sqlite: Database.Database; readonly keys: KeyProvider }): VaultStepKind<
  'address_change',
  AddressChangeRequest,
  PostalAddress,
  AddressSummary
> {
  const insertAddress = deps.sqlite.prepare(
    `INSERT INTO addresses (id, key_id, iv, ciphertext, auth_tag, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@id, @key_id, @iv, @ciphertext, @auth_tag, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
  );
  return {
    kind: addressChange.kind,
    path: addressChange.vaultPath,
    maxBodyBytes: addressChange.maxBodyBytes,
    requestSchema: AddressChangeRequestSchema,
    logMessage: 'address stored',
    check(request) {
      const checked = checkAddress(request.address);
      if (!checked.ok) return checked;
      return isAssignedCountry(checked.address.country) ? { ok: true, value: checked.address } : { ok: false, code: 'ADDRESS_COUNTRY_INVALID' };
    },
    async record(address, claims, now) {
      const id = `adr_${randomBytes(ADDRESS_ID_BYTES).toString('base64url')}`;
      const sealed = sealJson(address, id, await deps.keys.currentDataKey());
      const summary: AddressSummary = { city: address.city, country: address.country };
      const row: AddressesTable = {
        id,
        key_id: sealed.keyId,
        iv: sealed.iv,
        ciphertext: sealed.ciphertext,
        auth_tag: sealed.tag,
        pivot_jti: claims.jti,
        conversation_id: claims.cnv,
        step_id: claims.step.id,
        subject: claims.sub,
        created_at: now.toISOString(),
      };
      return {
        write: () => void insertAddress.run(row),
        notice: { event: 'address_changed', address: summary },
        audit: { action: 'address.change', resource: id },
        response: summary,
        // Ids only: no part of the address is logged.
        log: { addressId: id },
      };
    },
  };
}
