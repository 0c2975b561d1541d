/**
 * Card data at rest: AES-256-GCM under a key id, a random 12-byte IV per record, and the card
 * token as additional authenticated data, so a ciphertext copied to another row does not
 * decrypt. Plus a keyed HMAC-SHA256 fingerprint of the PAN for "same card" lookups.
 *
 * The same envelope seals the other secrets the vault keeps (a new postal address, bound to its
 * record id): {@link sealJson} / {@link openJson}.
 *
 * The CVC never reaches this module.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { SymmetricKey } from './key-provider.ts';

/** GCM nonce length, in bytes. */
export const IV_BYTES = 12;
/** GCM tag length, in bytes. */
export const TAG_BYTES = 16;

/** What is encrypted: the PAN and, when given, the cardholder name. */
export interface CardSecret {
  readonly pan: string;
  readonly name?: string;
}

export interface SealedCard {
  readonly keyId: string;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
}

/** Encrypt `secret` under `key`, bound to `aad` (the card token). */
export function sealCard(secret: CardSecret, aad: string, key: SymmetricKey): SealedCard {
  return sealJson(secret.name === undefined ? { pan: secret.pan } : { pan: secret.pan, name: secret.name }, aad, key);
}

/** Decrypt a sealed card; throws when the key, IV, tag, ciphertext or `aad` do not match. */
export function openCard(sealed: SealedCard, aad: string, key: SymmetricKey): CardSecret {
  return openJson<CardSecret>(sealed, aad, key);
}

/** Encrypt the JSON of `value` under `key`, bound to `aad` (the record's id); the plaintext buffer is zeroed. */
export function sealJson(value: unknown, aad: string, key: SymmetricKey): SealedCard {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const plain = Buffer.from(JSON.stringify(value), 'utf8');
  try {
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { keyId: key.kid, iv, ciphertext, tag: cipher.getAuthTag() };
  } finally {
    plain.fill(0);
  }
}

/** Decrypt what {@link sealJson} sealed; throws when the key, IV, tag, ciphertext or `aad` do not match. */
export function openJson<T>(sealed: SealedCard, aad: string, key: SymmetricKey): T {
  if (sealed.keyId !== key.kid) throw new Error('wrong data key');
  const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.tag);
  const plain = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  try {
    return JSON.parse(plain.toString('utf8')) as T;
  } finally {
    plain.fill(0);
  }
}

/** Keyed fingerprint of a PAN (hex HMAC-SHA256): equal PANs, equal fingerprints; not reversible without the key. */
export function fingerprintPan(pan: string, key: SymmetricKey): string {
  return createHmac('sha256', key.key).update(pan, 'utf8').digest('hex');
}
