import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditEntry } from '../../../../vault/service/store/audit-log.ts';
import { openCard, openJson, sealJson } from '../../../../vault/service/keys/card-crypto.ts';
import { DB_FILE_NAME, openVaultStore } from '../../../../vault/service/store/db.ts';
import {
  DATA_KEY_RETIRE_GRACE_MS,
  DEFAULT_REWRAP_BATCH,
  MAX_REWRAP_BATCH,
  NOTICE_KEY_RETIRE_GRACE_MS,
  SEALED_TABLES,
  runKeysCommand,
  sealedTablesInDatabase,
} from '../../../../vault/service/cli/keys.ts';
import { KEY_FILE_CHECK_INTERVAL_MS, KEY_FILE_NAME, createFileKeyProvider, readKeyFile } from '../../../../vault/service/keys/key-provider.ts';
import { MASTERCARD, VISA, logCapture, pivotClaims, postTokens, startVault, tempDir, tokenizeBody, type VaultFixture } from '../../helpers.ts';

let dir: { path: string; remove(): void };
let vault: VaultFixture;
let ops: { db: Awaited<ReturnType<typeof openVaultStore>>['db']; audit: ReturnType<typeof openAuditLog> };
let lines: string[] = [];

/** Run a command as the operator would (same DATA_DIR, own database connection, real audit log). */
async function keys(args: string[], now: () => number = Date.now): Promise<number> {
  lines = [];
  return runKeysCommand(args, { dataDir: dir.path, audit: ops.audit, actorId: 'ops-test', out: (l) => lines.push(l), clock: now });
}
const later = (ms: number) => () => Date.now() + ms;
const keyFileModes = () => statSync(join(dir.path, KEY_FILE_NAME)).mode & 0o777;

async function tokenizeCard(number: string): Promise<string> {
  const res = await postTokens(vault.service, tokenizeBody(await vault.issuer.sign(pivotClaims()), { number, name: 'Ada Lovelace' }));
  expect(res.statusCode).toBe(201);
  return (res.json() as { token: string }).token;
}

async function cardRow(token: string) {
  return vault.service.db.selectFrom('cards').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
}

/** Decrypt a card through the service's own key provider and envelope code. */
async function readCard(token: string) {
  const row = await cardRow(token);
  const key = await vault.service.keys.getDataKey(row.key_id);
  return { kid: row.key_id, secret: openCard({ keyId: row.key_id, iv: row.iv, ciphertext: row.ciphertext, tag: row.auth_tag }, token, key) };
}

async function lastAudit(): Promise<AuditEntry> {
  const all = await ops.audit.list();
  return all[all.length - 1]!;
}

/** The running service's key-file clock, moved past its check interval instead of sleeping. */
let keyClockOffsetMs = 0;
const waitCheck = (): void => {
  keyClockOffsetMs += KEY_FILE_CHECK_INTERVAL_MS;
};

beforeAll(async () => {
  dir = tempDir('vault-keyrot-');
  vault = await startVault({ dataDir: dir.path, deps: { logStream: logCapture().stream, keyProvider: createFileKeyProvider(dir.path, { clock: () => Date.now() + keyClockOffsetMs }) } });
  const store = await openVaultStore(join(dir.path, DB_FILE_NAME));
  ops = { db: store.db, audit: openAuditLog(store.sqlite) };
});
afterAll(async () => {
  await ops.db.destroy();
  await vault.close();
  dir.remove();
});

