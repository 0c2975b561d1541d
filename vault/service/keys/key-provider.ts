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
 * Rotation without downtime: the operator's command (`cli/keys.ts`) rewrites the file
 * atomically (temporary file 0600 in the same directory, fsync, rename) under a lock file; the
 * running service looks at the file's identity (inode, size, mtime) at most every
 * {@link KEY_FILE_CHECK_INTERVAL_MS} when a key is asked for, and reloads it when it changed. A
 * new key is therefore in use within that interval; old keys stay until explicitly retired.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import * as v from 'valibot';
import { systemClock, type Clock } from '../../../protocol/clock.ts';

/** File name of the key file inside DATA_DIR. */
export const KEY_FILE_NAME = 'vault-keys.json';
/** Lock file taken while the key file is rewritten (one writer at a time). */
export const KEY_LOCK_FILE_NAME = `${KEY_FILE_NAME}.lock`;
/** AES-256: 32-byte keys. */
export const DATA_KEY_BYTES = 32;
/** HMAC-SHA256 key length, in bytes. */
export const HMAC_KEY_BYTES = 32;
/** The running service looks for a rewritten key file at most this often, in ms (on use). */
export const KEY_FILE_CHECK_INTERVAL_MS = 5_000;

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
const isoDate = v.pipe(v.string(), v.isoTimestamp());

/** Accepts any string a kid could be, for CLI arguments (validated again against the file). */
export const KidSchema = kid;

const KeyFileSchema = v.strictObject({
  version: v.literal(1),
  currentDataKid: kid,
  dataKeys: v.pipe(v.array(v.strictObject({ kid, key: b64key(DATA_KEY_BYTES), createdAt: isoDate })), v.minLength(1)),
  hmacKey: v.strictObject({ kid, key: b64key(HMAC_KEY_BYTES), createdAt: isoDate }),
  currentNoticeKid: kid,
  noticeKeys: v.pipe(
    v.array(v.strictObject({ kid, privateJwk: v.looseObject({ kty: v.literal('EC'), crv: v.literal('P-256'), d: v.string() }), createdAt: isoDate })),
    v.minLength(1),
  ),
});
/** The content of `vault-keys.json` (key material: never log it). */
export type KeyFile = v.InferOutput<typeof KeyFileSchema>;

/** A new key id: a two-letter role prefix (`dk`, `hk`, `nk`) and 96 random bits. */
export function newKid(prefix: 'dk' | 'hk' | 'nk'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** A new AES-256 data key entry. */
export function newDataKey(createdAt: string): KeyFile['dataKeys'][number] {
  return { kid: newKid('dk'), key: randomBytes(DATA_KEY_BYTES).toString('base64'), createdAt };
}

/** A new ES256 notice-signing key entry. */
export function newNoticeKey(createdAt: string): KeyFile['noticeKeys'][number] {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid: newKid('nk'), privateJwk: privateKey.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; d: string }, createdAt };
}

function generateKeyFile(): KeyFile {
  const createdAt = new Date().toISOString();
  const dataKey = newDataKey(createdAt);
  const noticeKey = newNoticeKey(createdAt);
  return {
    version: 1,
    currentDataKid: dataKey.kid,
    dataKeys: [dataKey],
    hmacKey: { kid: newKid('hk'), key: randomBytes(HMAC_KEY_BYTES).toString('base64'), createdAt },
    currentNoticeKid: noticeKey.kid,
    noticeKeys: [noticeKey],
  };
}

