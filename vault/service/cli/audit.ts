/**
 * The operator's audit-log command: `npm run vault:audit -- verify` opens `DATA_DIR/vault.db`
 * read-only, recomputes the whole hash chain and prints its status; exit 0 when intact, 1 when
 * broken (naming the first entry that does not verify), 2 on a usage or file error.
 * `npm run vault:audit -- list [--after N] [--limit M]` prints entries as JSON lines.
 *
 * A chain proves that no entry was edited, removed or reordered in the middle; removing the
 * newest entries leaves a shorter valid chain, so keep the printed `head` hash somewhere the
 * database's operators cannot write (a ticket, the SIEM) and compare it at the next check.
 *
 * @module
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AUDIT_LIST_MAX, openAuditLog, verifyAuditChain } from '../store/audit-log.ts';
import { DB_FILE_NAME } from '../store/db.ts';

const USAGE = 'usage: vault:audit -- verify | list [--after N] [--limit M]   (reads DATA_DIR/vault.db)';

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}: a whole number >= 0`);
  return value;
}

async function main(args: readonly string[]): Promise<number> {
  const command = args[0];
  if (command !== 'verify' && command !== 'list') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = join(process.env['DATA_DIR']?.trim() || './data', DB_FILE_NAME);
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    process.stderr.write(`cannot open ${file}\n`);
    return 2;
  }
  try {
    if (command === 'verify') {
      const result = verifyAuditChain(sqlite);
      if (result.ok) {
        process.stdout.write(`audit log intact: ${result.entries} entries, head ${result.head}\n`);
        return 0;
      }
      process.stdout.write(`audit log BROKEN at seq ${result.brokenAt}: ${result.entries} entries verify before it\n`);
      return 1;
    }
    const entries = await openAuditLog(sqlite).list({ after: option(args, '--after', 0), limit: option(args, '--limit', AUDIT_LIST_MAX) });
    for (const entry of entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
    return 0;
  } finally {
    sqlite.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : 'failed'}\n`);
    process.exit(2);
  },
);
