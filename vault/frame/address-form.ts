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
import { field } from './card-form.ts';
import { h, notice, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { RETRYABLE_CODES, messageFor } from './messages.ts';
import { postToVault } from './post.ts';

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
  const status = h('p', { class: 'spc-status', role: 'status' });
  const save = h('button', { type: 'submit', class: 'spc-pay' }, 'Save new address');
  const form = h(
    'form',
    { class: 'spc-form', novalidate: '', 'aria-label': 'New address' },
    h('div', { class: 'spc-summary' }, h('p', { class: 'spc-purpose' }, display.purpose), h('p', { class: 'spc-reference' }, `Reference ${display.reference}`)),
    ...all.map((f) => f.wrap),
    save,
    status,
    h('p', { class: 'spc-secure' }, 'Your address goes only to the secure vault, not to the chat or this website.'),
  );

  const show = (code?: ErrorCode): void => {
    for (const [key, f] of Object.entries(fields)) {
      f.input.setAttribute('aria-invalid', String(key === code));
      f.error.textContent = key === code ? messageFor(key) : '';
    }
    if (code && code in fields) fields[code as keyof typeof fields].input.focus();
  };

  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    show();
    busy = save.disabled = true;
    status.textContent = 'Saving your address…';
    const address = { lines: [line1.input.value, line2.input.value], postcode: postcode.input.value, city: city.input.value, country: country.input.value };
    void postToVault(ADDRESSES_PATH, { pivotToken, address }).then((result) => {
      busy = save.disabled = false;
      if (result.ok) {
        const { city: c, country: cc } = result.json as AddressSummary;
        for (const f of all) f.input.value = '';
        replaceChildren(root, notice('New address saved'));
        emit({ type: 'complete', kind: 'address_change', address: { city: c, country: cc } });
        return;
      }
      const { code } = result;
      emit({ type: 'error', error: { code, message: messageFor(code) } });
      if (code in fields) {
        status.textContent = '';
        show(code);
      } else if (RETRYABLE_CODES.has(code)) status.textContent = messageFor(code);
      else replaceChildren(root, notice(messageFor(code), 'alert'));
    });
  });

  replaceChildren(root, form);
  line1.input.focus();
}
