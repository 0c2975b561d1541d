import { describe, expect, it } from 'vitest';
import { luhnValid, maskCardNumbers } from '../../server/mask.ts';

describe('maskCardNumbers', () => {
  it('masks a Luhn-valid 16-digit number, keeping the last four', () => {
    expect(maskCardNumbers('my card is 4242424242424242 thanks')).toBe('my card is ••••••••••••4242 thanks');
  });

  it('masks numbers typed with spaces or dashes and keeps the separators', () => {
    expect(maskCardNumbers('4242 4242 4242 4242')).toBe('•••• •••• •••• 4242');
    expect(maskCardNumbers('5555-5555-5555-4444')).toBe('••••-••••-••••-4444');
    expect(maskCardNumbers('amex 3782 822463 10005')).toBe('amex •••• •••••• •0005');
  });

  it('masks 13- and 19-digit card numbers', () => {
    expect(maskCardNumbers('4222222222222')).toBe('•••••••••2222');
    expect(luhnValid('6011000990139424')).toBe(true);
    const nineteen = '4000000000000000006';
    expect(luhnValid(nineteen)).toBe(true);
    expect(maskCardNumbers(nineteen)).toBe(`${'•'.repeat(15)}0006`);
  });

  it('catches a card number with the CVC typed right after it', () => {
    expect(maskCardNumbers('4242 4242 4242 4242 123')).toBe('•••• •••• •••• 4242 123');
    expect(maskCardNumbers('4242424242424242 123')).toBe('••••••••••••4242 123');
  });

  it('finds a card number inside an unbroken run longer than 19 digits', () => {
    expect(maskCardNumbers('99942424242424242429')).not.toContain('4242424242424242');
  });

  it('leaves numbers that fail Luhn or are too short alone', () => {
    expect(maskCardNumbers('order 4242424242424241')).toBe('order 4242424242424241');
    expect(maskCardNumbers('call +44 20 7946 0958')).toBe('call +44 20 7946 0958');
    expect(maskCardNumbers('ref 123456789012')).toBe('ref 123456789012');
    expect(maskCardNumbers('no digits here')).toBe('no digits here');
  });

  it('masks every card number in a message', () => {
    expect(maskCardNumbers('4242424242424242 or 5555555555554444')).toBe('••••••••••••4242 or ••••••••••••4444');
  });

  it('preserves the text length', () => {
    const text = 'x 4242-4242-4242-4242 y';
    expect(maskCardNumbers(text)).toHaveLength(text.length);
  });
});
