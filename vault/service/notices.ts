/**
 * Signed notices to the chat server ("card tokenized / address changed / transfer confirmed or
 * declined for step X of conversation Y"), delivered
 * through a transactional outbox so none is lost:
 *
 * 1. the step's transaction inserts the notice's claims in `notice_outbox` beside its row (card,
 *    sealed address, transfer answer);
 * 2. right after the commit, one delivery is attempted;
 * 3. a background worker (also run at start) retries undelivered notices with capped
 *    exponential backoff and jitter, forever.
 *
 * Each attempt signs a FRESH JWS (ES256, `typ` VAULT_NOTICE_TYP, `kid`, `exp` = iat +
 * VAULT_NOTICE_TTL_S) with the SAME `jti`, so a late retry is not expired while the chat
 * server's replay check still sees one notice. A 2xx, or 409 NOTICE_REPLAYED (it already has
 * it), marks the notice delivered.
 *
 * @module
 */
import { SignJWT } from 'jose';
import * as v from 'valibot';
import { VAULT_NOTICE_TTL_S, VAULT_NOTICE_TYP, VaultNoticeClaimsSchema, type VaultNoticeClaims } from '../../protocol/vault-api.ts';
import type { KeyProvider } from './keys.ts';
import { postJson, type PostJson } from './post-json.ts';
import type { VaultStatements } from './statements.ts';

/** Notices looked at per worker pass. */
export const NOTICE_BATCH_SIZE = 50;

/** The claims stored in the outbox: everything but the per-signature times. */
export type StoredNoticeClaims = VaultNoticeClaims extends infer C ? (C extends unknown ? Omit<C, 'iat' | 'exp'> : never) : never;

export interface NoticeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NoticeOutboxOptions {
  readonly statements: VaultStatements;
  readonly keys: KeyProvider;
  readonly url: string;
  /** Transport; defaults to a keep-alive node:http(s) POST. */
  readonly post?: PostJson;
  readonly log: NoticeLog;
  readonly timeoutMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly intervalMs: number;
  readonly now?: () => number;
}

export interface NoticeOutbox {
  /** Try to deliver one notice now; resolves true once it is delivered. */
  deliver(id: string): Promise<boolean>;
  /** Deliver every notice that is due (worker pass). */
  deliverDue(): Promise<void>;
  /** Start the background worker (and run one pass at once). */
  start(): void;
  /** Stop the worker and wait for attempts in flight. */
  stop(): Promise<void>;
}

/** Delay before attempt `attempts + 1`, in ms: doubling from `initial`, capped, with jitter. */
export function backoffMs(attempts: number, initial: number, max: number, random: () => number = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempts - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** Sign the notice for one delivery attempt. */
export async function signNotice(claims: StoredNoticeClaims, keys: KeyProvider, nowS: number): Promise<string> {
  const full = { ...claims, iat: nowS, exp: nowS + VAULT_NOTICE_TTL_S } as VaultNoticeClaims;
  const parsed = v.parse(VaultNoticeClaimsSchema, full);
  const { kid, privateKey } = await keys.getNoticeSigningKey();
  const { iss, aud, jti, iat, exp, ...rest } = parsed;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(privateKey);
}

export function createNoticeOutbox(options: NoticeOutboxOptions): NoticeOutbox {
  const { statements, log } = options;
  const post = options.post ?? postJson;
  const now = options.now ?? Date.now;
  const inFlight = new Map<string, Promise<boolean>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let pass: Promise<void> | undefined;

  async function attempt(id: string): Promise<boolean> {
    const row = statements.getNotice(id);
    if (!row) return true; // already delivered
    let outcome: string;
    try {
      const notice = await signNotice(JSON.parse(row.claims) as StoredNoticeClaims, options.keys, Math.floor(now() / 1000));
      const response = await post(options.url, { notice }, options.timeoutMs);
      const code = response.status === 409 ? (response.json as { error?: { code?: unknown } } | null)?.error?.code : undefined;
      if ((response.status >= 200 && response.status < 300) || (response.status === 409 && code === 'NOTICE_REPLAYED')) {
        statements.markDelivered(id);
        log.info({ noticeId: id, status: response.status, attempts: row.attempts + 1 }, 'notice delivered');
        return true;
      }
      outcome = `http ${response.status}`;
    } catch (error) {
      outcome = (error as { name?: string }).name === 'TimeoutError' ? 'timeout' : 'network';
    }
    const attempts = row.attempts + 1;
    const delay = backoffMs(attempts, options.retryInitialMs, options.retryMaxMs);
    statements.markFailed(id, attempts, now() + delay, outcome);
    log.warn({ noticeId: id, outcome, attempts, retryInMs: delay }, 'notice not delivered; will retry');
    return false;
  }

  function deliver(id: string): Promise<boolean> {
    const running = inFlight.get(id);
    if (running) return running;
    const p = attempt(id)
      .catch((error: unknown) => {
        log.warn({ noticeId: id, error: (error as Error).name }, 'notice attempt failed');
        return false;
      })
      .finally(() => inFlight.delete(id));
    inFlight.set(id, p);
    return p;
  }

  async function deliverDue(): Promise<void> {
    const due = statements.dueNotices(now(), NOTICE_BATCH_SIZE);
    await Promise.all(due.map((id) => deliver(id)));
  }

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      pass = deliverDue()
        .catch((error: unknown) => log.warn({ error: (error as Error).name }, 'notice worker pass failed'))
        .finally(schedule);
    }, options.intervalMs);
    timer.unref();
  };

  return {
    deliver,
    deliverDue,
    start() {
      stopped = false;
      pass = deliverDue().catch((error: unknown) => log.warn({ error: (error as Error).name }, 'notice worker pass failed'));
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await pass;
      await Promise.all(inFlight.values());
    },
  };
}
