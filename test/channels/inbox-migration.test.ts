/**
 * Upgrade: webhook deliveries a release before 0011 stored as the raw bytes received (card
 * numbers included) are rewritten masked when the database is opened, and no file of the
 * database keeps the number afterwards.
 */
import BetterSqlite3 from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { metaJson, DEMO_USER } from '../../demo/platforms/server.ts';
import { CHAT_DB_FILE, openChatDb } from '../../server/db/database.ts';
import { INBOX_REWRITE_BATCH } from '../../server/db/inbox-admitted-migration.ts';
import { migrationProvider } from '../../server/db/migrations.ts';
import { removeDir, tempDir } from '../server/helpers.ts';
import { dbFilesHoldingPan } from './pan-scan.ts';
import { SECRETS } from './helpers.ts';

const PAN = '4210960631889196';
let dir: string;

beforeEach(() => {
  dir = tempDir();
});
afterEach(() => removeDir(dir));

async function databaseAt(target: string): Promise<void> {
  const sqlite = new BetterSqlite3(join(dir, CHAT_DB_FILE));
  sqlite.pragma('journal_mode = WAL');
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    const { error } = await new Migrator({ db: kysely, provider: migrationProvider }).migrateTo(target);
    if (error) throw error;
  } finally {
    await kysely.destroy();
  }
}

function messengerBody(n: number, text: string): string {
  return metaJson({
    object: 'page',
    entry: [{ id: SECRETS.MESSENGER_PAGE_ID, time: 1, messaging: [{ sender: { id: DEMO_USER.psid }, recipient: { id: SECRETS.MESSENGER_PAGE_ID }, timestamp: 1, message: { mid: `m_old_${n}`, text } }] }],
  });
}

describe('migration 0011: deliveries stored raw before they were admitted', () => {
  it(`rewrites every raw row masked (in batches of ${INBOX_REWRITE_BATCH}), empties an undecodable one, and no database file keeps the number`, async () => {
    await databaseAt('0010_step_kinds_from_registry');
    const raw: Array<[string, string, string]> = [
      ...Array.from({ length: INBOX_REWRITE_BATCH + 3 }, (_, n): [string, string, string] => ['messenger', messengerBody(n, `n${n} card ${PAN}`), 'processed']),
      ['whatsapp', `not json ${PAN}`, 'pending'],
      ['sms', new URLSearchParams({ MessageSid: `SM${'b'.repeat(32)}`, AccountSid: SECRETS.TWILIO_ACCOUNT_SID, From: DEMO_USER.phone, Body: `card ${PAN}` }).toString(), 'pending'],
    ];
    const db = new BetterSqlite3(join(dir, CHAT_DB_FILE));
    const insert = db.prepare('insert into channel_inbox (platform, body_sha256, body, status, reason, received_at, processed_at) values (?, ?, ?, ?, null, 1, null)');
    for (const [platform, body, status] of raw) insert.run(platform, createHash('sha256').update(body).digest('hex'), Buffer.from(body), status);
    db.close();
    expect(dbFilesHoldingPan(dir, PAN).holding.length).toBeGreaterThan(0);

    const chat = await openChatDb(dir);
    const rows = chat.sqlite.prepare('select platform, body, body_sha256, status, reason from channel_inbox order by id').all() as Array<{
      platform: string;
      body: Buffer;
      body_sha256: string;
      status: string;
      reason: string | null;
    }>;
    expect(rows).toHaveLength(raw.length);
    const last = rows[INBOX_REWRITE_BATCH + 2]!;
    expect(JSON.parse(last.body.toString())).toMatchObject({ entry: [{ messaging: [{ message: { mid: `m_old_${INBOX_REWRITE_BATCH + 2}`, text: `n${INBOX_REWRITE_BATCH + 2} card ••••••••••••9196` } }] }] });
    expect(last.body_sha256).toBe(createHash('sha256').update(last.body).digest('hex'));
    expect(rows.at(-2)).toMatchObject({ body: Buffer.alloc(0), status: 'failed', reason: 'body is not JSON' });
    expect(new URLSearchParams(rows.at(-1)!.body.toString()).get('Body')).toBe('card ••••••••••••9196');
    expect(rows.at(-1)!.status).toBe('pending');
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
    await chat.close();
    expect(dbFilesHoldingPan(dir, PAN).holding).toEqual([]);
  });
});
