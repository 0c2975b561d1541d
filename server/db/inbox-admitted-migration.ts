/**
 * Migration 0011: webhook deliveries stored before deliveries were ADMITTED
 * (server/channels/redact.ts) hold the raw bytes received, card numbers included, for as long as
 * their retention. Each is rewritten now as it would be admitted today: every string but the
 * platform's identifiers masked and re-encoded; a body that cannot be decoded emptied and marked
 * failed. Its dedupe hash (computed over the raw bytes) is replaced by the hash of what is stored.
 * When any row was rewritten the file is then VACUUMed: `secure_delete` (server/db/database.ts)
 * zeroes the space a rewrite frees, but copies of old cells that earlier page splits left in the
 * unused space of a page are only dropped by rebuilding the file. Last, the WAL is checkpointed
 * and truncated so no earlier page image stays in it. (VACUUM keeps INTEGER PRIMARY KEY ids and
 * may renumber only implicit rowids, which nothing refers to.)
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import { maskDeliveryBody, UnreadableDelivery } from '../channels/redact.ts';

/** Inbox rows rewritten per read. */
export const INBOX_REWRITE_BATCH = 200;

interface InboxRow {
  id: number;
  platform: string;
  body: Uint8Array;
  body_sha256: string;
}

export const channelInboxAdmitted: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    let after = 0;
    let rewritten = 0;
    for (;;) {
      const { rows } = await sql<InboxRow>`
        SELECT id, platform, body, body_sha256 FROM channel_inbox WHERE id > ${after} ORDER BY id LIMIT ${INBOX_REWRITE_BATCH}`.execute(db);
      for (const row of rows) if (await rewrite(db, row)) rewritten += 1;
      if (rows.length < INBOX_REWRITE_BATCH) break;
      after = rows.at(-1)!.id;
    }
    if (rewritten > 0) await sql`VACUUM`.execute(db);
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db);
  },
};

/** Rewrites one row as admitted; false when it was already. */
async function rewrite(db: Kysely<unknown>, row: InboxRow): Promise<boolean> {
  const raw = Buffer.from(row.body);
  if (raw.length === 0) return false;
  let body: Buffer;
  try {
    body = maskDeliveryBody(row.platform, raw);
  } catch (err) {
    if (!(err instanceof UnreadableDelivery)) throw err;
    await sql`
      UPDATE channel_inbox SET body = ${Buffer.alloc(0)}, body_sha256 = ${`unreadable:${row.id}`},
        status = 'failed', reason = ${err.message}, processed_at = coalesce(processed_at, received_at)
      WHERE id = ${row.id}`.execute(db);
    return true;
  }
  if (body.equals(raw)) return false;
  const sha = createHash('sha256').update(body).digest('hex');
  // Two raw spellings of one delivery may now be the same bytes: the hash stays unique per row.
  const { rows: clash } = await sql<{ id: number }>`
    SELECT id FROM channel_inbox WHERE platform = ${row.platform} AND body_sha256 = ${sha} AND id <> ${row.id}`.execute(db);
  const key = clash.length === 0 ? sha : `${sha}:${row.id}`;
  await sql`UPDATE channel_inbox SET body = ${body}, body_sha256 = ${key} WHERE id = ${row.id}`.execute(db);
  return true;
}
