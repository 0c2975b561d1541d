import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CVC_LOOKAHEAD_CHARS,
  GLUED_CODE_MIN_PAN_DIGITS,
  MASK_CHAR,
  MASK_MAX_STEPS_PER_CHAR,
  PAN_MAX_DIGITS,
  PAN_MIN_DIGITS,
  PAN_VISIBLE_DIGITS,
  luhnValid,
  maskCardNumbers,
  maskWithCost,
} from '../../../server/conversations/mask.ts';

/** Fixed seeds: the generated cases are the same on every run (no luck involved). */
const RUNS = { seed: 0x5eed_0001, numRuns: 400 } as const;

describe('maskCardNumbers (examples)', () => {
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
    expect(maskCardNumbers(nineteen)).toMatch(/^•{15}/);
  });

  it('masks the security code typed after a card number, apart or glued to it', () => {
    expect(maskCardNumbers('4242 4242 4242 4242 123')).not.toMatch(/123/);
    // Windows reaching into the code are Luhn-checked too, so fewer than four digits may stay.
    expect(maskCardNumbers('4242424242424242 123')).toMatch(/^•{12}[•4][•2][•4]2 •••$/);
    expect(maskCardNumbers('card 4210 9606 3188 9196 exp 11/29 cvc 123 thanks')).toBe('card •••• •••• •••• 9196 exp 11/29 cvc ••• thanks');
    expect(maskCardNumbers('3782 822463 10005, CID 1234')).toBe('•••• •••••• •0005, CID ••••');
    // A code glued to the number: one run of 19 digits (16 + 3) that fails Luhn as a whole.
    expect(luhnValid('4242424242424242123')).toBe(false);
    expect(maskCardNumbers('4242424242424242123')).toMatch(/^•+$/);
    expect(maskCardNumbers('4242 4242 4242 4242123')).not.toMatch(/123/);
  });

  it(`reads digits glued onto a number as its code only after ${GLUED_CODE_MIN_PAN_DIGITS} digits or more`, () => {
    // "5555555555554" is a Luhn-valid 13-digit window: "444" after it is the card's end, not a code.
    expect(luhnValid('5555555555554')).toBe(true);
    expect(maskCardNumbers('5555555555554444')).toBe('••••••••••••4444');
    expect(maskCardNumbers('5555-5555-5555-4444')).toBe('••••-••••-••••-4444');
    // A 15-digit Amex number (>= 14) with its 4-digit code glued on.
    expect(maskCardNumbers('3782 822463 100051234')).toMatch(/^•••• •••••• ••••[•5]••••$/);
  });

  it(`looks for a security code only within ${CVC_LOOKAHEAD_CHARS} characters of the card number`, () => {
    const near = `4242424242424242${' '.repeat(CVC_LOOKAHEAD_CHARS - 1)}123`;
    const far = `4242424242424242${' '.repeat(CVC_LOOKAHEAD_CHARS)}123`;
    expect(maskCardNumbers(near).endsWith('•••')).toBe(true);
    expect(maskCardNumbers(far).endsWith('123')).toBe(true);
  });

  it('finds a card number inside an unbroken run longer than 19 digits', () => {
    expect(maskCardNumbers('99942424242424242429')).not.toContain('424242424242');
  });

  it('leaves numbers that fail Luhn or are too short alone', () => {
    // No window of 13..16 digits of this number passes Luhn.
    expect(maskCardNumbers('order 1234567812345678')).toBe('order 1234567812345678');
    expect(maskCardNumbers('call +44 20 7946 0958')).toBe('call +44 20 7946 0958');
    expect(maskCardNumbers('ref 123456789012')).toBe('ref 123456789012');
    expect(maskCardNumbers('no digits here')).toBe('no digits here');
    expect(maskCardNumbers('Café à 10/12, 12:30 — €1,250.00')).toBe('Café à 10/12, 12:30 — €1,250.00');
  });

  it('masks every card number in a message', () => {
    expect(maskCardNumbers('4242424242424242 or 5555555555554444')).toBe('••••••••••••4242 or ••••••••••••4444');
  });

  it('replaces each masked character by one MASK_CHAR and touches nothing else', () => {
    const text = 'x 4242-4242-4242-4242 y';
    expect(maskCardNumbers(text)).toHaveLength(text.length);
    expect(maskCardNumbers('𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐𝟒𝟐')).toBe(`${MASK_CHAR.repeat(12)}𝟒𝟐𝟒𝟐`);
  });

  // Each spelling the review showed to slip through the earlier masker.
  const pan = '4210960631889196';
  const groups = ['4210', '9606', '3188', '9196'];
  const dodges: Record<string, string> = {
    dots: groups.join('.'),
    slashes: groups.join('/'),
    underscores: groups.join('_'),
    'no-break spaces (U+00A0)': groups.join('\u00a0'),
    'narrow no-break spaces (U+202F)': groups.join('\u202f'),
    'thin spaces (U+2009)': groups.join('\u2009'),
    'four spaces': groups.join('    '),
    'line breaks': groups.join('\n'),
    'CRLF line breaks': groups.join('\r\n'),
    'zero-width spaces (U+200B)': [...pan].join('\u200b'),
    'word joiners and soft hyphens': groups.join('\u2060\u00ad'),
    'full-width digits': String.fromCodePoint(...[...pan].map((d) => 0xff10 + Number(d))),
    'Arabic-Indic digits': String.fromCodePoint(...[...pan].map((d) => 0x0660 + Number(d))),
    'Devanagari digits': String.fromCodePoint(...[...pan].map((d) => 0x0966 + Number(d))),
    'mathematical bold digits': String.fromCodePoint(...[...pan].map((d) => 0x1d7ce + Number(d))),
    'keycap emoji': [...pan].map((d) => `${d}\ufe0f\u20e3`).join(''),
    'card and CVC as one 19-digit run': `${pan}737`,
    'mixed separators': '4210 - 96.06/31_88\u00a09196',
  };
  for (const [name, text] of Object.entries(dodges)) {
    it(`masks a card number written with ${name}`, () => {
      const masked = maskCardNumbers(`card: ${text}.`);
      expect(visibleDigits(masked)).not.toContain(pan.slice(0, 6));
      expect(visibleDigits(masked).length).toBeLessThanOrEqual(PAN_VISIBLE_DIGITS);
    });
  }
});

