/**
 * Masks card numbers (and the security code typed after one) in any text before the chat server
 * stores, logs or relays it: chat messages from every channel, display names, webhook bodies.
 *
 * Customers paste card numbers in every shape their keyboard allows, so detection first reads
 * each character for what it MEANS, not how it is encoded:
 * - each code point is normalised on its own (Unicode NFKC): full-width `４`, superscript `⁴`,
 *   circled `④` and mathematical `𝟒` all read as the digit 4; digits of other scripts (Arabic-
 *   Indic `٤`, Devanagari `४`...) read as their value;
 * - format characters (`\p{Cf}`: zero-width space U+200B, joiners, soft hyphen, bidi marks) are
 *   skipped altogether;
 * - only a LETTER ends a run of digits. Anything else between two digits (spaces of any width and
 *   number, U+00A0, U+202F, U+2009, dots, slashes, underscores, dashes, line breaks, emoji,
 *   combining marks) is a separator.
 *
 * In a run holding at least {@link PAN_MIN_DIGITS} digits, EVERY window of
 * {@link PAN_MIN_DIGITS}..{@link PAN_MAX_DIGITS} consecutive digits is Luhn-checked, wherever
 * the groups as typed begin or end (so a number followed by its CVC in one 19-digit run is found).
 * A valid window has all its digits but the last {@link PAN_VISIBLE_DIGITS} replaced by
 * {@link MASK_CHAR}; separators are kept, so a 16-digit number typed in four groups of four reads
 * "•••• •••• •••• " followed by its last four digits.
 * After a card number, every group of {@link CVC_MIN_DIGITS}..{@link CVC_MAX_DIGITS} digits that
 * starts within {@link CVC_LOOKAHEAD_CHARS} characters is masked whole: "cvc 123" becomes
 * "cvc •••", and so does a code typed onto the number itself (an expiry "11/29" is two 2-digit
 * groups and stays readable).
 *
 * Over-masking is the accepted failure mode; leaking a PAN is not. A long digit string (a
 * reference, an IBAN's digits, a second card right after a first) may lose more digits than its
 * last four, since one Luhn-valid window in ten is found by chance. The work
 * is linear in the text length (prefix sums make each Luhn window O(1)); {@link maskWithCost}
 * reports the operation count and {@link MASK_MAX_STEPS_PER_CHAR} bounds it.
 *
 * @module
 */

export const PAN_MIN_DIGITS = 13;
export const PAN_MAX_DIGITS = 19;
/** Digits of a card number left readable at its end. */
export const PAN_VISIBLE_DIGITS = 4;
/** A security code is 3 (Visa, Mastercard) or 4 (Amex) digits. */
export const CVC_MIN_DIGITS = 3;
export const CVC_MAX_DIGITS = 4;
/** How far after a card number a security code is looked for, in characters (format characters not counted). */
export const CVC_LOOKAHEAD_CHARS = 32;
/**
 * A code typed onto the number with no separator is looked for only after a number of at least
 * this many digits. Inside a 16-digit number, a 13-digit window ending three digits before its end
 * is Luhn-valid one time in ten; that is far likelier than a 13-digit card (no longer issued)
 * with its code glued on, and reading it as one would hide the last four of every such number.
 */
export const GLUED_CODE_MIN_PAN_DIGITS = 14;
export const MASK_CHAR = '•';
/**
 * Upper bound of the masker's operations per character of input (classification, Luhn windows,
 * masking, security-code look-ahead, output), whatever the text: the guarantee against inputs
 * built to make it slow.
 */
export const MASK_MAX_STEPS_PER_CHAR = 64;

/**
 * Luhn (mod 10) check over a string of ASCII digits. The vault has its own (vault/shared/card.ts)
 * on purpose: server/ may not import vault/ code, and the PCI scope stays one folder.
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

/** Returns `text` with every card number (and the security code after it) masked; other text is untouched. */
export function maskCardNumbers(text: string): string {
  return maskWithCost(text).text;
}

/** True when `text` contains something {@link maskCardNumbers} would mask. */
export function containsCardNumber(text: string): boolean {
  return maskCardNumbers(text) !== text;
}

/** What a token of the normalised text is. */
const DIGIT = 0;
const SEPARATOR = 1;
const LETTER = 2;

/** One unit of the normalised text, pointing back to the code point it came from. */
interface Tokens {
  kind: number[];
  /** Digit value (0..9) for digits. */
  value: number[];
  /** Index of the source code point in the `points` array. */
  source: number[];
}

