/**
 * The card form: number, expiry, CVC and an optional cardholder name in ONE frame, with the Pay
 * button inside it. Live brand detection, Luhn and expiry checks; accessible labels, error
 * text tied by `aria-describedby`, `aria-invalid`. On submit it POSTs the card to the vault
 * service (same origin) and reports only `{brand, last4, exp}` + the opaque token outward.
 *
 * The values of the inputs never leave this module except in the body of that one request:
 * not in events, storage, console or URLs.
 *
 * @module
 */
import * as v from 'valibot';
import type { Clock } from '../../protocol/clock.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { CardDisplaySchema, type CardBrand, type DisplayInfo } from '../../protocol/frame.ts';
import type { TokenizeRequest } from '../../protocol/vault-api.ts';
import {
  brandLabel,
  checkCvc,
  checkExpiry,
  checkPan,
  cvcLength,
  detectBrand,
  digitsOnly,
  formatExpiry,
  formatPan,
  parseExpiry,
  typicalPanLength,
  type CardErrorCode,
} from '../shared/card.ts';
import { TOKENS_PATH } from '../shared/frame-config.ts';
import { h, replaceChildren } from './dom.ts';
import type { Emit } from './events.ts';
import { messageFor } from './messages.ts';
import { busy, field, stepPanel, submitStep, type Field } from './step.ts';

type FieldName = 'number' | 'expiry' | 'cvc';
type FieldErrors = { number?: CardErrorCode; expiry?: CardErrorCode; cvc?: CardErrorCode };

export interface CardFormOptions {
  readonly display: Extract<DisplayInfo, { kind: 'card_payment' }>;
  readonly pivotToken: string;
  readonly emit: Emit;
  /** Clock for the expiry check (tests). */
  readonly clock?: Clock;
}

const FIELD_OF: Record<CardErrorCode, FieldName> = {
  CARD_NUMBER_INVALID: 'number',
  CARD_BRAND_UNSUPPORTED: 'number',
  CARD_EXPIRY_INVALID: 'expiry',
  CARD_EXPIRED: 'expiry',
  CARD_CVC_INVALID: 'cvc',
};

/** Re-format an input's value, keeping the caret after the same number of digits. */
function reformat(input: HTMLInputElement, format: (value: string) => string): void {
  const next = format(input.value);
  if (next === input.value) return;
  const caret = input.selectionStart ?? input.value.length;
  const digitsBefore = digitsOnly(input.value.slice(0, caret)).length;
  input.value = next;
  if (input.ownerDocument.activeElement !== input) return;
  let pos = 0;
  for (let seen = 0; pos < next.length && seen < digitsBefore; pos++) if (/[0-9]/.test(next[pos]!)) seen++;
  input.setSelectionRange(pos, pos);
}

