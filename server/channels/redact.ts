/**
 * What of a signed webhook delivery the chat server keeps: the durable inbox must not hold a card
 * number a customer typed on a public platform (nor the code after it), and it must not hold
 * deliveries meant for another page, number or account.
 *
 * The signature is checked over the raw bytes first (server/routes/webhooks.ts); after that the
 * raw bytes are not needed. Each adapter ADMITS a delivery:
 * - the body is decoded (JSON for Meta, the form for Twilio) and every string is masked
 *   (server/conversations/mask.ts) EXCEPT the platform's identifiers, which carry no customer text and which
 *   dedupe, routing and replies need exactly as sent; then it is re-encoded and that is what is
 *   stored (and hashed for dedupe). Decoding first is what catches a number hidden behind JSON
 *   escapes (`\u0034`) or form encoding (`%34`);
 * - parts addressed to another page / number / account are dropped; when nothing is left the
 *   delivery is not stored at all (acknowledged, logged once without content);
 * - a body that cannot be decoded is kept as a failed row WITHOUT its content: nothing in it can
 *   be told apart from a card number.
 *
 * @module
 */
import { maskCardNumbers } from '../conversations/mask.ts';

/** Keys of Messenger webhooks whose values are Meta's identifiers (page, user, message), stored as sent. */
export const MESSENGER_ID_KEYS: ReadonlySet<string> = new Set(['id', 'mid']);
/** Keys of WhatsApp webhooks whose values are Meta's identifiers (numbers, users, messages), stored as sent. */
export const WHATSAPP_ID_KEYS: ReadonlySet<string> = new Set(['id', 'wa_id', 'from', 'phone_number_id', 'display_phone_number']);
/** Parameters of Twilio's request whose values are its identifiers (messages, account, numbers), stored as sent. */
export const TWILIO_ID_PARAMS: ReadonlySet<string> = new Set(['MessageSid', 'SmsSid', 'SmsMessageSid', 'AccountSid', 'MessagingServiceSid', 'From', 'To']);

/** Deepest JSON nesting read from a delivery (Meta's are about 8 deep); deeper is unreadable. */
export const WEBHOOK_MAX_JSON_DEPTH = 32;
/** Foreign ids named in the one warning logged for a delivery (the count is always logged). */
export const FOREIGN_IDS_LOGGED_MAX = 5;

/** The outcome of admitting a signed delivery. */
export type AdmittedDelivery =
  /** Store `body` (masked, own parts only); `foreign` lists what was dropped. */
  | { readonly kind: 'store'; readonly body: Buffer; readonly foreign: readonly string[] }
  /** Nothing in it is for this bank: store nothing. */
  | { readonly kind: 'foreign'; readonly foreign: readonly string[] }
  /** Cannot be decoded: keep a failed row with `reason`, without the body. */
  | { readonly kind: 'unreadable'; readonly reason: string };

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class UnreadableDelivery extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UnreadableDelivery';
  }
}

/** Parses JSON text no deeper than WEBHOOK_MAX_JSON_DEPTH; throws UnreadableDelivery (never the content). */
export function readJson(raw: Buffer): Json {
  let value: Json;
  try {
    value = JSON.parse(raw.toString('utf8')) as Json;
  } catch {
    throw new UnreadableDelivery('body is not JSON');
  }
  if (depthExceeds(value, WEBHOOK_MAX_JSON_DEPTH)) throw new UnreadableDelivery(`body is nested deeper than ${WEBHOOK_MAX_JSON_DEPTH} levels`);
  return value;
}

function depthExceeds(root: Json, max: number): boolean {
  // Iterative: a hostile body must not overflow the stack.
  const stack: Array<[Json, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * A copy of `value` with every string masked except the values of `keepKeys` (identifiers).
 * Keys are masked too (a key is text like any other). Objects are rebuilt with
 * Object.fromEntries, so a `__proto__` key stays a plain key.
 */
export function maskJson(value: Json, keepKeys: ReadonlySet<string>): Json {
  if (typeof value === 'string') return maskCardNumbers(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => maskJson(item, keepKeys));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      maskCardNumbers(key),
      keepKeys.has(key) && typeof item === 'string' ? item : maskJson(item, keepKeys),
    ]),
  );
}

export function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The string at `value[key]`, or null. */
export function stringAt(value: Json | undefined, key: string): string | null {
  return isObject(value) && typeof value[key] === 'string' ? value[key] : null;
}

/** Form parameters with every value masked except those of `keepNames` (identifiers), order kept. */
export function maskForm(params: ReadonlyArray<readonly [string, string]>, keepNames: ReadonlySet<string>): Buffer {
  const out = new URLSearchParams();
  for (const [name, value] of params) out.append(maskCardNumbers(name), keepNames.has(name) ? value : maskCardNumbers(value));
  return Buffer.from(out.toString(), 'utf8');
}

/**
 * The body of a delivery of `platform` with every string but the identifiers masked, re-encoded
 * (no page filtering: that needs the configuration). For rows stored before deliveries were
 * admitted. Throws UnreadableDelivery.
 */
export function maskDeliveryBody(platform: string, raw: Buffer): Buffer {
  if (platform === 'sms') return maskForm([...new URLSearchParams(raw.toString('utf8')).entries()], TWILIO_ID_PARAMS);
  const keys = platform === 'messenger' ? MESSENGER_ID_KEYS : platform === 'whatsapp' ? WHATSAPP_ID_KEYS : null;
  if (keys === null) throw new UnreadableDelivery('unknown platform');
  return Buffer.from(JSON.stringify(maskJson(readJson(raw), keys)), 'utf8');
}

/** The ids to name in a warning: distinct, at most FOREIGN_IDS_LOGGED_MAX, masked like any text. */
export function foreignIdsForLog(foreign: readonly string[]): string[] {
  return [...new Set(foreign)].slice(0, FOREIGN_IDS_LOGGED_MAX).map((id) => maskCardNumbers(id));
}
