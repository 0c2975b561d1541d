/**
 * The step transaction (vault/service/store/statements.ts): a replay is told by the jti's own insert,
 * not by any unique constraint that fails inside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../../../vault/service/store/audit-log.ts';
import { openVaultStore } from '../../../../vault/service/store/db.ts';
import { prepareVaultStatements } from '../../../../vault/service/store/statements.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function statements() {
  const dir = mkdtempSync(join(tmpdir(), 'vault-statements-'));
  dirs.push(dir);
  const { db, sqlite } = await openVaultStore(join(dir, 'vault.db'));
  return { db, sqlite, statements: prepareVaultStatements(sqlite, openAuditLog(sqlite)) };
}

const notice = (id: string) => ({ id, claims: '{}', created_at: 1, attempts: 0, next_attempt_at: 1, last_error: null });
const audit = { actor: { kind: 'customer' as const, id: 'sub' }, action: 'test.step', resource: 'r', outcome: 'success' as const, origin: null, detail: null };

describe('storeStep', () => {
  it('answers false for a used jti and stores nothing of the second answer', async () => {
    const { db, statements: s } = await statements();
    const jti = { jti: 'ptj_0123456789abcdef', exp: 10, used_at: 'now' };
    let writes = 0;
    expect(s.storeStep(jti, () => void writes++, notice('ntc_a'), audit)).toBe(true);
    expect(s.storeStep(jti, () => void writes++, notice('ntc_b'), audit)).toBe(false);
    expect(writes).toBe(1);
    expect(await db.selectFrom('notice_outbox').select('id').execute()).toEqual([{ id: 'ntc_a' }]);
    await db.destroy();
  });

  it('rethrows a unique violation of the kind\'s own row (not a replay) and rolls the jti back', async () => {
    const { db, sqlite, statements: s } = await statements();
    sqlite.exec('CREATE TABLE kind_rows (id TEXT PRIMARY KEY)');
    sqlite.exec("INSERT INTO kind_rows (id) VALUES ('taken')");
    const insert = sqlite.prepare('INSERT INTO kind_rows (id) VALUES (?)');
    const jti = { jti: 'ptj_fedcba9876543210', exp: 10, used_at: 'now' };
    expect(() => s.storeStep(jti, () => void insert.run('taken'), notice('ntc_c'), audit)).toThrow(/UNIQUE/);
    // The token was not consumed: a later, sound answer with it is stored.
    expect(s.storeStep(jti, () => void insert.run('fresh'), notice('ntc_d'), audit)).toBe(true);
    await db.destroy();
  });
});
