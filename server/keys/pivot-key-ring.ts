/**
 * The pivot-token signing keys: ES256, generated on first start and kept in
 * `DATA_DIR/chat-keys.json` (mode 0600). The first key of the file signs; the others are
 * previous keys, still published in the JWKS so that tokens signed just before a rotation keep
 * verifying until they expire. Each key is named by its RFC 7638 thumbprint (`kid`).
 *
 * Rotation without downtime (`npm run chat:keys -- rotate`, cli/keys.ts): the file is rewritten
 * atomically (temporary file 0600 in the same directory, fsync, rename) under a lock file; a
 * running server looks at the file's identity at most every {@link KEY_FILE_CHECK_INTERVAL_MS}
 * ({@link PivotKeyRing.refresh}, called on each request) and reloads it when it changed. A
 * previous key is removed only by `retire`, and only once no token it signed can still be valid
 * ({@link PIVOT_KEY_RETIRE_GRACE_MS} after it stopped being current).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import * as v from 'valibot';
import { PIVOT_TOKEN_MAX_LIFETIME_S } from '../../protocol/pivot-token.ts';

export const CHAT_KEYS_FILE = 'chat-keys.json';
/** Lock file held while the key file is rewritten (one writer at a time). */
export const CHAT_KEYS_LOCK_FILE = `${CHAT_KEYS_FILE}.lock`;
export const SIGNING_ALG = 'ES256';
/** A running server looks for a rewritten key file at most this often, in ms (on request). */
export const KEY_FILE_CHECK_INTERVAL_MS = 5_000;
/**
 * A previous key is retired only this long after it stopped being current, in ms: the longest
 * pivot-token lifetime, plus the time a running server may still sign with it before reloading.
 */
export const PIVOT_KEY_RETIRE_GRACE_MS = PIVOT_TOKEN_MAX_LIFETIME_S * 1000 + KEY_FILE_CHECK_INTERVAL_MS;

export interface SigningKey {
  readonly kid: string;
  readonly alg: typeof SIGNING_ALG;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** What `list` shows of a key (never key material). */
export interface KeyInfo {
  readonly kid: string;
  readonly createdAt: string;
  /** When it stopped being current; null for the current key. */
  readonly supersededAt: string | null;
  readonly current: boolean;
}

const StoredKeySchema = v.strictObject({
  kid: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{43}$/)),
  alg: v.literal(SIGNING_ALG),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  supersededAt: v.optional(v.pipe(v.string(), v.isoTimestamp())),
  privateJwk: v.looseObject({ kty: v.literal('EC'), crv: v.literal('P-256'), x: v.string(), y: v.string(), d: v.string() }),
});
const KeyFileSchema = v.strictObject({ version: v.literal(1), keys: v.pipe(v.array(StoredKeySchema), v.minLength(1)) });
type StoredKey = v.InferOutput<typeof StoredKeySchema>;
type KeyFile = v.InferOutput<typeof KeyFileSchema>;

/** How a key ring is opened. */
export interface KeyRingOptions {
  /** Create the file with a fresh key when absent (default true; the operator's command says false). */
  readonly create?: boolean;
  /** Least time between two looks at the key file, in ms (default {@link KEY_FILE_CHECK_INTERVAL_MS}). */
  readonly checkIntervalMs?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
}

export class PivotKeyRing {
  readonly #path: string;
  readonly #interval: number;
  readonly #now: () => number;
  #keys: SigningKey[];
  #stored: StoredKey[];
  #identity: string;
  #checkedAt: number;

  private constructor(path: string, stored: StoredKey[], keys: SigningKey[], options: KeyRingOptions) {
    this.#path = path;
    this.#interval = options.checkIntervalMs ?? KEY_FILE_CHECK_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.#stored = stored;
    this.#keys = keys;
    this.#identity = fileIdentity(path);
    this.#checkedAt = this.#now();
  }

  /** Loads the key file, creating it with a fresh key on first start (unless `create: false`). */
  static async open(dataDir: string, options: KeyRingOptions = {}): Promise<PivotKeyRing> {
    const path = join(dataDir, CHAT_KEYS_FILE);
    if (!existsSync(path)) {
      if (options.create === false) throw new Error(`no ${CHAT_KEYS_FILE} in ${dataDir}`);
      const stored = await newStoredKey(new Date(options.now?.() ?? Date.now()));
      writeKeyFile(path, { version: 1, keys: [stored] });
      return new PivotKeyRing(path, [stored], [await toSigningKey(stored)], options);
    }
    const file = readKeyFile(path);
    return new PivotKeyRing(path, file.keys, await Promise.all(file.keys.map(toSigningKey)), options);
  }

