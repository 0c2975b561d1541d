/**
 * The vault's hot-path SQL, as statements prepared once on the same SQLite handle that Kysely
 * uses (Kysely keeps the schema, the migrations and the cold queries). Storing a step answer (a
 * tokenized card, an address, a decision) is ONE synchronous SQLite transaction: consume the pivot
 * token's jti, write the kind's row (its statement is prepared by the kind, steps/), queue the
 * notice, append the audit entry. better-sqlite3 runs it to completion on the event loop, so no
 * other request can interleave, and a jti can be consumed exactly once.
 *
 * The charge API's writes are here too: consume a client credential's jti, reserve an idempotency
 * key (`pending`), then record the outcome and its audit entry in one transaction.
 *
 * Why not Kysely here: it compiles and re-prepares every statement on every call, which was the
 * largest single cost of `POST /v1/tokens` under load (bench/RESULTS.md).
 *
 * @module
 */
import type Database from 'better-sqlite3';
import type { AuditEntryInput, SqliteAuditLog } from './audit-log.ts';
import type { CardsTable, ChargesTable, NoticeOutboxTable, UsedClientJtiTable, UsedJtiTable } from './db.ts';

/** How a charge ended (the row's final columns). */
export interface ChargeOutcome {
  readonly status: 'approved' | 'declined';
  readonly processorReference: string;
  readonly withCvc: boolean;
  readonly updatedAt: string;
}

export interface VaultStatements {
  /**
   * Store one step answer atomically: consume the pivot token's jti, run `write` (the step kind's
   * own row), queue the notice, append the audit entry. Returns false (and stores nothing) when
   * the jti was already used.
   */
  storeStep(jti: UsedJtiTable, write: () => void, notice: NoticeOutboxTable, audit: AuditEntryInput): boolean;
  /**
   * Run `write`, queue `notice` (when given) and append the audit entry in one transaction,
   * without consuming a pivot token (passkey enrolment: the token still answers its step).
   */
  storeWithNotice(write: () => void, notice: NoticeOutboxTable | null, audit: AuditEntryInput): void;
  /** The notice still owed, or undefined once delivered. */
  getNotice(id: string): NoticeOutboxTable | undefined;
  /**
   * Record a delivery by deleting the notice. Deletions are written in batches (one transaction
   * per event-loop turn):
   * a crash before the write only means the notice is sent again, which the chat server answers
   * with NOTICE_REPLAYED and the outbox then records as delivered.
   */
  markDelivered(id: string): void;
  /** Write pending delivery records now (also done automatically). */
  flush(): void;
  markFailed(id: string, attempts: number, nextAttemptAt: number, lastError: string): void;
  dueNotices(now: number, limit: number): string[];

  /** Consume a client credential's jti; false when that client already used it. */
  consumeClientJti(row: UsedClientJtiTable): boolean;
  getCard(token: string): CardsTable | undefined;
  getCharge(clientId: string, idempotencyKeyHash: string): ChargesTable | undefined;
  /** Insert a `pending` charge; false when the client's idempotency key is already taken. */
  beginCharge(row: ChargesTable): boolean;
  /** Record the processor's answer and its audit entry, in one transaction. */
  finishCharge(id: string, outcome: ChargeOutcome, audit: AuditEntryInput): void;
  /** Remove a `pending` charge the processor did not answer (so a retry may run), with its audit entry. */
  abandonCharge(id: string, audit: AuditEntryInput): void;
}