/** Render the form into `root` (replacing what is there). */
export function renderCardForm(root: HTMLElement, options: CardFormOptions): void {
  const { display, emit } = options;
  const clock = options.clock ?? Date.now;

  const brandBadge = h('span', { class: 'spc-brand', 'aria-live': 'polite' });
  const number = field(
    'number',
    'Card number',
    { autocomplete: 'cc-number', inputmode: 'numeric', maxlength: '23', placeholder: '1234 1234 1234 1234' },
    brandBadge,
  );
  const expiry = field('expiry', 'Expiry (MM / YY)', { autocomplete: 'cc-exp', inputmode: 'numeric', maxlength: '7', placeholder: 'MM / YY' });
  const cvc = field('cvc', 'Security code', { autocomplete: 'cc-csc', inputmode: 'numeric', maxlength: '3', placeholder: 'CVC' });
  const name = field('name', 'Name on card (optional)', { autocomplete: 'cc-name', maxlength: '100' });
  name.input.removeAttribute('aria-describedby');
  const fields: Record<FieldName, Field> = { number, expiry, cvc };

  const pay = h('button', { type: 'submit', class: 'spc-pay' }, `Pay ${display.formattedAmount}`);
  const { panel: form, status, allowed } = stepPanel(
    'form',
    { novalidate: '', 'aria-label': 'Card details' },
    display,
    undefined,
    [number.wrap, h('div', { class: 'spc-row' }, expiry.wrap, cvc.wrap), name.wrap, pay],
    'Your card details go only to the secure vault, not to the chat or this website.',
  );
  const ctx = { root, emit, panel: form, status, buttons: [pay], inputs: [number, expiry, cvc, name], allowed };

  const touched: Record<FieldName, boolean> = { number: false, expiry: false, cvc: false };
  const serverErrors: FieldErrors = {};
  let lastChange = '';

  const evaluate = () => {
    const digits = digitsOnly(number.input.value);
    const brand: CardBrand = detectBrand(digits);
    const exp = parseExpiry(expiry.input.value);
    const raw: FieldErrors = {};
    const panError = digits.length >= 6 && brand === 'unknown' ? 'CARD_BRAND_UNSUPPORTED' : checkPan(digits);
    if (panError) raw.number = panError;
    const expError = exp ? checkExpiry(exp.month, exp.year, new Date(clock())) : 'CARD_EXPIRY_INVALID';
    if (expError) raw.expiry = expError;
    const cvcError = checkCvc(cvc.input.value, brand);
    if (cvcError) raw.cvc = cvcError;
    // Show an error once the field was left, or as soon as it is obviously wrong while typing.
    const shown: FieldErrors = {};
    const live = {
      number: touched.number || digits.length >= typicalPanLength(brand) || raw.number === 'CARD_BRAND_UNSUPPORTED',
      expiry: touched.expiry || digitsOnly(expiry.input.value).length >= 4,
      cvc: touched.cvc,
    };
    for (const key of ['number', 'expiry', 'cvc'] as const) {
      const code = serverErrors[key] ?? raw[key];
      if (code && live[key]) shown[key] = code;
    }
    const complete = !raw.number && !raw.expiry && !raw.cvc && !serverErrors.number && !serverErrors.expiry && !serverErrors.cvc;
    return { digits, brand, exp, shown, complete };
  };

  const update = (): ReturnType<typeof evaluate> => {
    const state = evaluate();
    brandBadge.textContent = state.brand === 'unknown' ? '' : brandLabel(state.brand);
    const len = String(cvcLength(state.brand));
    if (cvc.input.getAttribute('maxlength') !== len) cvc.input.setAttribute('maxlength', len);
    for (const key of ['number', 'expiry', 'cvc'] as const) {
      const code = state.shown[key];
      fields[key].input.setAttribute('aria-invalid', code ? 'true' : 'false');
      const text = code === 'CARD_CVC_INVALID' ? `Enter the ${len}-digit security code.` : code ? messageFor(code) : '';
      if (fields[key].error.textContent !== text) fields[key].error.textContent = text;
    }
    const errors = state.shown;
    const key = JSON.stringify([state.complete, state.brand, errors.number, errors.expiry, errors.cvc]);
    if (key !== lastChange) {
      lastChange = key;
      emit({ type: 'change', complete: state.complete, brand: state.brand, errors: { ...errors } });
    }
    return state;
  };

  number.input.addEventListener('input', () => {
    delete serverErrors.number;
    reformat(number.input, formatPan);
    update();
  });
  expiry.input.addEventListener('input', () => {
    delete serverErrors.expiry;
    reformat(expiry.input, formatExpiry);
    update();
  });
  cvc.input.addEventListener('input', () => {
    delete serverErrors.cvc;
    reformat(cvc.input, (value) => digitsOnly(value).slice(0, 4));
    update();
  });
  for (const key of ['number', 'expiry', 'cvc'] as const) {
    fields[key].input.addEventListener('blur', () => {
      if (fields[key].input.value === '') return;
      touched[key] = true;
      update();
    });
  }

  /** A CARD_* code from the service marks its field; the customer corrects it there. */
  const onField = (code: ErrorCode): boolean => {
    const key = FIELD_OF[code as CardErrorCode];
    if (!key) return false;
    serverErrors[key] = code as CardErrorCode;
    touched[key] = true;
    update();
    fields[key].input.focus();
    return true;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy(ctx)) return;
    touched.number = touched.expiry = touched.cvc = true;
    const state = update();
    if (!state.complete || !state.exp) {
      const first = (['number', 'expiry', 'cvc'] as const).find((k) => state.shown[k]);
      if (first) fields[first].input.focus();
      return;
    }
    const body: TokenizeRequest = {
      pivotToken: options.pivotToken,
      card: {
        number: state.digits,
        expMonth: state.exp.month,
        expYear: state.exp.year,
        cvc: cvc.input.value,
        ...(name.input.value.trim() ? { name: name.input.value.trim().slice(0, 100) } : {}),
      },
    };
    submitStep(ctx, event, TOKENS_PATH, body, 'Saving your card…', {
      done: (json) => {
        const card = v.safeParse(CardDisplaySchema, json);
        if (!card.success) return 'INTERNAL_ERROR';
        const { brand, last4 } = card.output;
        return { event: { type: 'complete', kind: 'card_payment', card: card.output }, notice: `${brandLabel(brand)} •••• ${last4} saved` };
      },
      onField,
    });
  });

  replaceChildren(root, form);
  update();
  // No focus() on render: the customer may be typing in the chat; fields are focused only after
  // they submitted here (the first field to correct).
}
