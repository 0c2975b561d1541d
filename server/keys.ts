/**
 * The pivot-token signing keys: ES256, generated on first start and kept in
 * `DATA_DIR/chat-keys.json` (mode 0600). The first key of the file signs; the others are
 * previous keys, still published in the JWKS so that tokens signed just before a rotation keep
 * verifying until they expire. Each key is named by its RFC 7638 thumbprint (`kid`).
 *
 * @module
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export const CHAT_KEYS_FILE = 'chat-keys.json';
export const SIGNING_ALG = 'ES256';
/** Keys kept (and published) after a rotation: the current one and its predecessor. */
export const MAX_PUBLISHED_KEYS = 2;

export interface SigningKey {
  readonly kid: string;
  readonly alg: typeof SIGNING_ALG;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

interface StoredKey {
  kid: string;
  alg: typeof SIGNING_ALG;
  createdAt: string;
  privateJwk: JWK;
}

interface KeyFile {
  version: 1;
  keys: StoredKey[];
}

export class PivotKeyRing {
  readonly #path: string;
  #keys: SigningKey[];

  private constructor(path: string, keys: SigningKey[]) {
    this.#path = path;
    this.#keys = keys;
  }

  /** Loads the key file, creating it with a fresh key on first start. */
  static async open(dataDir: string): Promise<PivotKeyRing> {
    const path = join(dataDir, CHAT_KEYS_FILE);
    if (!existsSync(path)) {
      const stored = await newStoredKey();
      writeKeyFile(path, { version: 1, keys: [stored] });
      return new PivotKeyRing(path, [await toSigningKey(stored)]);
    }
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    const file = JSON.parse(readFileSync(path, 'utf8')) as KeyFile;
    if (file.version !== 1 || !Array.isArray(file.keys) || file.keys.length === 0) {
      throw new Error(`${path} is not a chat key file`);
    }
    return new PivotKeyRing(path, await Promise.all(file.keys.map(toSigningKey)));
  }

  /** The key that signs new tokens. */
  get current(): SigningKey {
    return this.#keys[0]!;
  }

  /** The public JWKS: current + previous keys. */
  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((k) => ({ ...k.publicJwk })) };
  }

  /** Makes a new key current and keeps the previous one published; drops older ones. */
  async rotate(): Promise<SigningKey> {
    const file = JSON.parse(readFileSync(this.#path, 'utf8')) as KeyFile;
    const stored = await newStoredKey();
    file.keys = [stored, ...file.keys].slice(0, MAX_PUBLISHED_KEYS);
    writeKeyFile(this.#path, file);
    this.#keys = await Promise.all(file.keys.map(toSigningKey));
    return this.current;
  }
}

async function newStoredKey(): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicPart(privateJwk));
  return { kid, alg: SIGNING_ALG, createdAt: new Date().toISOString(), privateJwk };
}

async function toSigningKey(stored: StoredKey): Promise<SigningKey> {
  const privateKey = (await importJWK(stored.privateJwk, SIGNING_ALG)) as CryptoKey;
  return {
    kid: stored.kid,
    alg: SIGNING_ALG,
    privateKey,
    publicJwk: { ...publicPart(stored.privateJwk), kid: stored.kid, alg: SIGNING_ALG, use: 'sig' },
  };
}

function publicPart(jwk: JWK): JWK {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, y } as JWK;
}

function writeKeyFile(path: string, file: KeyFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
