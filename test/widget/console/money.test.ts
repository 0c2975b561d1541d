import { describe, expect, it } from 'vitest';
import { MAX_AMOUNT_MINOR, toMinorUnits } from '../../../widget/console/money.ts';

describe('toMinorUnits', () => {
  it.each([
    ['12.50', 'EUR', 1250],
    ['12,5', 'EUR', 1250],
    ['12', 'USD', 1200],
    [' 0.01 ', 'GBP', 1],
    ['1500', 'JPY', 1500],
    ['1000000', 'EUR', MAX_AMOUNT_MINOR],
  ])('converts %j %s to %d minor units without floats', (input, currency, minor) => {
    expect(toMinorUnits(input, currency)).toBe(minor);
  });

  it.each([
    ['', 'EUR'],
    ['0', 'EUR'],
    ['-5', 'EUR'],
    ['12.345', 'EUR'],
    ['12.5', 'JPY'],
    ['1e3', 'EUR'],
    ['12.50 EUR', 'EUR'],
    ['1000000.01', 'EUR'],
  ])('refuses %j in %s', (input, currency) => {
    expect(toMinorUnits(input, currency)).toBeNull();
  });
});
