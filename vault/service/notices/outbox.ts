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
 * server's replay check still sees one notice.
 *
 * Notices due at the same time share one POST: deliveries asked for in the same event-loop turn,
 * or while NOTICE_MAX_POSTS_IN_FLIGHT posts are already out, are sent together, up to
 * VAULT_NOTICE_BATCH_MAX per POST (each notice still its own JWS). A lone notice is sent as
 * `{ notice }` (a 2xx, or 409 NOTICE_REPLAYED, marks it delivered); several as `{ notices }`,
 * where each result `accepted` or `replayed` marks its notice delivered and any other is retried
 * with the backoff. A failed POST (network, timeout, non-2xx, an answer that does not match the
 * batch) retries every notice of it.
 *
 * @module
 */
import { sign } from 'node:crypto';
import * as v from 'valibot';
import {
  VAULT_NOTICE_BATCH_MAX,
  VAULT_NOTICE_TTL_S,
  VAULT_NOTICE_TYP,
  VaultNoticeBatchResponseSchema,
  VaultNoticeClaimsSchema,
  type VaultNoticeClaims,
} from '../../../protocol/vault-api.ts';
import type { NoticeOutboxTable } from '../store/db.ts';
import type { KeyProvider } from '../keys/key-provider.ts';
import { postJson, type PostJson } from '../http/post-json.ts';
import type { VaultStatements } from '../store/statements.ts';
import { systemClock, type Clock } from '../../../protocol/clock.ts';

/** Notices looked at per worker pass, and sent per POST at most. */
export const NOTICE_BATCH_SIZE = VAULT_NOTICE_BATCH_MAX;
/** Most notice POSTs out at once; further deliveries wait and go out together in the next one. */
export const NOTICE_MAX_POSTS_IN_FLIGHT = 2;

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
  readonly clock?: Clock;
}

