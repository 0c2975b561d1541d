/**
 * The vault's audit trail (PCI DSS requirement 10): append-only and tamper-evident. Every row
 * carries the SHA-256 of the previous row's hash and its own canonical content, so deleting,
 * reordering or editing any row breaks the chain from that row on; `verify()` walks it.
 *
 * Recorded: every use of a card token (charge), every refused pivot token, every key action
 * (rotation, re-wrap) and every administrative action, each with who, what, when, outcome,
 * origin and resource. Never recorded: card data, CVCs, tokens' secrets, addresses.
 *
 * @module
 */
import { systemClock, type Clock } from '../../../protocol/clock.ts';
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AuditLogTable } from './db.ts';

/** Who acted: a browser through a pivot token, a back-end client, an operator's command, the service. */
export type AuditActorKind = 'customer' | 'client' | 'operator' | 'service';

export interface AuditEntryInput {
  /** The actor, e.g. `{ kind: 'client', id: 'bank-backend' }` or `{ kind: 'customer', id: <pseudonymous sub> }`. */
  readonly actor: { readonly kind: AuditActorKind; readonly id: string };
  /** What happened, dotted: `token.charge`, `pivot_token.rejected`, `key.rotate`, `key.rewrap`, … */
  readonly action: string;
  /** On what: `tok_…`, `step stp_…`, `data-key dk_…`. Never card data. */
  readonly resource: string;
  readonly outcome: 'success' | 'failure';
  /** Browser `Origin`, client address or `cli`; null when none applies. */
  readonly origin: string | null;
  /** A stable error code or short detail; never card data or secrets. */
  readonly detail?: string | null;
}

export interface AuditEntry extends AuditEntryInput {
  /** 1, 2, 3, … without gaps. */
  readonly seq: number;
  /** ISO-8601 time of the append. */
  readonly at: string;
  /** Hex SHA-256 of the previous entry (64 zeros for the first). */
  readonly prevHash: string;
  /** Hex SHA-256 over `prevHash` and this entry's canonical content. */
  readonly hash: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /** The first entry whose hash or link does not verify, when `ok` is false. */
  readonly brokenAt?: number;
}

export interface AuditLog {
  /** Appends one entry (synchronously durable on return). */
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  /** Walks the whole chain and recomputes every hash. */
  verify(): Promise<AuditVerification>;
  /** Entries in order, for the evidence pack and tests. */
  list(options?: { after?: number; limit?: number }): Promise<AuditEntry[]>;
}

// ---- SQLite implementation (table `audit_log`, migration 0003 in db.ts) ----

/** `prev_hash` of the first entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);
/** Longest `detail`, `resource`, actor id or origin kept, in characters (longer values are cut). */
export const AUDIT_FIELD_MAX_CHARS = 256;
/** Most entries {@link AuditLog.list} returns at once. */
export const AUDIT_LIST_MAX = 1000;

/** A row of `audit_log` (its table, store/db.ts). */
export type AuditLogRow = AuditLogTable;

/**
 * The canonical content of an entry: a JSON array of its fields in a fixed order (no key order to
 * disagree on). The hash is `sha256(prevHash + canonical)`, hex.
 */
export function canonicalAuditContent(row: Omit<AuditLogRow, 'prev_hash' | 'hash'>): string {
  return JSON.stringify([row.seq, row.at, row.actor_kind, row.actor_id, row.action, row.resource, row.outcome, row.origin, row.detail]);
}

export function auditHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonical, 'utf8').digest('hex');
}

const cut = (value: string): string => (value.length > AUDIT_FIELD_MAX_CHARS ? value.slice(0, AUDIT_FIELD_MAX_CHARS) : value);

function toEntry(row: AuditLogRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: { kind: row.actor_kind as AuditActorKind, id: row.actor_id },
    action: row.action,
    resource: row.resource,
    outcome: row.outcome as AuditEntry['outcome'],
    origin: row.origin,
    detail: row.detail,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Recompute the whole chain of the `audit_log` table on `sqlite` (read-only use is fine). */
export function verifyAuditChain(sqlite: Database.Database): AuditVerification & { readonly head: string } {
  let expectedSeq = 1;
  let prev = AUDIT_GENESIS_HASH;
  for (const row of sqlite.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditLogRow>) {
    const recomputed = auditHash(row.prev_hash, canonicalAuditContent(row));
    if (row.seq !== expectedSeq || row.prev_hash !== prev || row.hash !== recomputed) {
      return { ok: false, entries: expectedSeq - 1, brokenAt: row.seq !== expectedSeq ? expectedSeq : row.seq, head: prev };
    }
    prev = row.hash;
    expectedSeq++;
  }
  return { ok: true, entries: expectedSeq - 1, head: prev };
}

/** The SQLite audit log; {@link appendSync} joins the caller's open transaction. */
export interface SqliteAuditLog extends AuditLog {
  /**
   * Append synchronously. Inside a better-sqlite3 transaction it is part of that transaction (the
   * entry and the caller's writes commit or roll back together); outside one it takes the write
   * lock first (BEGIN IMMEDIATE), so writers in other processes cannot fork the chain.
   */
  appendSync(entry: AuditEntryInput): AuditEntry;
}

/**
 * The audit log on the vault database's SQLite handle (`openVaultStore(file).sqlite`). Appends
 * read the last row and insert the next in the same write transaction: correct with several
 * processes on one file (the service and an operator's command).
 *
 * @example const audit = openAuditLog(sqlite); await audit.append({ actor: { kind: 'operator', id: 'ops' }, action: 'key.rotate', resource: 'data-key dk_…', outcome: 'success', origin: 'cli' });
 */
export function openAuditLog(sqlite: Database.Database, options: { readonly clock?: Clock } = {}): SqliteAuditLog {
  const clock = options.clock ?? systemClock;
  const selectLast = sqlite.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  const insert = sqlite.prepare(
    `INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, resource, outcome, origin, detail, prev_hash, hash)
     VALUES (@seq, @at, @actor_kind, @actor_id, @action, @resource, @outcome, @origin, @detail, @prev_hash, @hash)`,
  );
  const selectPage = sqlite.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');

  const write = (entry: AuditEntryInput): AuditEntry => {
    const last = selectLast.get() as { seq: number; hash: string } | undefined;
    const content = {
      seq: (last?.seq ?? 0) + 1,
      at: new Date(clock()).toISOString(),
      actor_kind: entry.actor.kind,
      actor_id: cut(entry.actor.id),
      action: cut(entry.action),
      resource: cut(entry.resource),
      outcome: entry.outcome,
      origin: entry.origin === null ? null : cut(entry.origin),
      detail: entry.detail == null ? null : cut(entry.detail),
    };
    const prev = last?.hash ?? AUDIT_GENESIS_HASH;
    const row: AuditLogRow = { ...content, prev_hash: prev, hash: auditHash(prev, canonicalAuditContent(content)) };
    insert.run(row);
    return toEntry(row);
  };
  const writeLocked = sqlite.transaction(write);
  const appendSync = (entry: AuditEntryInput): AuditEntry => (sqlite.inTransaction ? write(entry) : writeLocked.immediate(entry));

  return {
    appendSync,
    append: async (entry) => appendSync(entry),
    verify: async () => {
      const { head: _head, ...result } = verifyAuditChain(sqlite);
      return result;
    },
    list: async ({ after = 0, limit = AUDIT_LIST_MAX } = {}) =>
      (selectPage.all(after, Math.max(0, Math.min(limit, AUDIT_LIST_MAX))) as AuditLogRow[]).map(toEntry),
  };
}