  /** The key that signs new tokens. */
  get current(): SigningKey {
    return this.#keys[0]!;
  }

  /** The public JWKS: the current key and every previous key not yet retired. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk })) };
  }

  /** Ids and dates of the keys, current first. */
  list(): KeyInfo[] {
    return this.#stored.map((k, i) => ({ kid: k.kid, createdAt: k.createdAt, supersededAt: k.supersededAt ?? null, current: i === 0 }));
  }

  /**
   * Reloads the key file when another process replaced it; looks at most once per check
   * interval. A file that does not load leaves the keys in use as they are.
   */
  async refresh(): Promise<void> {
    if (this.#now() - this.#checkedAt < this.#interval) return;
    this.#checkedAt = this.#now();
    try {
      const seen = fileIdentity(this.#path);
      if (seen === this.#identity) return;
      const file = readKeyFile(this.#path);
      const keys = await Promise.all(file.keys.map(toSigningKey));
      this.#stored = file.keys;
      this.#keys = keys;
      this.#identity = seen;
    } catch {
      // Missing or half-edited by hand: keep signing with the keys already loaded.
    }
  }

  /** Makes a new key current; the previous ones stay published until retired. */
  async rotate(): Promise<SigningKey> {
    const now = new Date(this.#now());
    const stored = await newStoredKey(now);
    await this.#update((file) => {
      const [current, ...older] = file.keys;
      return { version: 1, keys: [stored, { ...current!, supersededAt: now.toISOString() }, ...older] };
    });
    return this.current;
  }

  /**
   * Removes a previous key. Refuses the current key, an unknown one, and one that stopped being
   * current less than {@link PIVOT_KEY_RETIRE_GRACE_MS} ago (tokens it signed may be valid).
   */
  async retire(kid: string): Promise<void> {
    await this.#update((file) => {
      const index = file.keys.findIndex((k) => k.kid === kid);
      if (index === -1) throw new KeyRingRefusal('unknown key id');
      if (index === 0) throw new KeyRingRefusal('the current key cannot be retired');
      const supersededAt = Date.parse(file.keys[index]!.supersededAt ?? file.keys[0]!.createdAt);
      if (this.#now() - supersededAt < PIVOT_KEY_RETIRE_GRACE_MS) {
        throw new KeyRingRefusal(`the key stopped being current less than ${PIVOT_KEY_RETIRE_GRACE_MS / 1000} s ago`);
      }
      return { version: 1, keys: file.keys.filter((k) => k.kid !== kid) };
    });
  }

  async #update(change: (file: KeyFile) => KeyFile): Promise<void> {
    const lock = `${this.#path}.lock`;
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EEXIST') throw new KeyRingRefusal(`${CHAT_KEYS_LOCK_FILE} exists: another key command is running (or crashed: remove the lock file)`);
      throw error;
    }
    try {
      const file = change(readKeyFile(this.#path));
      const keys = await Promise.all(file.keys.map(toSigningKey));
      writeKeyFile(this.#path, file);
      this.#stored = file.keys;
      this.#keys = keys;
      this.#identity = fileIdentity(this.#path);
    } finally {
      closeSync(fd);
      unlinkSync(lock);
    }
  }
}

/** A refused key operation; the message is safe to show and to log. */
export class KeyRingRefusal extends Error {}

function readKeyFile(path: string): KeyFile {
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path} is not a chat key file`);
  }
  const parsed = v.safeParse(KeyFileSchema, json);
  if (!parsed.success) throw new Error(`${path} is not a chat key file`);
  return parsed.output;
}

function fileIdentity(path: string): string {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

async function newStoredKey(now: Date): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = (await exportJWK(privateKey)) as StoredKey['privateJwk'];
  const kid = await calculateJwkThumbprint(publicPart(privateJwk));
  return { kid, alg: SIGNING_ALG, createdAt: now.toISOString(), privateJwk };
}

async function toSigningKey(stored: StoredKey): Promise<SigningKey> {
  const privateKey = (await importJWK(stored.privateJwk as JWK, SIGNING_ALG)) as CryptoKey;
  return {
    kid: stored.kid,
    alg: SIGNING_ALG,
    privateKey,
    publicJwk: { ...publicPart(stored.privateJwk as JWK), kid: stored.kid, alg: SIGNING_ALG, use: 'sig' },
  };
}

function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, y } as JWK;
}

/** Atomic replace: temporary file 0600 in the same directory, fsync, rename, directory fsync. */
function writeKeyFile(path: string, file: KeyFile): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  let renamed = false;
  try {
    try {
      if (process.platform !== 'win32') chmodSync(tmp, 0o600);
      const bytes = Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    renamed = true;
    if (process.platform !== 'win32') {
      const dir = openSync(join(path, '..'), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
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