/** Thrown inside the step transaction when the pivot token's jti is already consumed; rolls it back. */
class JtiAlreadyUsed extends Error {
  constructor() {
    super('pivot token jti already used');
    this.name = 'JtiAlreadyUsed';
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function prepareVaultStatements(sqlite: Database.Database, audit: SqliteAuditLog): VaultStatements {
  const insertJti = sqlite.prepare('INSERT INTO used_jti (jti, exp, used_at) VALUES (@jti, @exp, @used_at)');
  const insertNotice = sqlite.prepare(
    `INSERT INTO notice_outbox (id, claims, created_at, attempts, next_attempt_at, last_error)
     VALUES (@id, @claims, @created_at, @attempts, @next_attempt_at, @last_error)`,
  );
  const selectNotice = sqlite.prepare('SELECT * FROM notice_outbox WHERE id = ?');
  const insertClientJti = sqlite.prepare('INSERT INTO used_client_jti (client_id, jti, exp, used_at) VALUES (@client_id, @jti, @exp, @used_at)');
  const selectCard = sqlite.prepare('SELECT * FROM cards WHERE token = ?');
  const selectCharge = sqlite.prepare('SELECT * FROM charges WHERE client_id = ? AND idempotency_key_hash = ?');
  const insertCharge = sqlite.prepare(
    `INSERT INTO charges (id, client_id, idempotency_key_hash, request_hash, card_token, amount_minor, currency, reference, status,
       processor_reference, with_cvc, created_at, updated_at)
     VALUES (@id, @client_id, @idempotency_key_hash, @request_hash, @card_token, @amount_minor, @currency, @reference, @status,
       @processor_reference, @with_cvc, @created_at, @updated_at)`,
  );
  const updateCharge = sqlite.prepare(
    `UPDATE charges SET status = @status, processor_reference = @processorReference, with_cvc = @withCvc, updated_at = @updatedAt
     WHERE id = @id AND status = 'pending'`,
  );
  const deletePendingCharge = sqlite.prepare(`DELETE FROM charges WHERE id = ? AND status = 'pending'`);
  // A delivered notice is deleted: the outbox holds only what is still owed to the chat server
  // (the delivery itself is in the service log).
  const deleteDelivered = sqlite.prepare('DELETE FROM notice_outbox WHERE id = ?');
  const updateFailed = sqlite.prepare('UPDATE notice_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?');
  const selectDue = sqlite
    .prepare('SELECT id FROM notice_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?')
    .pluck();

  const pendingDelivered: string[] = [];
  let flushScheduled = false;
  const writeDelivered = sqlite.transaction((ids: string[]) => {
    for (const id of ids) deleteDelivered.run(id);
  });
  const flush = (): void => {
    flushScheduled = false;
    if (pendingDelivered.length === 0) return;
    writeDelivered(pendingDelivered.splice(0));
  };

  const storeStep = sqlite.transaction((jti: UsedJtiTable, write: () => void, notice: NoticeOutboxTable, entry: AuditEntryInput) => {
    // The jti's insert alone decides "already used": a constraint failing in the kind's own write
    // is another fault and must not read as a replay.
    try {
      insertJti.run(jti);
    } catch (error) {
      if (isUniqueViolation(error)) throw new JtiAlreadyUsed();
      throw error;
    }
    write();
    insertNotice.run(notice);
    audit.appendSync(entry);
  });
  const storeWithNotice = sqlite.transaction((write: () => void, notice: NoticeOutboxTable | null, entry: AuditEntryInput) => {
    write();
    if (notice) insertNotice.run(notice);
    audit.appendSync(entry);
  });
  const finishCharge = sqlite.transaction((id: string, outcome: ChargeOutcome, entry: AuditEntryInput) => {
    updateCharge.run({ id, status: outcome.status, processorReference: outcome.processorReference, withCvc: outcome.withCvc ? 1 : 0, updatedAt: outcome.updatedAt });
    audit.appendSync(entry);
  });
  const abandonCharge = sqlite.transaction((id: string, entry: AuditEntryInput) => {
    deletePendingCharge.run(id);
    audit.appendSync(entry);
  });

  /** Run `write`; false when it failed because the jti was already consumed (nothing was stored). */
  const once = (write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (error) {
      if (error instanceof JtiAlreadyUsed) return false;
      throw error;
    }
  };

  return {
    storeStep: (jti, write, notice, entry) => once(() => storeStep(jti, write, notice, entry)),
    storeWithNotice: (write, notice, entry) => storeWithNotice(write, notice, entry),
    getNotice(id) {
      const row = selectNotice.get(id) as NoticeOutboxTable | undefined;
      // A delivery recorded but not yet written counts as written.
      return row && pendingDelivered.includes(id) ? undefined : row;
    },
    markDelivered(id) {
      pendingDelivered.push(id);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    flush,
    markFailed: (id, attempts, next, lastError) => void updateFailed.run(attempts, next, lastError, id),
    dueNotices(now, limit) {
      flush();
      return selectDue.all(now, limit) as string[];
    },
    consumeClientJti(row) {
      try {
        insertClientJti.run(row);
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    getCard: (token) => selectCard.get(token) as CardsTable | undefined,
    getCharge: (clientId, keyHash) => selectCharge.get(clientId, keyHash) as ChargesTable | undefined,
    beginCharge(row) {
      try {
        insertCharge.run(row);
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },
    finishCharge: (id, outcome, entry) => finishCharge(id, outcome, entry),
    abandonCharge: (id, entry) => abandonCharge(id, entry),
  };
}
