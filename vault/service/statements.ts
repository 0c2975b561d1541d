/**
 * The vault's hot-path SQL, as statements prepared once on the same SQLite handle that Kysely
 * uses (Kysely keeps the schema, the migrations and the cold queries). Tokenizing a card is ONE
 * synchronous SQLite transaction: consume the pivot token's jti, store the sealed card, queue the
 * notice. better-sqlite3 runs it to completion on the event loop, so no other request can
 * interleave, and a jti can be consumed exactly once.
 *
 * Why not Kysely here: it compiles and re-prepares every statement on every call, which was the
 * largest single cost of `POST /v1/tokens` under load (bench/RESULTS.md).
 *
 * @module
 */
import type Database from 'better-sqlite3';
import type { AddressesTable, CardsTable, NoticeOutboxTable, TransferAnswersTable, UsedJtiTable } from './db.ts';

export interface VaultStatements {
  /**
   * Store a tokenized card atomically. Returns false (and stores nothing) when the jti was
   * already used.
   */
  storeTokenized(jti: UsedJtiTable, card: CardsTable, notice: NoticeOutboxTable): boolean;
  /** Store a sealed address the same way (false: the jti was already used). */
  storeAddress(jti: UsedJtiTable, address: AddressesTable, notice: NoticeOutboxTable): boolean;
  /** Store a transfer answer the same way (false: the jti was already used). */
  storeTransferAnswer(jti: UsedJtiTable, answer: TransferAnswersTable, notice: NoticeOutboxTable): boolean;
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
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export function prepareVaultStatements(sqlite: Database.Database): VaultStatements {
  const insertJti = sqlite.prepare('INSERT INTO used_jti (jti, exp, used_at) VALUES (@jti, @exp, @used_at)');
  const insertCard = sqlite.prepare(
    `INSERT INTO cards (token, key_id, iv, ciphertext, auth_tag, fingerprint, fingerprint_kid, brand, last4,
       exp_month, exp_year, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@token, @key_id, @iv, @ciphertext, @auth_tag, @fingerprint, @fingerprint_kid, @brand, @last4,
       @exp_month, @exp_year, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
  );
  const insertNotice = sqlite.prepare(
    `INSERT INTO notice_outbox (id, claims, created_at, attempts, next_attempt_at, last_error)
     VALUES (@id, @claims, @created_at, @attempts, @next_attempt_at, @last_error)`,
  );
  const insertAddress = sqlite.prepare(
    `INSERT INTO addresses (id, key_id, iv, ciphertext, auth_tag, pivot_jti, conversation_id, step_id, subject, created_at)
     VALUES (@id, @key_id, @iv, @ciphertext, @auth_tag, @pivot_jti, @conversation_id, @step_id, @subject, @created_at)`,
  );
  const insertTransferAnswer = sqlite.prepare(
    `INSERT INTO transfer_answers (id, outcome, amount_minor, currency, payee_name, payee_last4, pivot_jti, conversation_id,
       step_id, subject, created_at)
     VALUES (@id, @outcome, @amount_minor, @currency, @payee_name, @payee_last4, @pivot_jti, @conversation_id,
       @step_id, @subject, @created_at)`,
  );
  const selectNotice = sqlite.prepare('SELECT * FROM notice_outbox WHERE id = ?');
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

  const store = sqlite.transaction((jti: UsedJtiTable, card: CardsTable, notice: NoticeOutboxTable) => {
    insertJti.run(jti);
    insertCard.run(card);
    insertNotice.run(notice);
  });

  const storeAddress = sqlite.transaction((jti: UsedJtiTable, address: AddressesTable, notice: NoticeOutboxTable) => {
    insertJti.run(jti);
    insertAddress.run(address);
    insertNotice.run(notice);
  });
  const storeTransferAnswer = sqlite.transaction((jti: UsedJtiTable, answer: TransferAnswersTable, notice: NoticeOutboxTable) => {
    insertJti.run(jti);
    insertTransferAnswer.run(answer);
    insertNotice.run(notice);
  });

  /** Run `write`; false when it failed because the jti was already consumed. */
  const once = (write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (error) {
      if (isUniqueViolation(error) && (error as Error).message.includes('used_jti')) return false;
      throw error;
    }
  };

  return {
    storeTokenized: (jti, card, notice) => once(() => store(jti, card, notice)),
    storeAddress: (jti, address, notice) => once(() => storeAddress(jti, address, notice)),
    storeTransferAnswer: (jti, answer, notice) => once(() => storeTransferAnswer(jti, answer, notice)),
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
  };
}
