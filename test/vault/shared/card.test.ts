import { describe, expect, it } from 'vitest';
import {
  checkCvc,
  checkExpiry,
  checkPan,
  cvcLength,
  detectBrand,
  formatExpiry,
  formatPan,
  luhnValid,
  parseExpiry,
  validateCard,
} from '../../../vault/shared/card.ts';
import { AMEX, MASTERCARD, VISA } from '../helpers.ts';

const NOW = new Date(2026, 5, 15); // 15 June 2026

describe('card validation', () => {
  it('accepts the standard test PANs', () => {
    for (const pan of [VISA, MASTERCARD, AMEX, '6011111111111117', '4000056655665556', '2223003122003222']) {
      expect(checkPan(pan), pan).toBeNull();
      expect(luhnValid(pan)).toBe(true);
    }
  });

  it('detects the brand from the leading digits, also while typing', () => {
    expect(detectBrand(VISA)).toBe('visa');
    expect(detectBrand(MASTERCARD)).toBe('mastercard');
    expect(detectBrand('2221')).toBe('mastercard');
    expect(detectBrand(AMEX)).toBe('amex');
    expect(detectBrand('34')).toBe('amex');
    expect(detectBrand('6011')).toBe('discover');
    expect(detectBrand('65')).toBe('discover');
    expect(detectBrand('4')).toBe('visa');
    expect(detectBrand('9999')).toBe('unknown');
    expect(detectBrand('')).toBe('unknown');
  });

  it('refuses a Luhn failure (CARD_NUMBER_INVALID)', () => {
    expect(luhnValid('4242424242424241')).toBe(false);
    expect(checkPan('4242424242424241')).toBe('CARD_NUMBER_INVALID');
  });

  it('refuses a length the brand does not use (CARD_NUMBER_INVALID)', () => {
    expect(checkPan('42424242424242')).toBe('CARD_NUMBER_INVALID'); // visa, 14 digits
    expect(checkPan('37828224631000')).toBe('CARD_NUMBER_INVALID'); // amex, 14 digits
  });

  it('refuses an unknown brand (CARD_BRAND_UNSUPPORTED)', () => {
    expect(checkPan('9999999999999995')).toBe('CARD_BRAND_UNSUPPORTED');
  });

  it('requires a 3-digit CVC, or 4 for American Express', () => {
    expect(cvcLength('visa')).toBe(3);
    expect(cvcLength('amex')).toBe(4);
    expect(checkCvc('123', 'visa')).toBeNull();
    expect(checkCvc('1234', 'visa')).toBe('CARD_CVC_INVALID');
    expect(checkCvc('12', 'mastercard')).toBe('CARD_CVC_INVALID');
    expect(checkCvc('1234', 'amex')).toBeNull();
    expect(checkCvc('123', 'amex')).toBe('CARD_CVC_INVALID');
    expect(checkCvc('12a', 'visa')).toBe('CARD_CVC_INVALID');
  });

  it('treats a card as valid through its expiry month', () => {
    expect(checkExpiry(6, 2026, NOW)).toBeNull();
    expect(checkExpiry(5, 2026, NOW)).toBe('CARD_EXPIRED');
    expect(checkExpiry(12, 2025, NOW)).toBe('CARD_EXPIRED');
    expect(checkExpiry(1, 2027, NOW)).toBeNull();
  });

  it('refuses an impossible expiry (CARD_EXPIRY_INVALID)', () => {
    expect(checkExpiry(13, 2027, NOW)).toBe('CARD_EXPIRY_INVALID');
    expect(checkExpiry(0, 2027, NOW)).toBe('CARD_EXPIRY_INVALID');
    expect(checkExpiry(1, 2060, NOW)).toBe('CARD_EXPIRY_INVALID');
  });

  it('validates a whole card, first failing field first', () => {
    expect(validateCard({ number: '4242 4242 4242 4242', expMonth: 12, expYear: 2030, cvc: '123' }, NOW)).toEqual({
      ok: true,
      pan: VISA,
      brand: 'visa',
      last4: '4242',
    });
    expect(validateCard({ number: '4242424242424241', expMonth: 1, expYear: 2020, cvc: '1' }, NOW)).toMatchObject({ ok: false, code: 'CARD_NUMBER_INVALID', field: 'number' });
    expect(validateCard({ number: VISA, expMonth: 1, expYear: 2020, cvc: '1' }, NOW)).toMatchObject({ ok: false, code: 'CARD_EXPIRED', field: 'expiry' });
    expect(validateCard({ number: AMEX, expMonth: 1, expYear: 2030, cvc: '123' }, NOW)).toMatchObject({ ok: false, code: 'CARD_CVC_INVALID', field: 'cvc' });
    expect(validateCard({ number: '4242-4242-4242-4242', expMonth: 1, expYear: 2030, cvc: '123' }, NOW)).toMatchObject({ ok: false, code: 'CARD_NUMBER_INVALID' });
  });
});

describe('input formatting', () => {
  it('groups digits per brand', () => {
    expect(formatPan('4242424242424242')).toBe('4242 4242 4242 4242');
    expect(formatPan('378282246310005')).toBe('3782 822463 10005');
    expect(formatPan('4242 42')).toBe('4242 42');
    expect(formatPan('42424242424242424242424')).toBe('4242 4242 4242 4242 424');
    expect(formatPan('abc')).toBe('');
  });

  it('formats the expiry as MM / YY', () => {
    expect(formatExpiry('1')).toBe('1');
    expect(formatExpiry('4')).toBe('04');
    expect(formatExpiry('12')).toBe('12');
    expect(formatExpiry('123')).toBe('12 / 3');
    expect(formatExpiry('12 / 30')).toBe('12 / 30');
    expect(formatExpiry('123456')).toBe('12 / 34');
  });

  it('parses MM / YY, MMYY and MM/YYYY', () => {
    expect(parseExpiry('12 / 30')).toEqual({ month: 12, year: 2030 });
    expect(parseExpiry('1230')).toEqual({ month: 12, year: 2030 });
    expect(parseExpiry('04/2031')).toEqual({ month: 4, year: 2031 });
    expect(parseExpiry('12 / 3')).toBeNull();
    expect(parseExpiry('')).toBeNull();
  });
});
