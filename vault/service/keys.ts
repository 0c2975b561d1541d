/**
 * Key management behind one small interface, where a KMS/HSM would plug in.
 *
 * - data keys: AES-256-GCM keys that encrypt card data, each with a key id stored beside every
 *   ciphertext, so keys rotate (new `current`, old ones kept for decryption);
 * - HMAC key: keys the PAN fingerprint ("same card" lookups without the PAN);
 * - notice-signing keys: ES256 key pairs; the public halves are served at /.well-known/jwks.json.
 *
 * The file implementation keeps them in `DATA_DIR/vault-keys.json`, created on first start
 * with mode 0600 (and forced back to 0600 when found looser). The file is the secret: back it up
 * separately from the database, never beside it.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import * as v from 'valibot';

/** File name of the key file inside DATA_DIR. */
export const KEY_FILE_NAME = 'vault-keys.json';
/** AES-256: 32-byte keys. */
export const DATA_KEY_BYTES = 32;
/** HMAC-SHA256 key length, in bytes. */
export const HMAC_KEY_BYTES = 32;

export interface SymmetricKey {
  readonly kid: string;
  readonly key: Buffer;
}

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/** The vault's keys. Asynchronous so that a remote KMS can implement it. */
export interface KeyProvider {
  /** The data key new card data is encrypted under. */
  currentDataKey(): Promise<SymmetricKey>;
  /** A data key by id (for decryption); rejects when unknown. */
  getDataKey(kid: string): Promise<SymmetricKey>;
  /** The key of the PAN fingerprint. */
  getHmacKey(): Promise<SymmetricKey>;
  /** The key notices are signed with now. */
  getNoticeSigningKey(): Promise<SigningKey>;
  /** Public keys that verify notices (current and previous), as JWKs with `kid`, `alg`, `use`. */
  getNoticeVerificationKeys(): Promise<JWK[]>;
}

const b64key = (bytes: number) => v.pipe(v.string(), v.base64(), v.check((s) => Buffer.from(s, 'base64').length === bytes, 'bad key length'));
const kid = v.pipe(v.string(), v.regex(/^[a-z]{2}_[A-Za-z0-9_-]{8,64}$/));

const KeyFileSchema = v.strictObject({
  version: v.literal(1),
  currentDataKid: kid,
  dataKeys: v.pipe(v.array(v.strictObject({ kid, key: b64key(DATA_KEY_BYTES), createdAt: v.string() })), v.minLength(1)),
  hmacKey: v.strictObject({ kid, key: b64key(HMAC_KEY_BYTES), createdAt: v.string() }),
  currentNoticeKid: kid,
  noticeKeys: v.pipe(
    v.array(v.strictObject({ kid, privateJwk: v.looseObject({ kty: v.literal('EC'), crv: v.literal('P-256'), d: v.string() }), createdAt: v.string() })),
    v.minLength(1),
  ),
});
type KeyFile = v.InferOutput<typeof KeyFileSchema>;

function newKid(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

function generateKeyFile(): KeyFile {
  const createdAt = new Date().toISOString();
  const dataKid = newKid('dk');
  const noticeKid = newKid('nk');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    version: 1,
    currentDataKid: dataKid,
    dataKeys: [{ kid: dataKid, key: randomBytes(DATA_KEY_BYTES).toString('base64'), createdAt }],
    hmacKey: { kid: newKid('hk'), key: randomBytes(HMAC_KEY_BYTES).toString('base64'), createdAt },
    currentNoticeKid: noticeKid,
    noticeKeys: [{ kid: noticeKid, privateJwk: privateKey.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; d: string }, createdAt }],
  };
}

/** Read `DATA_DIR/vault-keys.json`, creating it (mode 0600) when absent. */
function loadOrCreateKeyFile(dataDir: string): KeyFile {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, KEY_FILE_NAME);
  try {
    writeFileSync(file, `${JSON.stringify(generateKeyFile(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const parsed = v.safeParse(KeyFileSchema, JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${KEY_FILE_NAME}: invalid key file`);
  const keys = parsed.output;
  if (!keys.dataKeys.some((k) => k.kid === keys.currentDataKid)) throw new Error(`${KEY_FILE_NAME}: currentDataKid not found`);
  if (!keys.noticeKeys.some((k) => k.kid === keys.currentNoticeKid)) throw new Error(`${KEY_FILE_NAME}: currentNoticeKid not found`);
  return keys;
}

/**
 * The file-backed {@link KeyProvider}.
 *
 * @example const keys = createFileKeyProvider(config.dataDir);
 */
export function createFileKeyProvider(dataDir: string): KeyProvider {
  const file = loadOrCreateKeyFile(dataDir);
  const dataKeys = new Map(file.dataKeys.map((k) => [k.kid, { kid: k.kid, key: Buffer.from(k.key, 'base64') }]));
  const hmac: SymmetricKey = { kid: file.hmacKey.kid, key: Buffer.from(file.hmacKey.key, 'base64') };
  const noticeKeys = new Map(
    file.noticeKeys.map((k) => [k.kid, { kid: k.kid, privateKey: createPrivateKey({ key: k.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }) }]),
  );
  const publicJwks: JWK[] = [...noticeKeys.values()].map(({ kid: id, privateKey }) => {
    const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
    return { kty, crv, x, y, kid: id, alg: 'ES256', use: 'sig' } as JWK;
  });

  return {
    currentDataKey: async () => dataKeys.get(file.currentDataKid)!,
    getDataKey: async (id) => {
      const key = dataKeys.get(id);
      if (!key) throw new Error('unknown data key id');
      return key;
    },
    getHmacKey: async () => hmac,
    getNoticeSigningKey: async () => noticeKeys.get(file.currentNoticeKid)!,
    getNoticeVerificationKeys: async () => publicJwks.map((k) => ({ ...k })),
  };
}
