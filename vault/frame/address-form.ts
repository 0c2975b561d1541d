/**
 * The address form: address lines, postcode, city and country (ISO 3166-1 alpha-2) in the
 * vault frame, with the Save button inside it. On submit they are POSTed to the vault service
 * (same origin), which checks them (vault/shared/address.ts; an ADDRESS_* code marks the field,
 * the token is not consumed); only `{city, country}` is reported outward, through the emitter's
 * strict schema. The values of the inputs never leave this module
 * except in the body of that one request.
 *
 * @module
 */
import type { ErrorCode } from '../../protocol/errors.ts';
import type { AddressSummary, DisplayInfo } from '../../protocol/frame.ts';
import { ADDRESSES_PATH } from '../shared/frame-config.ts';
import { h, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { messageFor } from './messages.ts';
import { field, stepPanel, submitStep } from './step.ts';

export interface AddressFormOptions {
  readonly display: Extract<DisplayInfo, { kind: 'address_change' }>;
  readonly pivotToken: string;
  readonly emit: Emit;
}

/** Render the form into `root` (replacing what is there). */
export function renderAddressForm(root: HTMLElement, { display, pivotToken, emit }: AddressFormOptions): void {
  const line1 = field('line1', 'Address', { autocomplete: 'address-line1', maxlength: '70' });
  const line2 = field('line2', 'Address line 2 (optional)', { autocomplete: 'address-line2', maxlength: '70' });
  const postcode = field('postcode', 'Postcode', { autocomplete: 'postal-code', maxlength: '10' });
  const city = field('city', 'City', { autocomplete: 'address-level2', maxlength: '50' });
  const country = field('country', 'Country code (e.g. FR)', { autocomplete: 'country', maxlength: '2' });
  const fields = { ADDRESS_LINE_INVALID: line1, ADDRESS_POSTCODE_INVALID: postcode, ADDRESS_CITY_INVALID: city, ADDRESS_COUNTRY_INVALID: country };
  const all = [line1, line2, postcode, city, country];
  const save = h('button', { type: 'submit', class: 'spc-pay' }, 'Save new address');
  const { panel: form, status, allowed } = stepPanel(
    'form',
    { novalidate: '', 'aria-label': 'New address' },
    display,
    undefined,
    // Postcode and city share a row: the whole form must fit in the chat to be answered.
    [line1.wrap, line2.wrap, h('div', { class: 'spc-row' }, postcode.wrap, city.wrap), country.wrap, save],
    'Your address goes only to the secure vault, not to the chat or this website.',
  );

  /** Mark the field `code` belongs to (none: clear every mark); true when it had one. */
  const show = (code?: ErrorCode): boolean => {
    for (const [key, f] of Object.entries(fields)) {
      f.input.setAttribute('aria-invalid', String(key === code));
      f.error.textContent = key === code ? messageFor(key) : '';
    }
    const marked = code !== undefined && Object.hasOwn(fields, code) ? fields[code as keyof typeof fields] : undefined;
    marked?.input.focus();
    return marked !== undefined;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (save.disabled) return;
    show();
    const address = { lines: [line1.input.value, line2.input.value], postcode: postcode.input.value, city: city.input.value, country: country.input.value };
    submitStep({ root, emit, panel: form, status, buttons: [save], inputs: all, allowed }, event, ADDRESSES_PATH, { pivotToken, address }, 'Saving your address…', {
      // The emitter's strict schema drops anything but a bounded city and a two-letter country.
      done: (json) => {
        const { city: c, country: cc } = (json ?? {}) as Partial<AddressSummary>;
        return { event: { type: 'complete', kind: 'address_change', address: { city: c!, country: cc! } }, notice: 'New address saved' };
      },
      onField: show,
    });
  });

  replaceChildren(root, form);
  // No focus() on render: the customer may be typing in the chat; a field is focused only after
  // they submitted here (the one to correct).
}
