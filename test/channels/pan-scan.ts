/**
 * Finds a card number in bytes the chat server wrote (database files, log lines) however it was
 * spelled: UTF-8 or Latin-1, JSON `\uXXXX` or URL `%XX` escapes, full-width digits, any
 * separators between the digits. Used by the attack tests that scan everything stored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The chat database files SQLite may write in WAL mode. */
export const CHAT_DB_FILES = ['chat.db', 'chat.db-wal', 'chat.db-shm'] as const;

function unescape(text: string): string {
  return text
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '');
}

/**
 * True when `text` holds the first `digits` digits of `pan` in order with at most a few
 * non-letter, non-digit characters between each two (the masked form keeps only the last 4).
 */
export function holdsPan(text: string, pan: string, digits = pan.length - 4): boolean {
  const pattern = [...pan.slice(0, digits)].join('[^\\p{L}\\p{N}]{0,8}');
  return new RegExp(pattern, 'u').test(unescape(text));
}

/** The spellings of `bytes` to search: UTF-8 and Latin-1 (binary pages). */
export function bytesHoldPan(bytes: Buffer, pan: string): boolean {
  return holdsPan(bytes.toString('utf8'), pan) || holdsPan(bytes.toString('latin1'), pan);
}

/** The chat database files in `dataDir` that hold `pan` (expects chat.db to exist). */
export function dbFilesHoldingPan(dataDir: string, pan: string): { scanned: string[]; holding: string[] } {
  const scanned = CHAT_DB_FILES.map((f) => join(dataDir, f)).filter((f) => existsSync(f));
  if (!scanned.some((f) => f.endsWith('chat.db'))) throw new Error('no chat.db to scan');
  return { scanned, holding: scanned.filter((f) => bytesHoldPan(readFileSync(f), pan)) };
}