describe('data key rotation', () => {
  let keyA: string;
  let keyB: string;
  let cardA: string;
  let cardB: string;
  let addressId: string;

  it('rotates the data key: the running service encrypts new cards under it, old cards still decrypt', async () => {
    keyA = readKeyFile(dir.path).currentDataKid;
    cardA = await tokenizeCard(VISA);
    expect((await readCard(cardA)).kid).toBe(keyA);
    addressId = 'adr_keyrotation0001';
    const sealed = sealJson({ lines: ['1 Main St'], postcode: '1000', city: 'Brussels', country: 'BE' }, addressId, await vault.service.keys.currentDataKey());
    await vault.service.db
      .insertInto('addresses')
      .values({ id: addressId, key_id: sealed.keyId, iv: sealed.iv, ciphertext: sealed.ciphertext, auth_tag: sealed.tag, pivot_jti: 'jti_a', conversation_id: 'cnv_a', step_id: 'stp_a', subject: 'cus_a', created_at: new Date().toISOString() })
      .execute();

    expect(await keys(['rotate-data-key'])).toBe(0);
    keyB = readKeyFile(dir.path).currentDataKid;
    expect(keyB).not.toBe(keyA);
    expect(readKeyFile(dir.path).dataKeys.map((k) => k.kid)).toEqual([keyA, keyB]);
    expect(keyFileModes()).toBe(0o600);
    expect(await lastAudit()).toMatchObject({ action: 'key.rotate', resource: `data-key ${keyB}`, outcome: 'success', actor: { kind: 'operator', id: 'ops-test' }, origin: 'cli' });

    // Not restarted: the service takes the new file after its check interval.
    waitCheck();
    cardB = await tokenizeCard(MASTERCARD);
    expect(await readCard(cardB)).toEqual({ kid: keyB, secret: { pan: MASTERCARD, name: 'Ada Lovelace' } });
    expect(await readCard(cardA)).toEqual({ kid: keyA, secret: { pan: VISA, name: 'Ada Lovelace' } });
  });

  it('lists ids, roles, dates and the current key, never key material', async () => {
    expect(await keys(['list'])).toBe(0);
    const text = lines.join('\n');
    const file = readKeyFile(dir.path);
    expect(lines.find((l) => l.includes(keyB))).toMatch(/^data-key\s+dk_\S+\s+\S+Z\s+current$/);
    expect(lines.find((l) => l.includes(keyA))).not.toContain('current');
    expect(lines.filter((l) => l.startsWith('notice-key'))).toHaveLength(file.noticeKeys.length);
    for (const k of file.dataKeys) expect(text).not.toContain(k.key);
    expect(text).not.toContain(file.hmacKey.key);
    for (const k of file.noticeKeys) expect(text).not.toContain(k.privateJwk.d);
  });

  it('refuses to retire a key still used by rows (audited as a failure)', async () => {
    expect(await keys(['retire-data-key', keyA], later(DATA_KEY_RETIRE_GRACE_MS))).toBe(1);
    expect(lines.join()).toMatch(/2 row\(s\) still use this key/);
    expect(readKeyFile(dir.path).dataKeys.map((k) => k.kid)).toContain(keyA);
    expect(await lastAudit()).toMatchObject({ action: 'key.retire', resource: `data-key ${keyA}`, outcome: 'failure' });
  });

  it('re-wraps every row not under the current key, in batches, content unchanged, AAD still bound', async () => {
    const before = await ops.db.selectFrom('cards').select(['token', 'iv']).where('token', '=', cardA).executeTakeFirstOrThrow();
    expect(await keys(['rewrap', '--batch', '1'])).toBe(0);
    expect(lines.join('\n')).toContain('rewrapped=2 failed=0 remaining=0 batches=2');
    expect(await lastAudit()).toMatchObject({ action: 'key.rewrap', resource: `data-key ${keyB}`, outcome: 'success', detail: 'rewrapped=2 failed=0 remaining=0 batches=2' });

    expect(await readCard(cardA)).toEqual({ kid: keyB, secret: { pan: VISA, name: 'Ada Lovelace' } });
    expect((await cardRow(cardA)).iv.equals(before.iv)).toBe(false);
    const adr = await vault.service.db.selectFrom('addresses').selectAll().where('id', '=', addressId).executeTakeFirstOrThrow();
    expect(adr.key_id).toBe(keyB);
    const sealedAdr = { keyId: adr.key_id, iv: adr.iv, ciphertext: adr.ciphertext, tag: adr.auth_tag };
    expect(openJson(sealedAdr, addressId, await vault.service.keys.getDataKey(keyB))).toEqual({ lines: ['1 Main St'], postcode: '1000', city: 'Brussels', country: 'BE' });

    // A re-wrapped ciphertext copied into another row does not decrypt there.
    const a = await cardRow(cardA);
    const key = await vault.service.keys.getDataKey(keyB);
    expect(() => openCard({ keyId: a.key_id, iv: a.iv, ciphertext: a.ciphertext, tag: a.auth_tag }, cardB, key)).toThrow();
    expect(() => openJson(sealedAdr, cardA, key)).toThrow();

    // Nothing left to do: a second run changes nothing.
    expect(await keys(['rewrap'])).toBe(0);
    expect(lines.join('\n')).toContain('rewrapped=0 failed=0 remaining=0 batches=0');
  });

  it('retires an unused old key only after the grace period, never the current key', async () => {
    expect(await keys(['retire-data-key', keyA])).toBe(1);
    expect(lines.join()).toContain(`younger than ${DATA_KEY_RETIRE_GRACE_MS / 1000} s`);
    expect(await keys(['retire-data-key', keyB], later(DATA_KEY_RETIRE_GRACE_MS))).toBe(1);
    expect(lines.join()).toContain('current data key cannot be retired');
    expect(await keys(['retire-data-key', 'dk_unknownunknown'], later(DATA_KEY_RETIRE_GRACE_MS))).toBe(1);
    expect(await keys(['retire-data-key', keyA], later(DATA_KEY_RETIRE_GRACE_MS))).toBe(0);
    expect(readKeyFile(dir.path).dataKeys.map((k) => k.kid)).toEqual([keyB]);
    expect(keyFileModes()).toBe(0o600);
    expect(await lastAudit()).toMatchObject({ action: 'key.retire', resource: `data-key ${keyA}`, outcome: 'success' });
    expect((await ops.audit.verify()).ok).toBe(true);
  });

  it('re-wraps while the service keeps tokenizing', async () => {
    for (let i = 0; i < 30; i++) await tokenizeCard(VISA);
    expect(await keys(['rotate-data-key'])).toBe(0);
    const keyC = readKeyFile(dir.path).currentDataKid;
    const writes = (async () => {
      waitCheck();
      const tokens: string[] = [];
      for (let i = 0; i < 10; i++) tokens.push(await tokenizeCard(MASTERCARD));
      return tokens;
    })();
    expect(await keys(['rewrap', '--batch', '7'])).toBe(0);
    const fresh = await writes;
    // Cards written before the service saw the rotation (if any) are caught by a second run.
    expect(await keys(['rewrap'])).toBe(0);
    const rows = await vault.service.db.selectFrom('cards').select(['token', 'key_id']).execute();
    expect(new Set(rows.map((r) => r.key_id))).toEqual(new Set([keyC]));
    for (const token of fresh) expect((await readCard(token)).secret.pan).toBe(MASTERCARD);
  });

  it('rejects a bad batch size and knows every sealed table of the schema', async () => {
    expect(DEFAULT_REWRAP_BATCH).toBeLessThanOrEqual(MAX_REWRAP_BATCH);
    expect(await keys(['rewrap', '--batch', String(MAX_REWRAP_BATCH + 1)])).toBe(1);
    expect(await keys(['rewrap', '--batch', '0'])).toBe(1);
    const store = await openVaultStore(join(dir.path, DB_FILE_NAME));
    try {
      expect(sealedTablesInDatabase(store.sqlite).sort()).toEqual(SEALED_TABLES.map((t) => t.table).sort());
    } finally {
      await store.db.destroy();
    }
  });
});

