/**
 * The CVC between tokenization and the first charge (PCI DSS req. 3.3: sensitive authentication
 * data is not kept after authorization, and never on disk).
 *
 * At `POST /v1/tokens` the CVC is sealed with AES-256-GCM under a key made at random when the
 * process starts, held only as a KeyObject in this process and never written or exported; the
 * card token is the additional data (a sealed CVC moved to another card does not open). The
 * sealed value sits in a Map for at most {@link CVC_TTL_MS}; the first charge takes it (the entry
 * is deleted before it is opened), a sweep timer drops expired entries, and a restart loses every
 * CVC, by design: later charges go without CVC, as card-on-file.
 *
 * Buffers that held the CVC in clear are zero-filled after use. JavaScript strings cannot be
 * wiped: the CVC exists as a string only while the request body is parsed and while the charge
 * request to the processor is built, and is then left to the garbage collector.
 *
 * {@link CvcStore} is asynchronous so that a shared store with a native TTL (Redis `SET … PX`,
 * `GETDEL`) can replace this one when several vault processes serve charges; it must keep the
 * same rules: encrypted values, take-once, TTL.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../../../protocol/clock.ts';

/**
 * How long a CVC is held for the first charge, in ms. The bank's back end charges right after the
 * customer completes the card step in the chat (seconds); 15 minutes also covers an agent who
 * confirms the payment by hand, while keeping the window in which a CVC exists short.
 */
export const CVC_TTL_MS = 15 * 60_000;
/** How often expired CVCs are dropped from memory, in ms. */
export const CVC_SWEEP_INTERVAL_MS = 60_000;
/** Most CVCs held at once (one per card tokenized within the TTL); beyond it the oldest goes. */
export const CVC_STORE_MAX_ENTRIES = 100_000;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A CVC taken from the store, with the moment it would have expired (for {@link CvcStore.restore}). */
export interface TakenCvc {
  readonly cvc: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export interface CvcStore {
  /** Hold `cvc` for `cardToken` until {@link CVC_TTL_MS} from now. */
  put(cardToken: string, cvc: string): Promise<void>;
  /** Remove and return the CVC of `cardToken`; undefined when none is held or it expired. */
  take(cardToken: string): Promise<TakenCvc | undefined>;
  /**
   * Put back a CVC whose charge did not reach a result (processor unavailable), with its
   * ORIGINAL expiry: a retry never extends its lifetime. Nothing happens once it expired.
   */
  restore(cardToken: string, taken: TakenCvc): Promise<void>;
  /** How many CVCs are held now (tests, metrics). */
  size(): number;
  /** Drop expired entries now (also done by the timer); returns how many went. */
  sweep(): number;
  /** Stop the timer and forget every CVC. */
  close(): void;
}

interface Sealed {
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
  readonly expiresAt: number;
}

export interface MemoryCvcStoreOptions {
  /** "Now" (tests move it). */
  readonly clock?: Clock;
  readonly ttlMs?: number;
  readonly sweepIntervalMs?: number;
  readonly maxEntries?: number;
}

function seal(key: KeyObject, cardToken: string, cvc: string, expiresAt: number): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(cardToken, 'utf8'));
  const plain = Buffer.from(cvc, 'utf8');
  try {
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag(), expiresAt };
  } finally {
    plain.fill(0);
  }
}

function open(key: KeyObject, cardToken: string, sealed: Sealed): string {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(cardToken, 'utf8'));
  decipher.setAuthTag(sealed.tag);
  const plain = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  try {
    return plain.toString('utf8');
  } finally {
    plain.fill(0);
  }
}

/**
 * The in-process store: AES-256-GCM under a per-process random key, a Map by card token, TTL,
 * take-once, an unref'd sweep timer.
 *
 * @example const cvcs = createMemoryCvcStore(); await cvcs.put(token, '123'); (await cvcs.take(token))?.cvc;
 */
export function createMemoryCvcStore(options: MemoryCvcStoreOptions = {}): CvcStore {
  const now = options.clock ?? systemClock;
  const ttlMs = options.ttlMs ?? CVC_TTL_MS;
  const maxEntries = options.maxEntries ?? CVC_STORE_MAX_ENTRIES;
  // The raw bytes are zeroed once the KeyObject holds them: the key exists only inside it.
  const raw = randomBytes(32);
  const key = createSecretKey(raw);
  raw.fill(0);
  const entries = new Map<string, Sealed>();

  const drop = (cardToken: string, sealed: Sealed): void => {
    entries.delete(cardToken);
    sealed.ciphertext.fill(0);
  };
  const sweep = (): number => {
    const t = now();
    let dropped = 0;
    for (const [cardToken, sealed] of entries) {
      if (sealed.expiresAt <= t) {
        drop(cardToken, sealed);
        dropped++;
      }
    }
    return dropped;
  };
  const hold = (cardToken: string, cvc: string, expiresAt: number): void => {
    const previous = entries.get(cardToken);
    if (previous) drop(cardToken, previous);
    if (entries.size >= maxEntries) {
      // Map iteration is insertion order: the first entry is the oldest.
      const oldest = entries.entries().next().value;
      if (oldest) drop(oldest[0], oldest[1]);
    }
    entries.set(cardToken, seal(key, cardToken, cvc, expiresAt));
  };

  const timer = setInterval(sweep, options.sweepIntervalMs ?? CVC_SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    async put(cardToken, cvc) {
      hold(cardToken, cvc, now() + ttlMs);
    },
    async take(cardToken) {
      const sealed = entries.get(cardToken);
      if (!sealed) return undefined;
      // Gone before it is opened: two concurrent charges cannot both get it.
      entries.delete(cardToken);
      try {
        if (sealed.expiresAt <= now()) return undefined;
        return { cvc: open(key, cardToken, sealed), expiresAt: sealed.expiresAt };
      } finally {
        sealed.ciphertext.fill(0);
      }
    },
    async restore(cardToken, taken) {
      if (taken.expiresAt <= now() || entries.has(cardToken)) return;
      hold(cardToken, taken.cvc, taken.expiresAt);
    },
    size: () => entries.size,
    sweep,
    close() {
      clearInterval(timer);
      for (const [cardToken, sealed] of entries) drop(cardToken, sealed);
    },
  };
}
