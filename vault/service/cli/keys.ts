/**
 * The operator's key commands (`npm run vault:keys -- <command>`), run beside the live service:
 *
 *   list                        key ids, roles, creation dates, which is current (never key material)
 *   rotate-data-key             a new AES-256 data key becomes current (old ones stay for decryption)
 *   rewrap [--batch N]          re-encrypts every sealed row not under the current data key
 *   retire-data-key <kid>       removes a non-current data key no row references any more
 *   rotate-notice-key           a new ES256 notice-signing key becomes current (the old one stays in the JWKS)
 *   retire-notice-key <kid>     removes a non-current notice-signing key
 *
 * The key file is rewritten atomically under a lock (keys/key-provider.ts); the running service takes the new
 * file within KEY_FILE_CHECK_INTERVAL_MS. A key is retired only once every running instance has
 * certainly seen the rotation that replaced it ({@link DATA_KEY_RETIRE_GRACE_MS},
 * {@link NOTICE_KEY_RETIRE_GRACE_MS}). The re-wrap works in batches, one short SQLite
 * transaction each (WAL + busy timeout), so the service keeps serving meanwhile; AAD stays the
 * record's id. Every command that changes keys or rows appends an entry to the audit log
 * (`key.rotate`, `key.rewrap`, `key.retire`), success or failure; never key material.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type Database from 'better-sqlite3';
import * as v from 'valibot';
import { VAULT_NOTICE_TTL_S } from '../../../protocol/vault-api.ts';
import { openAuditLog, type AuditEntryInput, type AuditLog } from '../store/audit-log.ts';
import { openJson, sealJson, type SealedCard } from '../keys/card-crypto.ts';
import { DB_FILE_NAME, openVaultStore } from '../store/db.ts';
import {
  KEY_FILE_CHECK_INTERVAL_MS,
  KEY_FILE_NAME,
  KidSchema,
  newDataKey,
  newNoticeKey,
  readKeyFile,
  updateKeyFile,
  type AtomicWriteHooks,
  type KeyFile,
  type SymmetricKey,
} from '../keys/key-provider.ts';
import { systemClock, type Clock } from '../../../protocol/clock.ts';

/** Rows re-encrypted per transaction by default. */
export const DEFAULT_REWRAP_BATCH = 500;
/** Largest `--batch` accepted (a batch holds SQLite's write lock while it runs). */
export const MAX_REWRAP_BATCH = 10_000;
/**
 * A data key is retired only this long after the latest data-key rotation, in ms: every running
 * instance has then reloaded the key file, so none still encrypts under the old key.
 */
export const DATA_KEY_RETIRE_GRACE_MS = 12 * KEY_FILE_CHECK_INTERVAL_MS;
/**
 * A notice-signing key is retired only this long after the latest notice-key rotation, in ms: a
 * notice signed just before it has expired, and every instance signs with the new key.
 */
export const NOTICE_KEY_RETIRE_GRACE_MS = VAULT_NOTICE_TTL_S * 1000 + 2 * KEY_FILE_CHECK_INTERVAL_MS;

/**
 * Every table holding AES-GCM envelopes (`key_id`, `iv`, `ciphertext`, `auth_tag`) and the
 * column that is its additional authenticated data. A new sealed table must be listed here: the
 * re-wrap refuses to run while the database has one it does not know.
 */
export const SEALED_TABLES: readonly { readonly table: string; readonly aadColumn: string }[] = [
  { table: 'cards', aadColumn: 'token' },
  { table: 'addresses', aadColumn: 'id' },
];

const ENVELOPE_COLUMNS = ['key_id', 'iv', 'ciphertext', 'auth_tag'] as const;

/** Where the command writes its report and how it is attributed. */
export interface KeysCliContext {
  readonly dataDir: string;
  readonly audit: AuditLog;
  /** The operator: the process's user name, else `cli`. */
  readonly actorId: string;
  readonly out: (line: string) => void;
  /** Clock in ms (tests). */
  readonly clock?: Clock;
  /** Test seam of the atomic key-file write. */
  readonly writeHooks?: AtomicWriteHooks;
}

/** Counts of one re-wrap run. */
export interface RewrapReport {
  /** Rows moved to the current key, per table. */
  readonly rewrapped: Readonly<Record<string, number>>;
  /** Rows that did not decrypt (unknown key id, or tampered): left as they are. */
  readonly failed: Readonly<Record<string, number>>;
  /** Transactions committed. */
  readonly batches: number;
  /** Rows still not under the current key once done (failed rows, or written meanwhile by an instance not yet reloaded). */
  readonly remaining: number;
}