export interface NoticeOutbox {
  /** Try to deliver one notice now (with others due at the same time); resolves true once it is delivered. */
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

const b64url = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Sign the notice for one delivery attempt: a compact JWS, ES256 over P-256 with the signature
 * in the JOSE (r || s) form, by node:crypto directly (a fraction of the cost of a JWT library).
 */
export async function signNotice(claims: StoredNoticeClaims, keys: KeyProvider, nowS: number): Promise<string> {
  const full = { ...claims, iat: nowS, exp: nowS + VAULT_NOTICE_TTL_S } as VaultNoticeClaims;
  const parsed = v.parse(VaultNoticeClaimsSchema, full);
  const { kid, privateKey } = await keys.getNoticeSigningKey();
  const input = `${b64url(JSON.stringify({ alg: 'ES256', typ: VAULT_NOTICE_TYP, kid }))}.${b64url(JSON.stringify(parsed))}`;
  const signature = sign('sha256', Buffer.from(input, 'ascii'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** What became of one notice of a POST: delivered, or the reason it will be retried. */
type Outcome = { readonly delivered: true; readonly status: string } | { readonly delivered: false; readonly reason: string };

/** Reads the chat server's answer to a POST of `ids` (in order) into one outcome per notice. */
export function readAnswer(ids: readonly string[], status: number, json: unknown): Outcome[] {
  const all = (outcome: Outcome): Outcome[] => ids.map(() => outcome);
  if (ids.length === 1) {
    const code = status === 409 ? (json as { error?: { code?: unknown } } | null)?.error?.code : undefined;
    if ((status >= 200 && status < 300) || code === 'NOTICE_REPLAYED') return all({ delivered: true, status: String(status) });
    return all({ delivered: false, reason: `http ${status}` });
  }
  if (status < 200 || status >= 300) return all({ delivered: false, reason: `http ${status}` });
  const parsed = v.safeParse(VaultNoticeBatchResponseSchema, json);
  // One result per notice, in order: a result naming another notice means the answer cannot be matched.
  const results = parsed.success ? parsed.output.results : [];
  if (results.length !== ids.length || results.some((r, i) => r.jti !== undefined && r.jti !== ids[i])) {
    return all({ delivered: false, reason: 'bad response' });
  }
  return results.map((result): Outcome => {
    if (result.status === 'invalid') return { delivered: false, reason: `invalid ${result.code ?? 'unknown'}` };
    return { delivered: true, status: result.status };
  });
}

export function createNoticeOutbox(options: NoticeOutboxOptions): NoticeOutbox {
  const { statements, log } = options;
  const post = options.post ?? postJson;
  const now = options.clock ?? systemClock;
  /** Every notice queued or being sent, with what its deliver() callers wait on. */
  const inFlight = new Map<string, Promise<boolean>>();
  const settle = new Map<string, (delivered: boolean) => void>();
  const queue: string[] = [];
  let posting = 0;
  let pumpScheduled = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let pass: Promise<void> | undefined;

  function failed(row: NoticeOutboxTable, reason: string): void {
    const attempts = row.attempts + 1;
    const delay = backoffMs(attempts, options.retryInitialMs, options.retryMaxMs);
    statements.markFailed(row.id, attempts, now() + delay, reason);
    log.warn({ noticeId: row.id, outcome: reason, attempts, retryInMs: delay }, 'notice not delivered; will retry');
  }

  /** One POST for `ids`; resolves each notice's deliver() with whether it is delivered. */
  async function send(ids: readonly string[]): Promise<void> {
    const rows: NoticeOutboxTable[] = [];
    const signed: string[] = [];
    const nowS = Math.floor(now() / 1000);
    for (const id of ids) {
      const row = statements.getNotice(id);
      if (!row) {
        settle.get(id)?.(true); // already delivered
        continue;
      }
      try {
        signed.push(await signNotice(JSON.parse(row.claims) as StoredNoticeClaims, options.keys, nowS));
        rows.push(row);
      } catch (error) {
        log.warn({ noticeId: id, error: (error as Error).name }, 'notice could not be signed');
        failed(row, 'unsignable');
        settle.get(id)?.(false);
      }
    }
    if (rows.length === 0) return;
    const body = signed.length === 1 ? { notice: signed[0]! } : { notices: signed };
    let outcomes: Outcome[];
    try {
      const response = await post(options.url, body, options.timeoutMs);
      outcomes = readAnswer(
        rows.map((r) => r.id),
        response.status,
        response.json,
      );
    } catch (error) {
      const reason = (error as { name?: string }).name === 'TimeoutError' ? 'timeout' : 'network';
      outcomes = rows.map(() => ({ delivered: false, reason }));
    }
    rows.forEach((row, i) => {
      const outcome = outcomes[i]!;
      if (outcome.delivered) {
        statements.markDelivered(row.id);
        log.info({ noticeId: row.id, status: outcome.status, attempts: row.attempts + 1, batch: rows.length }, 'notice delivered');
      } else {
        failed(row, outcome.reason);
      }
      settle.get(row.id)?.(outcome.delivered);
    });
  }

  /** Start POSTs for queued notices while fewer than NOTICE_MAX_POSTS_IN_FLIGHT are out. */
  function pump(): void {
    pumpScheduled = false;
    while (posting < NOTICE_MAX_POSTS_IN_FLIGHT && queue.length > 0) {
      const ids = queue.splice(0, NOTICE_BATCH_SIZE);
      posting++;
      void send(ids)
        .catch((error: unknown) => {
          log.warn({ error: (error as Error).name, batch: ids.length }, 'notice attempt failed');
          for (const id of ids) settle.get(id)?.(false);
        })
        .finally(() => {
          posting--;
          pump();
        });
    }
  }

  function deliver(id: string): Promise<boolean> {
    const running = inFlight.get(id);
    if (running) return running;
    const p = new Promise<boolean>((resolve) => settle.set(id, resolve)).finally(() => {
      inFlight.delete(id);
      settle.delete(id);
    });
    inFlight.set(id, p);
    queue.push(id);
    // Deliveries asked for in this turn of the event loop go out together.
    if (!pumpScheduled) {
      pumpScheduled = true;
      setImmediate(pump);
    }
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