/** {@link maskCardNumbers} with the number of elementary operations it took (for the bound test). */
export function maskWithCost(text: string): { text: string; cost: number } {
  if (!mayHoldCardNumber(text)) return { text, cost: text.length };
  let cost = 0;

  const points = Array.from(text);
  const tokens: Tokens = { kind: [], value: [], source: [] };
  for (let i = 0; i < points.length; i++) {
    cost += classify(points[i]!, i, tokens);
  }

  const masked = new Uint8Array(points.length);
  const n = tokens.kind.length;
  // Per token: the length of the longest card number ending at this digit (0: none), after which
  // a security code is looked for.
  const triggers = new Uint8Array(n);

  let runStart = 0;
  while (runStart < n) {
    let runEnd = runStart;
    while (runEnd < n && tokens.kind[runEnd] !== LETTER) runEnd++;
    cost += runEnd - runStart + 1;
    cost += maskRun(tokens, runStart, runEnd, masked, triggers);
    runStart = runEnd + 1;
  }
  for (let t = 0; t < n; t++) {
    cost += 1;
    if (triggers[t]) cost += maskSecurityCodes(tokens, t, triggers[t]!, masked);
  }

  let out = '';
  let changed = false;
  for (let i = 0; i < points.length; i++) {
    cost += 1;
    if (masked[i]) {
      out += MASK_CHAR;
      changed = true;
    } else {
      out += points[i];
    }
  }
  return { text: changed ? out : text, cost };
}

/**
 * Cheap pre-check: plain ASCII text with fewer than PAN_MIN_DIGITS digits cannot hold a card
 * number. Any other character may be a digit in disguise, so then the full scan runs.
 */
function mayHoldCardNumber(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return true;
    if (c >= 48 && c <= 57 && ++digits >= PAN_MIN_DIGITS) return true;
  }
  return false;
}

const FORMAT = /^\p{Cf}$/u;
const LETTER_CHAR = /^\p{L}$/u;
const DECIMAL_DIGIT = /^\p{Nd}$/u;
/** Classification of non-ASCII code points already seen (bounded by the distinct code points of one text). */
const classified = new Map<string, ReadonlyArray<readonly [number, number]>>();
const CLASSIFIED_CACHE_MAX = 4096;

/** Appends the tokens of one code point; returns the operations spent. */
function classify(point: string, index: number, tokens: Tokens): number {
  const c = point.charCodeAt(0);
  if (point.length === 1 && c <= 0x7f) {
    if (c >= 48 && c <= 57) push(tokens, DIGIT, c - 48, index);
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) push(tokens, LETTER, 0, index);
    else push(tokens, SEPARATOR, 0, index);
    return 1;
  }
  let parts = classified.get(point);
  if (!parts) {
    parts = classifyUnicode(point);
    if (classified.size >= CLASSIFIED_CACHE_MAX) classified.clear();
    classified.set(point, parts);
  }
  for (const [kind, value] of parts) push(tokens, kind, value, index);
  return 1 + parts.length;
}

function push(tokens: Tokens, kind: number, value: number, source: number): void {
  tokens.kind.push(kind);
  tokens.value.push(value);
  tokens.source.push(source);
}

/** Tokens of a non-ASCII code point: none for a format character, else those of its NFKC form. */
function classifyUnicode(point: string): Array<readonly [number, number]> {
  if (FORMAT.test(point)) return [];
  const parts: Array<readonly [number, number]> = [];
  for (const ch of point.normalize('NFKC')) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 48 && c <= 57) parts.push([DIGIT, c - 48]);
    else if (DECIMAL_DIGIT.test(ch)) parts.push([DIGIT, decimalValue(ch.codePointAt(0)!)]);
    else if (FORMAT.test(ch)) continue;
    else if (LETTER_CHAR.test(ch)) parts.push([LETTER, 0]);
    else parts.push([SEPARATOR, 0]);
  }
  return parts;
}

/**
 * Value of a decimal digit of any script. Unicode encodes every set of decimal digits as a
 * contiguous block 0..9 (a stability guarantee), and adjacent blocks are whole, so the value is
 * the distance to the start of the contiguous run of digits, modulo 10.
 */