describe('notice-signing key rotation', () => {
  it('makes a new key current, keeps the previous one in the JWKS, retires only a non-current key after the grace period', async () => {
    const before = readKeyFile(dir.path).currentNoticeKid;
    expect(await keys(['rotate-notice-key'])).toBe(0);
    const after = readKeyFile(dir.path).currentNoticeKid;
    expect(after).not.toBe(before);
    waitCheck();
    expect((await vault.service.keys.getNoticeSigningKey()).kid).toBe(after);
    const jwks = (await vault.service.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([before, after].sort());
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    expect(await lastAudit()).toMatchObject({ action: 'key.rotate', resource: `notice-key ${after}`, outcome: 'success' });

    expect(await keys(['retire-notice-key', before])).toBe(1);
    expect(await keys(['retire-notice-key', after], later(NOTICE_KEY_RETIRE_GRACE_MS))).toBe(1);
    expect(await keys(['retire-notice-key', before], later(NOTICE_KEY_RETIRE_GRACE_MS))).toBe(0);
    expect(await lastAudit()).toMatchObject({ action: 'key.retire', resource: `notice-key ${before}`, outcome: 'success' });
    waitCheck();
    const left = (await vault.service.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string }[] };
    expect(left.keys.map((k) => k.kid)).toEqual([after]);
  });
});

describe('key file', () => {
  it('is written atomically: a failure before the rename leaves the old file whole and no temporary file', async () => {
    const before = readFileSync(join(dir.path, KEY_FILE_NAME));
    let tmpSeen = '';
    const code = await runKeysCommand(['rotate-data-key'], {
      dataDir: dir.path,
      audit: ops.audit,
      actorId: 'ops-test',
      out: (l) => lines.push(l),
      writeHooks: {
        beforeRename: (tmp) => {
          tmpSeen = tmp;
          expect(statSync(tmp).mode & 0o777).toBe(0o600);
          expect(readFileSync(tmp).length).toBeGreaterThan(0);
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
      },
    });
    expect(code).toBe(1);
    expect(tmpSeen).not.toBe('');
    expect(readFileSync(join(dir.path, KEY_FILE_NAME)).equals(before)).toBe(true);
    expect(readdirSync(dir.path).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
    expect(keyFileModes()).toBe(0o600);
    expect(await lastAudit()).toMatchObject({ action: 'key.rotate', outcome: 'failure' });
  });

  it('keeps serving with the loaded keys when the file is replaced by garbage, and checks at most once per interval', async () => {
    expect(KEY_FILE_CHECK_INTERVAL_MS).toBeGreaterThan(0);
    let now = 0;
    const provider = createFileKeyProvider(dir.path, { checkIntervalMs: 1000, clock: () => now });
    const current = (await provider.currentDataKey()).kid;
    expect(await keys(['rotate-data-key'])).toBe(0);
    const rotated = readKeyFile(dir.path).currentDataKid;
    now = 999;
    expect((await provider.currentDataKey()).kid).toBe(current);
    now = 1000;
    expect((await provider.currentDataKey()).kid).toBe(rotated);
  });

  it('refuses to run without a key file rather than creating one', async () => {
    const empty = tempDir('vault-keyrot-empty-');
    try {
      const out: string[] = [];
      expect(await runKeysCommand(['rotate-data-key'], { dataDir: empty.path, audit: ops.audit, actorId: 'ops-test', out: (l) => out.push(l) })).toBe(1);
      expect(readdirSync(empty.path)).toEqual([]);
    } finally {
      empty.remove();
    }
  });
});
