/**
 * Masks card-like numbers in chat text before it is stored or relayed.
 *
 * A candidate is a run of digits where consecutive digits may be separated by spaces or dashes
 * (up to {@link MASK_MAX_SEPARATOR} of them). A run is split into the digit groups as typed; any
 * range of whole groups holding {@link PAN_MIN_DIGITS}..{@link PAN_MAX_DIGITS} digits that passes
 * the Luhn check is masked (longest range first, from the left): all its digits but the last
 * four become `•`, separators are kept. So a 16-digit card typed in four groups and followed
 * by its CVC is caught, while a 16-digit reference that fails Luhn is left alone. An unbroken run
 * longer than 19 digits is searched window by window: over-masking a long digit string is the
 * accepted failure mode; leaking a PAN is not.
 *
 * @module
 */

export const PAN_MIN_DIGITS = 13;
export const PAN_MAX_DIGITS = 19;
/** Separator characters tolerated between two digits of one run. */
export const MASK_MAX_SEPARATOR = 3;
export const MASK_CHAR = '•';

const RUN = new RegExp(`\\d(?:[ \\-]{0,${MASK_MAX_SEPARATOR}}\\d)*`, 'g');

/**
 * Luhn (mod 10) check over a string of digits. The vault has its own (vault/shared/card.ts) on
 * purpose: server/ may not import vault/ code, and the PCI scope stays one folder.
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Returns `text` with every card-like number masked; other text is untouched. */
export function maskCardNumbers(text: string): string {
  return text.replace(RUN, (run) => maskRun(run));
}

/** True when `text` contains something {@link maskCardNumbers} would mask. */
export function containsCardNumber(text: string): boolean {
  return maskCardNumbers(text) !== text;
}

function maskRun(run: string): string {
  // Groups of consecutive digits (as typed: "4242 4242 …"), with each digit's position in `run`.
  const groups: number[][] = [];
  let current: number[] = [];
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      current.push(i);
    } else if (current.length > 0) {
      groups.push(current);
      current = [];
    }
  }
  if (current.length > 0) groups.push(current);
  if (groups.reduce((n, g) => n + g.length, 0) < PAN_MIN_DIGITS) return run;

  const masked = new Set<number>();
  const maskWindow = (positions: readonly number[]) => {
    for (let k = 0; k < positions.length - 4; k++) masked.add(positions[k]!);
  };
  const digitsAt = (positions: readonly number[]) => positions.map((p) => run[p]).join('');

  let i = 0;
  while (i < groups.length) {
    // Longest range of whole groups starting at i that is a Luhn-valid 13..19 digit number.
    let matchedEnd = -1;
    let positions: number[] = [];
    for (let j = i; j < groups.length; j++) {
      positions = positions.concat(groups[j]!);
      if (positions.length > PAN_MAX_DIGITS) break;
      if (positions.length >= PAN_MIN_DIGITS && luhnValid(digitsAt(positions))) matchedEnd = j;
    }
    if (matchedEnd >= 0) {
      maskWindow(groups.slice(i, matchedEnd + 1).flat());
      i = matchedEnd + 1;
      continue;
    }
    const group = groups[i]!;
    if (group.length > PAN_MAX_DIGITS) maskInsideLongGroup(group, digitsAt(group), maskWindow);
    i += 1;
  }
  if (masked.size === 0) return run;
  let out = '';
  for (let k = 0; k < run.length; k++) out += masked.has(k) ? MASK_CHAR : run[k];
  return out;
}

/** An unbroken run of more than 19 digits: any Luhn-valid 13..19 window in it is masked. */
function maskInsideLongGroup(
  positions: readonly number[],
  digits: string,
  maskWindow: (positions: readonly number[]) => void,
): void {
  let start = 0;
  while (start + PAN_MIN_DIGITS <= digits.length) {
    let matched = 0;
    for (let len = Math.min(PAN_MAX_DIGITS, digits.length - start); len >= PAN_MIN_DIGITS; len--) {
      if (luhnValid(digits.slice(start, start + len))) {
        matched = len;
        break;
      }
    }
    if (matched === 0) {
      start += 1;
      continue;
    }
    maskWindow(positions.slice(start, start + matched));
    start += matched;
  }
}