/** Parse and check a key file's content; throws without echoing any of it. */
export function parseKeyFile(text: string): KeyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${KEY_FILE_NAME}: not JSON`);
  }
  const parsed = v.safeParse(KeyFileSchema, json);
  if (!parsed.success) throw new Error(`${KEY_FILE_NAME}: invalid key file`);
  const keys = parsed.output;
  if (!keys.dataKeys.some((k) => k.kid === keys.currentDataKid)) throw new Error(`${KEY_FILE_NAME}: currentDataKid not found`);
  if (!keys.noticeKeys.some((k) => k.kid === keys.currentNoticeKid)) throw new Error(`${KEY_FILE_NAME}: currentNoticeKid not found`);
  if (new Set(keys.dataKeys.map((k) => k.kid)).size !== keys.dataKeys.length) throw new Error(`${KEY_FILE_NAME}: duplicate data key id`);
  if (new Set(keys.noticeKeys.map((k) => k.kid)).size !== keys.noticeKeys.length) throw new Error(`${KEY_FILE_NAME}: duplicate notice key id`);
  return keys;
}

/** Read and check `DATA_DIR/vault-keys.json` (forcing mode 0600); throws when absent or invalid. */
export function readKeyFile(dataDir: string): KeyFile {
  const file = join(dataDir, KEY_FILE_NAME);
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return parseKeyFile(readFileSync(file, 'utf8'));
}

/** Test seam: called after the temporary file is durable and before it replaces the key file. */
export interface AtomicWriteHooks {
  readonly beforeRename?: (tmpPath: string) => void;
}

/**
 * Replace `DATA_DIR/vault-keys.json` with `file`, atomically: a temporary file created 0600 in
 * the same directory, written and fsynced, then renamed over the key file and the directory
 * fsynced. A failure at any point leaves the old file whole and no temporary file behind.
 */
export function writeKeyFileAtomic(dataDir: string, file: KeyFile, hooks: AtomicWriteHooks = {}): void {
  const text = `${JSON.stringify(parseKeyFile(JSON.stringify(file)), null, 2)}\n`;
  const target = join(dataDir, KEY_FILE_NAME);
  const tmp = join(dataDir, `.${KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    try {
      if (process.platform !== 'win32') chmodSync(tmp, 0o600);
      const bytes = Buffer.from(text, 'utf8');
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    hooks.beforeRename?.(tmp);
    renameSync(tmp, target);
    renamed = true;
    syncDirectory(dataDir);
  } finally {
    if (!renamed) {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }
}

function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Run `change` on the current key file under the lock file and write its result atomically.
 * Refuses (throws) when another writer holds the lock; a lock left by a crashed command must be
 * removed by the operator after checking no command runs.
 */
export function updateKeyFile<T>(dataDir: string, change: (file: KeyFile) => { file: KeyFile; result: T }, hooks: AtomicWriteHooks = {}): T {
  const lock = join(dataDir, KEY_LOCK_FILE_NAME);
  let lockFd: number;
  try {
    lockFd = openSync(lock, 'wx', 0o600);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') throw new Error(`${KEY_LOCK_FILE_NAME} exists: another key command is running (or crashed: remove the lock file)`);
    throw error;
  }
  try {
    const { file, result } = change(readKeyFile(dataDir));
    writeKeyFileAtomic(dataDir, file, hooks);
    return result;
  } finally {
    closeSync(lockFd);
    unlinkSync(lock);
  }
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
  return readKeyFile(dataDir);
}

interface LoadedKeys {
  readonly currentDataKid: string;
  readonly dataKeys: ReadonlyMap<string, SymmetricKey>;
  readonly hmac: SymmetricKey;
  readonly currentNoticeKid: string;
  readonly noticeKeys: ReadonlyMap<string, SigningKey>;
  readonly publicJwks: readonly JWK[];
}

function loadKeys(file: KeyFile): LoadedKeys {
  const noticeKeys = new Map(
    file.noticeKeys.map((k) => [k.kid, { kid: k.kid, privateKey: createPrivateKey({ key: k.privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' }) }]),
  );
  return {
    currentDataKid: file.currentDataKid,
    dataKeys: new Map(file.dataKeys.map((k) => [k.kid, { kid: k.kid, key: Buffer.from(k.key, 'base64') }])),
    hmac: { kid: file.hmacKey.kid, key: Buffer.from(file.hmacKey.key, 'base64') },
    currentNoticeKid: file.currentNoticeKid,
    noticeKeys,
    publicJwks: [...noticeKeys.values()].map(({ kid: id, privateKey }) => {
      const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
      return { kty, crv, x, y, kid: id, alg: 'ES256', use: 'sig' } as JWK;
    }),
  };
}

/** How the file provider notices a rewritten key file. */
export interface FileKeyProviderOptions {
  /** Least time between two looks at the key file, in ms (default {@link KEY_FILE_CHECK_INTERVAL_MS}). */
  readonly checkIntervalMs?: number;
  /** Clock in ms (tests). */
  readonly clock?: Clock;
}

function fileIdentity(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

/**
 * The file-backed {@link KeyProvider}. Reloads the key file when it was replaced (looked at, on
 * use, at most every `checkIntervalMs`); a file that does not parse is not taken, the keys in
 * use stay (and the next look tries again).
 *
 * @example const keys = createFileKeyProvider(config.dataDir);
 */
export function createFileKeyProvider(dataDir: string, options: FileKeyProviderOptions = {}): KeyProvider {
  const path = join(dataDir, KEY_FILE_NAME);
  const interval = options.checkIntervalMs ?? KEY_FILE_CHECK_INTERVAL_MS;
  const now = options.clock ?? systemClock;
  let keys = loadKeys(loadOrCreateKeyFile(dataDir));
  let identity = fileIdentity(path);
  let checkedAt = now();

  const fresh = (): LoadedKeys => {
    if (now() - checkedAt < interval) return keys;
    checkedAt = now();
    try {
      const seen = fileIdentity(path);
      if (seen !== identity) {
        keys = loadKeys(readKeyFile(dataDir));
        identity = seen;
      }
    } catch {
      // Missing or half-edited by hand: keep serving with the keys already loaded.
    }
    return keys;
  };

  return {
    currentDataKey: async () => {
      const k = fresh();
      return k.dataKeys.get(k.currentDataKid)!;
    },
    getDataKey: async (id) => {
      let key = fresh().dataKeys.get(id);
      if (!key) {
        // A row written by another instance that already saw a newer key file.
        checkedAt = Number.NEGATIVE_INFINITY;
        key = fresh().dataKeys.get(id);
      }
      if (!key) throw new Error('unknown data key id');
      return key;
    },
    getHmacKey: async () => fresh().hmac,
    getNoticeSigningKey: async () => {
      const k = fresh();
      return k.noticeKeys.get(k.currentNoticeKid)!;
    },
    getNoticeVerificationKeys: async () => fresh().publicJwks.map((k) => ({ ...k })),
  };
}