// ------------------------------------------------------------------ properties

/** The digits a reader sees in `text` (any script, NFKC), in order. */
function visibleDigits(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFKC')) {
    if (/\p{Nd}/u.test(ch)) out += String(digitValue(ch));
  }
  return out;
}

function digitValue(ch: string): number {
  const cp = ch.codePointAt(0)!;
  let start = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** A Luhn-valid card number of 13..19 digits. */
const panArb = fc
  .tuple(fc.integer({ min: PAN_MIN_DIGITS, max: PAN_MAX_DIGITS }), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: PAN_MAX_DIGITS, maxLength: PAN_MAX_DIGITS }))
  .map(([length, digits]) => {
    const body = digits.slice(0, length - 1).join('');
    for (let check = 0; check <= 9; check++) if (luhnValid(body + check)) return body + check;
    throw new Error('unreachable');
  });

/** How one digit may be written. */
const DIGIT_FORMS = [0x30, 0xff10, 0x0660, 0x06f0, 0x0966, 0x09e6, 0x1d7ce, 0x1d7ec, 0x1d7f6];
const digitForm = fc.constantFrom(...DIGIT_FORMS);

/** What may come between two digits of a card number: anything but a letter. */
const separator = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.constantFrom(' ', '-', '.', '/', '_', '\u00a0', '\u202f', '\u2009', '\u3000', '\n', '\r', '\t', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '*', ',', '|', '🙂', '\u0301'), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.join('')),
  },
);

/** A card number as a customer might type it, with the positions (code point indexes) of its digits. */
const typedPan = fc
  .tuple(panArb, fc.array(digitForm, { minLength: PAN_MAX_DIGITS, maxLength: PAN_MAX_DIGITS }), fc.array(separator, { minLength: PAN_MAX_DIGITS, maxLength: PAN_MAX_DIGITS }))
  .map(([digits, forms, seps]) => {
    const points: string[] = [];
    const digitAt: number[] = [];
    [...digits].forEach((d, i) => {
      if (i > 0) points.push(...Array.from(seps[i]!));
      digitAt.push(points.length);
      points.push(String.fromCodePoint(forms[i]! + Number(d)));
    });
    return { digits, points, digitAt };
  });

