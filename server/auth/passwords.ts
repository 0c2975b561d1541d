/**
 * Agent password hashing: scrypt with a per-password salt, encoded as
 * `scrypt$N$r$p$salt$hash` (base64url). Verification is constant time, and an unknown agent
 * name costs the same scrypt work as a wrong password, so timing does not reveal names.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_N = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
export const SCRYPT_KEY_BYTES = 32;
export const SCRYPT_SALT_BYTES = 16;

function derive(password: string, salt: Buffer, options: ScryptOptions, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await derive(password, salt, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P }, SCRYPT_KEY_BYTES);
  return ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** A well-formed hash no password matches, verified when the agent name is unknown. */
const DUMMY_HASH = ['scrypt', SCRYPT_N, SCRYPT_R, SCRYPT_P, randomBytes(SCRYPT_SALT_BYTES).toString('base64url'),
  randomBytes(SCRYPT_KEY_BYTES).toString('base64url')].join('$');

/** Checks `password` against `encoded` (or against a dummy hash when `encoded` is undefined). */
export async function verifyPassword(password: string, encoded: string | undefined): Promise<boolean> {
  const parts = (encoded ?? DUMMY_HASH).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (![n, r, p].every(Number.isInteger) || expected.length === 0) return false;
  const actual = await derive(password, salt, { N: n, r, p, maxmem: 128 * n * r * 2 }, expected.length);
  return timingSafeEqual(actual, expected) && encoded !== undefined;
}