function decimalValue(codePoint: number): number {
  let start = codePoint;
  // The longest run of adjacent digit blocks is 50 (mathematical digits); 100 bounds the walk.
  while (codePoint - start < 100 && start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}

/**
 * Luhn-checks every 13..19-digit window of the digits in tokens [from, to) (a run without
 * letters), masks all but the last four digits of each valid one and records, at its last digit,
 * its length (a security code is looked for after it). Returns the operations spent.
 */
function maskRun(tokens: Tokens, from: number, to: number, masked: Uint8Array, triggers: Uint8Array): number {
  const at: number[] = [];
  for (let t = from; t < to; t++) if (tokens.kind[t] === DIGIT) at.push(t);
  const m = at.length;
  let cost = to - from;
  if (m < PAN_MIN_DIGITS) return cost;

  // Prefix sums by position parity: plain[q][k] sums the digits at positions p < k with p % 2 == q,
  // doubled[q][k] their Luhn-doubled values. A window [s, e) doubles the digits whose distance to
  // its last digit is odd, i.e. those whose parity differs from (e - 1)'s.
  const plain = [new Int32Array(m + 1), new Int32Array(m + 1)] as const;
  const doubled = [new Int32Array(m + 1), new Int32Array(m + 1)] as const;
  for (let p = 0; p < m; p++) {
    const d = tokens.value[at[p]!]!;
    const dd = d * 2 > 9 ? d * 2 - 9 : d * 2;
    const q = p % 2;
    plain[q][p + 1] = plain[q][p]! + d;
    doubled[q][p + 1] = doubled[q][p]! + dd;
    plain[1 - q]![p + 1] = plain[1 - q]![p]!;
    doubled[1 - q]![p + 1] = doubled[1 - q]![p]!;
  }
  cost += m;

  // Difference array over digit positions: +1 where a masked range starts, -1 after it ends.
  const cover = new Int32Array(m + 1);
  for (let e = PAN_MIN_DIGITS; e <= m; e++) {
    const last = (e - 1) % 2;
    const other = 1 - last;
    for (let len = PAN_MIN_DIGITS; len <= PAN_MAX_DIGITS && len <= e; len++) {
      cost += 1;
      const s = e - len;
      if ((plain[last]![e]! - plain[last]![s]! + doubled[other]![e]! - doubled[other]![s]!) % 10 !== 0) continue;
      cover[s]! += 1;
      cover[e - PAN_VISIBLE_DIGITS]! -= 1;
      triggers[at[e - 1]!] = Math.max(triggers[at[e - 1]!]!, len);
    }
  }
  let depth = 0;
  for (let p = 0; p < m; p++) {
    depth += cover[p]!;
    if (depth > 0) masked[tokens.source[at[p]!]!] = 1;
  }
  return cost + m;
}

/**
 * Masks each group of CVC_MIN_DIGITS..CVC_MAX_DIGITS digits that starts within
 * CVC_LOOKAHEAD_CHARS tokens after the card number ending at token `panEnd`. A group is a
 * maximal sequence of digit tokens with nothing between them (format characters are not tokens,
 * so "1\u200B23" is one group). Digits typed right after a card number of at least
 * {@link GLUED_CODE_MIN_PAN_DIGITS} digits with no separator are a group of their own:
 * a 3-digit code typed onto the last group of a 16-digit number is masked, while a 16-digit number
 * typed as one run whose first 13 digits happen to be Luhn-valid too does not make its last 3
 * digits a code. Returns the operations spent.
 */
function maskSecurityCodes(tokens: Tokens, panEnd: number, panDigits: number, masked: Uint8Array): number {
  const n = tokens.kind.length;
  const limit = Math.min(n, panEnd + 1 + CVC_LOOKAHEAD_CHARS);
  let t = panEnd + 1;
  let cost = 1;
  if (panDigits < GLUED_CODE_MIN_PAN_DIGITS) {
    // Digits glued onto a 13-digit window are read as the rest of a longer number, not a code.
    while (t < limit && tokens.kind[t] === DIGIT) {
      t++;
      cost++;
    }
  }
  while (t < limit) {
    cost += 1;
    if (tokens.kind[t] !== DIGIT) {
      t++;
      continue;
    }
    const start = t;
    // Count at most one digit more than a security code has: a longer group is not one.
    while (t < n && tokens.kind[t] === DIGIT && t - start <= CVC_MAX_DIGITS) t++;
    const length = t - start;
    cost += length;
    if (length >= CVC_MIN_DIGITS && length <= CVC_MAX_DIGITS) {
      for (let k = start; k < t; k++) masked[tokens.source[k]!] = 1;
    } else {
      // Step over the rest of a long group, but never past the look-ahead.
      while (t < limit && tokens.kind[t] === DIGIT) {
        t++;
        cost++;
      }
    }
  }
  return cost;
}
