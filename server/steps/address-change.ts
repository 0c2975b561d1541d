/**
 * `address_change` on the chat server: the vault's `address_changed` notice reports only the city
 * and country of the new address; the street and postcode never leave the vault.
 *
 * @module
 */
import { addressChange, type AddressSummary } from '../../protocol/steps/index.ts';
import { formatAmount } from '../../protocol/values.ts';
import type { ServerStepKind } from './definition.ts';

export type AddressChangeResult = { readonly kind: 'address_change'; readonly address: AddressSummary };

export const addressChangeOnServer: ServerStepKind<'address_change', AddressChangeResult> = {
  kind: 'address_change',
  noticeEvents: ['address_changed'],
  resultOf(claims) {
    if (claims.event !== 'address_changed') throw new Error(`not an address notice: ${claims.event}`);
    return { kind: 'address_change', address: claims.address };
  },
  matches: () => true,
  stored: ({ address }) => ({ card: null, result: JSON.stringify(address) }),
  completedFields: ({ address }) => ({ address: { city: address.city, country: address.country } }),
  text: ({ address }) => addressChange.agent.completed(address, (amount) => formatAmount(amount)),
};
