/**
 * Step kind `address_change`: the customer types a new postal address inside the vault frame; the
 * vault seals it and tells the chat server only the city and country.
 *
 * @module
 */
import * as v from 'valibot';
import { AuthenticationResponseSchema } from '../passkeys.ts';
import { PivotTokenFieldSchema, STEP_PURPOSE_MAX_CHARS, STEP_REFERENCE_MAX_CHARS, StepIdSchema, boundedText } from '../values.ts';
import type { AgentWords, CustomerView, StepDefinition } from './definition.ts';

export const AddressChangeFields = {
  kind: v.literal('address_change'),
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
} as const;

/** The agent's request for a step of this kind (`POST /v1/agent/conversations/:id/steps`); no unknown keys. */
export const AddressChangeStepRequestSchema = v.strictObject({ ...AddressChangeFields });

export const AddressChangeStepSchema = v.object({ id: StepIdSchema, ...AddressChangeFields });

export const AddressChangeDisplaySchema = v.strictObject({
  kind: v.literal('address_change'),
  stepId: v.string(),
  purpose: boundedText(STEP_PURPOSE_MAX_CHARS),
  reference: boundedText(STEP_REFERENCE_MAX_CHARS),
});

/** Longest city name of a postal address, in characters. */
export const ADDRESS_CITY_MAX_CHARS = 50;
/** ISO 3166-1 alpha-2 country code, upper case (the vault also checks it is an assigned code). */
export const CountrySchema = v.pipe(v.string(), v.regex(/^[A-Z]{2}$/));

/** A new address as seen outside the vault: city and country only. */
export const AddressSummarySchema = v.strictObject({
  city: boundedText(ADDRESS_CITY_MAX_CHARS),
  country: CountrySchema,
});
export type AddressSummary = v.InferOutput<typeof AddressSummarySchema>;

/** Same-origin vault path of the address-change endpoint. */
export const ADDRESSES_PATH = '/v1/addresses';
/** Largest body `POST /v1/addresses` accepts, in bytes (a pivot token + one postal address). */
export const ADDRESS_MAX_BODY_BYTES = 6 * 1024;
/** Refused addresses allowed per pivot token before the token itself is refused. */
export const MAX_REFUSED_ADDRESSES_PER_TOKEN = 5;
/** Most address lines (street, building, ...). */
export const ADDRESS_MAX_LINES = 3;
/** Longest address line, in characters. */
export const ADDRESS_LINE_MAX_CHARS = 70;
/** Longest postcode, in characters. */
export const POSTCODE_MAX_CHARS = 10;

/** Structural bounds only; the field rules (and their ADDRESS_* codes) are in vault/shared/address.ts. */
const loose = (max: number) => v.pipe(v.string(), v.maxLength(max));

export const AddressChangeRequestSchema = v.strictObject({
  pivotToken: PivotTokenFieldSchema,
  /** The customer's passkey assertion for this step's challenge (protocol/passkeys.ts). */
  assertion: v.optional(AuthenticationResponseSchema),
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

/** The vault frame's title for this kind (the iframe's and the frame document's). */
export const ADDRESS_CHANGE_FRAME_TITLE = 'Secure address change';

/** What the customer's widget shows of a address_change step. */
export const addressChangeCustomer: CustomerView<object, AddressSummary> = {
  heading: () => 'Change your address securely',
  action: 'Change address securely',
  frameTitle: ADDRESS_CHANGE_FRAME_TITLE,
  done: (result) => `Address updated: ${result.city}, ${result.country}`,
  resultOf: (event) => (event.address ? { city: event.address.city, country: event.address.country } : null),
};

/** What the console and the chat server show of a address_change step. */
export const addressChangeAgent: AgentWords<object, AddressSummary> = {
  label: 'Address change',
  requestAction: 'Request address change',
  requested: () => 'Address change requested.',
  logLine: () => 'Address change requested',
  listLine: (step) => `Address change requested: ${step.purpose}`,
  completed: (result) => `Address change received: ${result.city}, ${result.country}`,
  unusedForm: 'a secure address form',
  unusedNothing: 'no address',
};

export const addressChange: StepDefinition<'address_change', object, AddressSummary> = {
  kind: 'address_change',
  requiredAcr: 'bank',
  withoutPasskey: 'refuse',
  vaultPath: ADDRESSES_PATH,
  maxBodyBytes: ADDRESS_MAX_BODY_BYTES,
  maxRefusedPerToken: MAX_REFUSED_ADDRESSES_PER_TOKEN,
  agent: addressChangeAgent,
  customer: addressChangeCustomer,
};
