import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditHash, canonicalAuditContent, openAuditLog, type AuditEntryInput } from '../../../../vault/service/store/audit-log.ts';
import { DB_FILE_NAME, openVaultStore } from '../../../../vault/service/store/db.ts';
import { AMEX, VAULT_ORIGIN, nowS, pivotClaims, tempDir } from '../../helpers.ts';
import { CLIENT_ID, chargeBody, startChargeVault, type ChargeVault } from '../../charge-fixtures.ts';
import { JWT_PATTERN, secretsIn } from '../../../secret-scan.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

const entry = (i: number): AuditEntryInput => ({
  actor: { kind: 'operator', id: `ops-${i}` },
  action: 'key.rotate',
  resource: `data-key dk_${i}`,
  outcome: 'success',
  origin: 'cli',
  detail: i % 2 ? null : `n=${i}`,
});

/** `npm run vault:audit -- verify` on `dataDir`. */
function cliVerify(dataDir: string): { status: number | null; stdout: string } {
  const result = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'vault/service/cli/audit.ts'), 'verify'], {
    env: { ...process.env, DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout };
}

describe('audit log (SQLite, hash chain)', () => {
  const dir = tempDir('vault-audit-');
  afterAll(() => dir.remove());

  it('chains entries: seq 1.., prev_hash links, hash = sha256(prev_hash + canonical content)', async () => {
    const { db, sqlite } = await openVaultStore(join(dir.path, DB_FILE_NAME));
    const audit = openAuditLog(sqlite);
    for (let i = 1; i <= 5; i++) await audit.append(entry(i));
    const entries = await audit.list();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]!.prevHash).toBe(AUDIT_GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    const row = sqlite.prepare('SELECT * FROM audit_log WHERE seq = 3').get() as Parameters<typeof canonicalAuditContent>[0] & { prev_hash: string; hash: string };
    expect(row.hash).toBe(auditHash(row.prev_hash, canonicalAuditContent(row)));
    expect(entries[2]).toMatchObject({ actor: { kind: 'operator', id: 'ops-3' }, action: 'key.rotate', resource: 'data-key dk_3', outcome: 'success', origin: 'cli', detail: null });
    expect(await audit.verify()).toEqual({ ok: true, entries: 5 });
    expect(await audit.list({ after: 3, limit: 1 })).toHaveLength(1);
    await db.destroy();
  });

  it('refuses UPDATE and DELETE (triggers), even through the service’s own connection', async () => {
    const { db, sqlite } = await openVaultStore(join(dir.path, DB_FILE_NAME));
    expect(() => sqlite.prepare(`UPDATE audit_log SET detail = 'x' WHERE seq = 2`).run()).toThrow(/append-only/);
    expect(() => sqlite.prepare('DELETE FROM audit_log WHERE seq = 5').run()).toThrow(/append-only/);
    expect(() => sqlite.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect((sqlite.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBe(5);
    await db.destroy();
  });

  it('keeps one chain when two connections (service and an operator command) append alternately', async () => {
    const { db, sqlite } = await openVaultStore(join(dir.path, DB_FILE_NAME));
    const other = new Database(join(dir.path, DB_FILE_NAME));
    const a = openAuditLog(sqlite);
    const b = openAuditLog(other);
    for (let i = 0; i < 10; i++) await (i % 2 ? a : b).append(entry(100 + i));
    expect(await a.verify()).toEqual({ ok: true, entries: 15 });
    other.close();
    await db.destroy();
  });

  it('`npm run vault:audit -- verify` reports an intact chain (exit 0)', () => {
    const result = cliVerify(dir.path);
    expect(result.stdout).toContain('audit log intact: 15 entries');
    expect(result.status).toBe(0);
  });

  it('detects an edited row (attacker with file access drops the trigger): broken at that seq, CLI exit 1', async () => {
    const attacker = new Database(join(dir.path, DB_FILE_NAME));
    attacker.exec('DROP TRIGGER audit_log_no_update');
    attacker.prepare(`UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 7`).run();
    attacker.close();
    const { db, sqlite } = await openVaultStore(join(dir.path, DB_FILE_NAME));
    expect(await openAuditLog(sqlite).verify()).toEqual({ ok: false, entries: 6, brokenAt: 7 });
    await db.destroy();
    const result = cliVerify(dir.path);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('BROKEN at seq 7');
  });

  it('detects a deleted row and a row whose hash was recomputed (the link to the next one breaks)', async () => {
    const other = tempDir('vault-audit-');
    try {
      const { db, sqlite } = await openVaultStore(join(other.path, DB_FILE_NAME));
      const audit = openAuditLog(sqlite);
      for (let i = 1; i <= 6; i++) await audit.append(entry(i));
      await db.destroy();
      const attacker = new Database(join(other.path, DB_FILE_NAME));
      attacker.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete');
      attacker.prepare('DELETE FROM audit_log WHERE seq = 3').run();
      // Rewrite seq 5 consistently with itself: its own hash verifies, the next link does not.
      const row = attacker.prepare('SELECT * FROM audit_log WHERE seq = 5').get() as Parameters<typeof canonicalAuditContent>[0] & { prev_hash: string };
      const forged = { ...row, detail: 'forged' };
      attacker.prepare('UPDATE audit_log SET detail = ?, hash = ? WHERE seq = 5').run('forged', auditHash(row.prev_hash, canonicalAuditContent(forged)));
      const result = openAuditLog(attacker);
      expect(await result.verify()).toMatchObject({ ok: false, brokenAt: 3 });
      attacker.prepare('INSERT INTO audit_log SELECT 3, at, actor_kind, actor_id, action, resource, outcome, origin, detail, prev_hash, hash FROM audit_log WHERE seq = 2').run();
      expect(await result.verify()).toMatchObject({ ok: false, brokenAt: 3 });
      attacker.close();
    } finally {
      other.remove();
    }
  });
});

describe('audit entries written by the vault service', () => {
  let vault: ChargeVault;
  const CVC = '9183';
  beforeAll(async () => {
    vault = await startChargeVault();
  });
  afterAll(() => vault.close());

  const post = (url: string, body: unknown) =>
    vault.service.app.inject({ method: 'POST', url, headers: { origin: VAULT_ORIGIN, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  it('records tokenize, refused pivot tokens on each step route, charges, and refused client credentials; no card data in any entry', async () => {
    const start = (await vault.service.audit.list()).length;
    const token = await vault.tokenize({ number: AMEX, cvc: CVC, name: 'Ada Lovelace' });

    const expired = await vault.issuer.sign(pivotClaims({ iat: nowS() - 400, nbf: nowS() - 400, exp: nowS() - 200 }));
    expect((await post('/v1/tokens', { pivotToken: expired, card: { number: AMEX, expMonth: 12, expYear: 2040, cvc: CVC } })).statusCode).toBe(401);
    const cardToken = await vault.issuer.sign(pivotClaims());
    expect((await post('/v1/addresses', { pivotToken: cardToken, address: { lines: ['1 Main St'], postcode: '1000', city: 'Brussels', country: 'BE' } })).json().error.code).toBe('TOKEN_STEP_KIND_MISMATCH');
    expect((await post('/v1/transfer-confirmations', { pivotToken: `${cardToken}x`, decision: 'confirm' })).json().error.code).toBe('TOKEN_SIGNATURE_INVALID');

    const body = chargeBody(token);
    expect((await vault.charge(body)).statusCode).toBe(201);
    expect((await vault.charge(chargeBody(`tok_${'B'.repeat(32)}`))).statusCode).toBe(404);
    expect((await vault.charge(body, { authorization: 'Bearer a.b.c' })).statusCode).toBe(401);

    const entries = (await vault.service.audit.list()).slice(start);
    const summary = entries.map((e) => [e.actor.kind, e.action, e.outcome, e.detail?.split(' ')[0]]);
    expect(summary).toEqual([
      ['customer', 'card.tokenize', 'success', expect.stringMatching(/^step=stp_/)],
      ['customer', 'pivot_token.refused', 'failure', 'TOKEN_EXPIRED'],
      ['customer', 'pivot_token.refused', 'failure', 'TOKEN_STEP_KIND_MISMATCH'],
      ['customer', 'pivot_token.refused', 'failure', 'TOKEN_SIGNATURE_INVALID'],
      ['client', 'card.charge', 'success', 'status=approved'],
      ['client', 'card.charge', 'failure', 'CARD_TOKEN_NOT_FOUND'],
      ['client', 'client_credential.refused', 'failure', 'CLIENT_CREDENTIAL_INVALID'],
    ]);
    expect(entries[0]).toMatchObject({ actor: { id: 'cus_test_1' }, resource: token, origin: 'http://bank.localhost:8080' });
    expect(entries[1]!.resource).toMatch(/^pivot_jti:jti_/);
    expect(entries[1]!.actor.id).toBe('claimed:cus_test_1');
    expect(entries[2]!.detail).toContain('route=/v1/addresses');
    expect(entries[3]!.detail).toContain('route=/v1/transfer-confirmations');
    expect(entries[4]).toMatchObject({ actor: { kind: 'client', id: CLIENT_ID }, resource: token });
    expect(entries[4]!.detail).toMatch(/cvc=first/);
    expect(entries[4]!.detail).toMatch(/idem=[0-9a-f]{32}/);
    expect(entries[4]!.detail).not.toContain(body.idempotencyKey);

    const all = JSON.stringify(await vault.service.audit.list());
    expect(secretsIn(all, [AMEX, CVC, '"cvc"', 'Ada Lovelace', expired, cardToken, body.idempotencyKey])).toEqual([]);
    expect(all).not.toMatch(JWT_PATTERN);
    expect(await vault.service.audit.verify()).toMatchObject({ ok: true });
  });

  it('writes the tokenize entry in the same transaction: a replayed pivot token leaves no tokenize entry', async () => {
    const pivotToken = await vault.issuer.sign(pivotClaims());
    const body = { pivotToken, card: { number: AMEX, expMonth: 12, expYear: 2040, cvc: CVC } };
    expect((await post('/v1/tokens', body)).statusCode).toBe(201);
    const before = await vault.service.audit.list();
    expect((await post('/v1/tokens', body)).statusCode).toBe(409);
    const after = (await vault.service.audit.list()).slice(before.length);
    expect(after.map((e) => [e.action, e.detail?.split(' ')[0]])).toEqual([['pivot_token.refused', 'TOKEN_REPLAYED']]);
  });
});