describe('maskCardNumbers (properties)', () => {
  it('never leaves more than the last four digits of a card number readable, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), typedPan, fc.string({ unit: 'binary', maxLength: 40 }), (before, card, after) => {
        const prefix = Array.from(before);
        const input = [...prefix, ...card.points, ...Array.from(after)];
        const output = Array.from(maskCardNumbers(input.join('')));
        expect(output).toHaveLength(input.length);
        const hidden = card.digitAt.slice(0, card.digitAt.length - PAN_VISIBLE_DIGITS);
        for (const at of hidden) expect(output[prefix.length + at]).toBe(MASK_CHAR);
      }),
      RUNS,
    );
  });

  it('masks a 3- or 4-digit security code after a card number, apart or glued to it (after 14+ digits)', () => {
    const label = fc.constantFrom('', ' ', ' cvc ', ', CVV: ', '\n', ' exp 11/29 cvc ', '/', '\u00a0');
    fc.assert(
      fc.property(
        fc.constantFrom('', 'my card ', 'Card: '),
        typedPan,
        label,
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 3, maxLength: 4 }),
        fc.constantFrom('', ' thanks', '.'),
        (before, card, between, code, after) => {
          fc.pre(between !== '' || card.digits.length >= GLUED_CODE_MIN_PAN_DIGITS);
          const head = [...Array.from(before), ...card.points, ...Array.from(between)];
          const output = Array.from(maskCardNumbers(`${head.join('')}${code.join('')}${after}`));
          for (let k = 0; k < code.length; k++) expect(output[head.length + k]).toBe(MASK_CHAR);
        },
      ),
      RUNS,
    );
  });

  it('changes nothing but digits, and only into MASK_CHAR', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const input = Array.from(text);
        const output = Array.from(maskCardNumbers(text));
        expect(output).toHaveLength(input.length);
        output.forEach((ch, i) => {
          if (ch !== input[i]) {
            expect(ch).toBe(MASK_CHAR);
            expect(visibleDigits(input[i]!).length).toBeGreaterThan(0);
          }
        });
      }),
      RUNS,
    );
  });

  it('leaves text whose digit runs are all shorter than a card number untouched', () => {
    const shortRun = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: PAN_MIN_DIGITS - 1 }).map((d) => d.join(''));
    const word = fc.constantFrom('order', 'ref', 'call', 'at', 'x', 'é');
    fc.assert(
      fc.property(fc.array(fc.tuple(word, shortRun), { maxLength: 12 }), (parts) => {
        const text = parts.map(([w, n]) => `${w} ${n}`).join(' ');
        expect(maskCardNumbers(text)).toBe(text);
      }),
      RUNS,
    );
  });
});

describe('maskCardNumbers cost', () => {
  // Operation counts, not time: the same on any machine.
  const pathological: Record<string, string> = {
    'zeros (every window Luhn-valid)': '0'.repeat(4000),
    'zeros and spaces': '0 '.repeat(2000),
    'card numbers back to back': '4242424242424242'.repeat(250),
    'digits, separators and codes': '4242 4242 4242 4242 123 '.repeat(166),
    'full-width digits and zero-width spaces': '０\u200b'.repeat(2000),
    'digits and letters alternating': '4a'.repeat(2000),
  };
  for (const [name, text] of Object.entries(pathological)) {
    it(`stays within MASK_MAX_STEPS_PER_CHAR on 4,000 characters of ${name}`, () => {
      expect(text.length).toBeGreaterThanOrEqual(3980);
      const { cost } = maskWithCost(text);
      expect(cost).toBeLessThanOrEqual(MASK_MAX_STEPS_PER_CHAR * text.length);
      // Linear: twice the text costs about twice as much.
      const double = maskWithCost(text + text).cost;
      expect(double / cost).toBeLessThan(2.1);
    });
  }

  it('stays within MASK_MAX_STEPS_PER_CHAR on any mix of digits and separators', () => {
    const unit = fc.constantFrom('0', '4', '9', ' ', '-', '\u200b', '٤', 'a', '    ');
    fc.assert(
      fc.property(fc.array(unit, { minLength: 1, maxLength: 600 }), (parts) => {
        const text = parts.join('');
        expect(maskWithCost(text).cost).toBeLessThanOrEqual(MASK_MAX_STEPS_PER_CHAR * text.length);
      }),
      { ...RUNS, numRuns: 100 },
    );
  });
});
