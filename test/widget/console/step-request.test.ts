import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { StepRequestSchema } from '../../../protocol/chat.ts';
import { PAYEE_NAME_MAX_CHARS, STEP_KINDS, type Step } from '../../../protocol/pivot-token.ts';
import {
  STEP_KIND_FORMS,
  STEP_PURPOSE_MAX_CHARS,
  STEP_REFERENCE_MAX_CHARS,
  buildStepRequest,
  stepKindForm,
  stepText,
  type StepField,
} from '../../../widget/console/step-request.ts';

/** A form reader over plain values, as the console reads its FormData. */
const form = (values: Partial<Record<StepField, string>>) => (field: StepField) => values[field] ?? '';

const card = { amount: '12.50', currency: 'EUR', purpose: 'Invoice INV-2291', reference: 'INV-2291' };
const transfer = { amount: '250', currency: 'EUR', payeeName: 'A. Martin', payeeAccount: '1234', purpose: 'Rent March', reference: 'RENT-03' };

describe('step kind forms', () => {
  it('offers every step kind of the protocol, card payment first', () => {
    expect(STEP_KIND_FORMS.map((f) => f.kind)).toEqual([...STEP_KINDS]);
    expect(STEP_KIND_FORMS[0]!.kind).toBe('card_payment');
  });

  it('asks each kind for its own fields', () => {
    expect(stepKindForm('card_payment').fields).toEqual(['amount', 'currency', 'purpose', 'reference']);
    expect(stepKindForm('address_change').fields).toEqual(['purpose', 'reference']);
    expect(stepKindForm('transfer').fields).toEqual(['amount', 'currency', 'payeeName', 'payeeAccount', 'purpose', 'reference']);
  });

  it('falls back to card payment for an unknown kind', () => {
    expect(stepKindForm('refund').kind).toBe('card_payment');
  });
});

describe('buildStepRequest', () => {
  it('builds a card payment in minor units', () => {
    const built = buildStepRequest('card_payment', form(card));
    expect(built).toEqual({
      ok: true,
      request: { kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Invoice INV-2291', reference: 'INV-2291' },
      description: 'Card payment of €12.50 requested.',
    });
  });

  it('builds an address change from purpose and reference only, ignoring stray fields', () => {
    const built = buildStepRequest('address_change', form({ ...card, purpose: ' Moving house ', reference: 'ADDR-7' }));
    expect(built).toEqual({
      ok: true,
      request: { kind: 'address_change', purpose: 'Moving house', reference: 'ADDR-7' },
      description: 'Address change requested.',
    });
  });

  it('builds a transfer with its payee, normalising the account tail', () => {
    const built = buildStepRequest('transfer', form({ ...transfer, payeeAccount: ' 12 ab ' }));
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.request).toEqual({
      kind: 'transfer',
      amount: { minor: 25000, currency: 'EUR' },
      payee: { name: 'A. Martin', accountLast4: '12AB' },
      purpose: 'Rent March',
      reference: 'RENT-03',
    });
    expect(built.description).toBe('Confirmation of a €250.00 transfer to A. Martin requested.');
  });

  it('every body it builds passes the protocol schema the server applies', () => {
    for (const [kind, values] of [['card_payment', card], ['address_change', card], ['transfer', transfer]] as const) {
      const built = buildStepRequest(kind, form(values));
      expect(built.ok).toBe(true);
      if (built.ok) expect(v.is(StepRequestSchema, built.request)).toBe(true);
    }
  });

  it.each([
    ['card_payment', { ...card, amount: '12.345' }, 'amount'],
    ['card_payment', { ...card, amount: '' }, 'amount'],
    ['transfer', { ...transfer, amount: '0' }, 'amount'],
    ['card_payment', { ...card, purpose: '  ' }, 'purpose'],
    ['card_payment', { ...card, purpose: 'x'.repeat(STEP_PURPOSE_MAX_CHARS + 1) }, 'purpose'],
    ['address_change', { ...card, reference: '' }, 'reference'],
    ['address_change', { ...card, reference: 'r'.repeat(STEP_REFERENCE_MAX_CHARS + 1) }, 'reference'],
    ['transfer', { ...transfer, payeeName: '' }, 'payeeName'],
    ['transfer', { ...transfer, payeeName: 'n'.repeat(PAYEE_NAME_MAX_CHARS + 1) }, 'payeeName'],
    ['transfer', { ...transfer, payeeAccount: '123' }, 'payeeAccount'],
    ['transfer', { ...transfer, payeeAccount: '12-4' }, 'payeeAccount'],
    ['transfer', { ...transfer, payeeAccount: '12345' }, 'payeeAccount'],
    ['card_payment', { ...card, purpose: 'two\u0007bells' }, 'purpose'],
    ['transfer', { ...transfer, payeeName: 'A.\u0000Martin' }, 'payeeName'],
  ] as const)('refuses %s with a bad field (%#) and names %s', (kind, values, field) => {
    const built = buildStepRequest(kind, form(values));
    expect(built.ok).toBe(false);
    if (!built.ok) {
      expect(built.field).toBe(field);
      expect(built.message).not.toBe('');
    }
  });

  it('accepts purpose and reference at their limits', () => {
    const built = buildStepRequest('address_change', form({ purpose: 'p'.repeat(STEP_PURPOSE_MAX_CHARS), reference: 'r'.repeat(STEP_REFERENCE_MAX_CHARS) }));
    expect(built.ok).toBe(true);
  });

  it('keeps its limits equal to the schema the server applies', () => {
    const at = (purpose: number, reference: number) =>
      v.is(StepRequestSchema, { kind: 'address_change', purpose: 'p'.repeat(purpose), reference: 'r'.repeat(reference) });
    expect(at(STEP_PURPOSE_MAX_CHARS, STEP_REFERENCE_MAX_CHARS)).toBe(true);
    expect(at(STEP_PURPOSE_MAX_CHARS + 1, 1)).toBe(false);
    expect(at(1, STEP_REFERENCE_MAX_CHARS + 1)).toBe(false);
  });
});

describe('stepText', () => {
  const id = 'stp_abcdefghijklmnop';
  it.each([
    [{ id, kind: 'card_payment', amount: { minor: 1250, currency: 'EUR' }, purpose: 'Invoice', reference: 'INV-1' }, 'Card payment requested: €12.50 — Invoice (ref INV-1)'],
    [{ id, kind: 'address_change', purpose: 'Moving', reference: 'ADDR-7' }, 'Address change requested — Moving (ref ADDR-7)'],
    [
      { id, kind: 'transfer', amount: { minor: 25000, currency: 'EUR' }, payee: { name: 'A. Martin', accountLast4: '1234' }, purpose: 'Rent', reference: 'R-3' },
      'Transfer confirmation requested: €250.00 to A. Martin (account …1234) — Rent (ref R-3)',
    ],
  ] as [Step, string][])('describes a %s step', (step, text) => {
    expect(stepText(step)).toBe(text);
  });
});