/** Tables of the open database that hold envelopes (by their columns). */
export function sealedTablesInDatabase(sqlite: Database.Database): string[] {
  const tables = sqlite.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`).all() as { name: string }[];
  return tables
    .filter(({ name }) => {
      const columns = new Set((sqlite.prepare(`select name from pragma_table_info(?)`).all(name) as { name: string }[]).map((c) => c.name));
      return ENVELOPE_COLUMNS.every((c) => columns.has(c));
    })
    .map(({ name }) => name);
}

/** Rows per data key id, over every sealed table. */
export function countRowsByKey(sqlite: Database.Database): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { table } of SEALED_TABLES) {
    for (const row of sqlite.prepare(`select key_id as kid, count(*) as n from ${table} group by key_id`).all() as { kid: string; n: number }[]) {
      counts.set(row.kid, (counts.get(row.kid) ?? 0) + row.n);
    }
  }
  return counts;
}

/**
 * Re-encrypt, under the file's current data key, every sealed row whose key id is another one,
 * `batchSize` rows per IMMEDIATE transaction. Each row is opened with its own key and AAD and
 * sealed again with the same AAD; the update is conditional on the row's old key id and IV.
 */
export function rewrapRows(sqlite: Database.Database, keys: KeyFile, batchSize: number): RewrapReport {
  const known = new Set(SEALED_TABLES.map((t) => t.table));
  const unknown = sealedTablesInDatabase(sqlite).filter((t) => !known.has(t));
  if (unknown.length > 0) throw new Error(`sealed table(s) without a known AAD column: ${unknown.join(', ')}`);
  const dataKeys = new Map<string, SymmetricKey>(keys.dataKeys.map((k) => [k.kid, { kid: k.kid, key: Buffer.from(k.key, 'base64') }]));
  const current = dataKeys.get(keys.currentDataKid)!;
  const rewrapped: Record<string, number> = {};
  const failed: Record<string, number> = {};
  let batches = 0;
  for (const { table, aadColumn } of SEALED_TABLES) {
    rewrapped[table] = 0;
    failed[table] = 0;
    const select = sqlite.prepare(
      `select ${aadColumn} as aad, key_id, iv, ciphertext, auth_tag from ${table} where key_id != ? and ${aadColumn} > ? order by ${aadColumn} limit ?`,
    );
    const update = sqlite.prepare(`update ${table} set key_id = ?, iv = ?, ciphertext = ?, auth_tag = ? where ${aadColumn} = ? and key_id = ? and iv = ?`);
    let after = '';
    const batch = sqlite.transaction(() => {
      const rows = select.all(current.kid, after, batchSize) as { aad: string; key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }[];
      for (const row of rows) {
        after = row.aad;
        const old = dataKeys.get(row.key_id);
        let sealed: SealedCard;
        try {
          if (!old) throw new Error('unknown data key id');
          sealed = sealJson(openJson<unknown>({ keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, tag: row.auth_tag }, row.aad, old), row.aad, current);
        } catch {
          failed[table]! += 1;
          continue;
        }
        rewrapped[table]! += update.run(sealed.keyId, sealed.iv, sealed.ciphertext, sealed.tag, row.aad, row.key_id, row.iv).changes;
      }
      return rows.length;
    });
    while (batch.immediate() > 0) batches += 1;
  }
  let remaining = 0;
  for (const [kid, n] of countRowsByKey(sqlite)) if (kid !== current.kid) remaining += n;
  return { rewrapped, failed, batches, remaining };
}

function operatorEntry(ctx: KeysCliContext, action: string, resource: string, outcome: 'success' | 'failure', detail?: string): AuditEntryInput {
  return { actor: { kind: 'operator', id: ctx.actorId }, action, resource, outcome, origin: 'cli', detail: detail ?? null };
}

/** Short, secret-free reason of a refusal or failure, for the audit entry and stderr. */
class KeyCommandError extends Error {}

function parseKid(value: string | undefined): string {
  const parsed = v.safeParse(KidSchema, value);
  if (!parsed.success) throw new KeyCommandError('expected a key id argument');
  return parsed.output;
}

function parseBatch(args: readonly string[]): number {
  const at = args.indexOf('--batch');
  if (at === -1) return DEFAULT_REWRAP_BATCH;
  const n = Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > MAX_REWRAP_BATCH) throw new KeyCommandError(`--batch must be an integer from 1 to ${MAX_REWRAP_BATCH}`);
  return n;
}

/** When the current key was created: no other key of its role has been current since. */
function latestRotationMs(keys: readonly { kid: string; createdAt: string }[], currentKid: string): number {
  return Date.parse(keys.find((k) => k.kid === currentKid)!.createdAt);
}

async function withDatabase<T>(dataDir: string, use: (sqlite: Database.Database) => T): Promise<T> {
  const { db, sqlite } = await openVaultStore(join(dataDir, DB_FILE_NAME));
  try {
    return use(sqlite);
  } finally {
    await db.destroy();
  }
}

/** The usage text. */
export const USAGE = [
  'usage: npm run vault:keys -- <command>',
  '  list',
  '  rotate-data-key',
  `  rewrap [--batch N]         (default ${DEFAULT_REWRAP_BATCH}, at most ${MAX_REWRAP_BATCH})`,
  '  retire-data-key <kid>',
  '  rotate-notice-key',
  '  retire-notice-key <kid>',
].join('\n');

/**
 * Run one command; resolves to the process exit code (0 done, 1 refused or failed, 2 usage).
 * Every attempt of a changing command is audited, refused ones with outcome `failure`.
 */
export async function runKeysCommand(args: readonly string[], ctx: KeysCliContext): Promise<number> {
  const now = ctx.clock ?? systemClock;
  const [command, ...rest] = args;
  if (!existsSync(join(ctx.dataDir, KEY_FILE_NAME))) {
    ctx.out(`no ${KEY_FILE_NAME} in ${resolve(ctx.dataDir)} (start the vault once, or set DATA_DIR)`);
    return 1;
  }
  let action: string | undefined;
  let resource = 'key-file';
  try {
    switch (command) {
      case 'list': {
        const file = readKeyFile(ctx.dataDir);
        for (const k of file.dataKeys) ctx.out(`data-key    ${k.kid}  ${k.createdAt}${k.kid === file.currentDataKid ? '  current' : ''}`);
        ctx.out(`hmac-key    ${file.hmacKey.kid}  ${file.hmacKey.createdAt}  current`);
        for (const k of file.noticeKeys) ctx.out(`notice-key  ${k.kid}  ${k.createdAt}${k.kid === file.currentNoticeKid ? '  current' : ''}`);
        return 0;
      }
      case 'rotate-data-key': {
        action = 'key.rotate';
        resource = 'data-key';
        const kid = updateKeyFile(
          ctx.dataDir,
          (file) => {
            const key = newDataKey(new Date(now()).toISOString());
            return { file: { ...file, dataKeys: [...file.dataKeys, key], currentDataKid: key.kid }, result: key.kid };
          },
          ctx.writeHooks,
        );
        resource = `data-key ${kid}`;
        await ctx.audit.append(operatorEntry(ctx, action, resource, 'success'));
        ctx.out(`data key ${kid} is current; running services use it within ${KEY_FILE_CHECK_INTERVAL_MS / 1000} s; then run: rewrap`);
        return 0;
      }
      case 'rotate-notice-key': {
        action = 'key.rotate';
        resource = 'notice-key';
        const kid = updateKeyFile(
          ctx.dataDir,
          (file) => {
            const key = newNoticeKey(new Date(now()).toISOString());
            return { file: { ...file, noticeKeys: [...file.noticeKeys, key], currentNoticeKid: key.kid }, result: key.kid };
          },
          ctx.writeHooks,
        );
        resource = `notice-key ${kid}`;
        await ctx.audit.append(operatorEntry(ctx, action, resource, 'success'));
        ctx.out(`notice key ${kid} is current; the previous key stays published until retired`);
        return 0;
      }
      case 'rewrap': {
        action = 'key.rewrap';
        const batchSize = parseBatch(rest);
        const file = readKeyFile(ctx.dataDir);
        resource = `data-key ${file.currentDataKid}`;
        const report = await withDatabase(ctx.dataDir, (sqlite) => rewrapRows(sqlite, file, batchSize));
        const moved = Object.values(report.rewrapped).reduce((a, b) => a + b, 0);
        const failed = Object.values(report.failed).reduce((a, b) => a + b, 0);
        const detail = `rewrapped=${moved} failed=${failed} remaining=${report.remaining} batches=${report.batches}`;
        await ctx.audit.append(operatorEntry(ctx, action, resource, failed === 0 ? 'success' : 'failure', detail));
        for (const table of Object.keys(report.rewrapped)) ctx.out(`${table}: ${report.rewrapped[table]} rewrapped, ${report.failed[table]} failed`);
        ctx.out(`${detail} (current ${file.currentDataKid})`);
        return failed === 0 ? 0 : 1;
      }
      case 'retire-data-key': {
        action = 'key.retire';
        const kid = parseKid(rest[0]);
        resource = `data-key ${kid}`;
        // Counted before the file changes; a row written later under a non-current key is impossible once the grace is over.
        const counts = await withDatabase(ctx.dataDir, countRowsByKey);
        updateKeyFile(
          ctx.dataDir,
          (file) => {
            if (!file.dataKeys.some((k) => k.kid === kid)) throw new KeyCommandError('unknown data key id');
            if (kid === file.currentDataKid) throw new KeyCommandError('the current data key cannot be retired');
            if (now() - latestRotationMs(file.dataKeys, file.currentDataKid) < DATA_KEY_RETIRE_GRACE_MS) {
              throw new KeyCommandError(`the latest data-key rotation is younger than ${DATA_KEY_RETIRE_GRACE_MS / 1000} s`);
            }
            const rows = counts.get(kid) ?? 0;
            if (rows > 0) throw new KeyCommandError(`${rows} row(s) still use this key: run rewrap first`);
            return { file: { ...file, dataKeys: file.dataKeys.filter((k) => k.kid !== kid) }, result: undefined };
          },
          ctx.writeHooks,
        );
        await ctx.audit.append(operatorEntry(ctx, action, resource, 'success'));
        ctx.out(`data key ${kid} retired`);
        return 0;
      }
      case 'retire-notice-key': {
        action = 'key.retire';
        const kid = parseKid(rest[0]);
        resource = `notice-key ${kid}`;
        updateKeyFile(
          ctx.dataDir,
          (file) => {
            if (!file.noticeKeys.some((k) => k.kid === kid)) throw new KeyCommandError('unknown notice key id');
            if (kid === file.currentNoticeKid) throw new KeyCommandError('the current notice key cannot be retired');
            if (now() - latestRotationMs(file.noticeKeys, file.currentNoticeKid) < NOTICE_KEY_RETIRE_GRACE_MS) {
              throw new KeyCommandError(`the latest notice-key rotation is younger than ${NOTICE_KEY_RETIRE_GRACE_MS / 1000} s`);
            }
            return { file: { ...file, noticeKeys: file.noticeKeys.filter((k) => k.kid !== kid) }, result: undefined };
          },
          ctx.writeHooks,
        );
        await ctx.audit.append(operatorEntry(ctx, action, resource, 'success'));
        ctx.out(`notice key ${kid} retired`);
        return 0;
      }
      default:
        ctx.out(USAGE);
        return 2;
    }
  } catch (error) {
    const reason = error instanceof KeyCommandError ? error.message : 'failed';
    const detail = error instanceof KeyCommandError ? error.message : error instanceof Error ? error.message.slice(0, 200) : 'failed';
    // `action` is set by every changing command before anything can throw; `list` is not audited.
    if (action !== undefined) await ctx.audit.append(operatorEntry(ctx, action, resource, 'failure', detail));
    ctx.out(`refused: ${reason === 'failed' ? detail : reason}`);
    return 1;
  }
}

/** The operator's name for the audit entry. */
export function operatorId(): string {
  try {
    const name = userInfo().username;
    return name && /^[\w.@-]{1,64}$/.test(name) ? name : 'cli';
  } catch {
    return 'cli';
  }
}

/**
 * The audit log the command writes to: the vault's own (`audit_log` in DATA_DIR/vault.db).
 * KEY-CLI AUDIT CALL SITE: the only place that opens it.
 */
async function openCommandAuditLog(dataDir: string): Promise<{ audit: AuditLog; close(): Promise<void> }> {
  const { db, sqlite } = await openVaultStore(join(dataDir, DB_FILE_NAME));
  return { audit: openAuditLog(sqlite), close: () => db.destroy() };
}

async function main(): Promise<number> {
  const dataDir = process.env['DATA_DIR'] ?? './data';
  if (!existsSync(join(dataDir, KEY_FILE_NAME))) {
    process.stderr.write(`vault:keys: no ${KEY_FILE_NAME} in ${resolve(dataDir)} (start the vault once, or set DATA_DIR)\n`);
    return 1;
  }
  const { audit, close } = await openCommandAuditLog(dataDir);
  try {
    return await runKeysCommand(process.argv.slice(2), { dataDir, audit, actorId: operatorId(), out: (line) => process.stdout.write(`${line}\n`) });
  } finally {
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`vault:keys: ${error instanceof Error ? error.message : 'failed'}\n`);
      process.exit(1);
    },
  );
}
