/**
 * The vault's own database (`DATA_DIR/vault.db`, SQLite through Kysely), separate from the chat
 * server's. Migrations are in code and run through Kysely's `Migrator` at start.
 *
 * What is stored (and what is not) is the auditor's question; the answer is this file (the tables'
 * types) and `migrations.ts` (their columns, in order of release):
 * - `cards`: card token, AES-GCM ciphertext of {PAN, name} with key id + IV + tag, the keyed
 *   PAN fingerprint, and display data (brand, last4, expiry). Never a PAN in clear, never a CVC.
 * - `used_jti`: pivot-token ids already consumed (primary key = the replay guard).
 * - `notice_outbox`: notices to the chat server not yet acknowledged (display data only).
 * - `addresses` (0002): a new postal address, AES-GCM ciphertext of {lines, postcode, city,
 *   country} bound to the record id; nothing of the address in clear.
 * - `transfer_answers` (0002): the customer's confirm/decline of a transfer, with the amount and
 *   payee the signed token showed (not secret: the agent prepared them).
 * - `payee_answers` (0004): the customer's confirm/decline of a new payee, with the payee the
 *   signed token showed (not secret: the agent prepared it).
 * - `charges` (0003): one row per charge the bank's back end asked for (client id, hash of its
 *   idempotency key, card token, amount, reference, outcome, processor reference, whether a CVC
 *   went with it). Never the PAN, never the CVC.
 * - `used_client_jti` (0003): client-credential ids already consumed (primary key = replay guard).
 * - `passkeys` (0005): each customer's WebAuthn credentials (id, COSE public key, signature
 *   counter, transports), bound to the pivot token's `sub`. Public keys only: nothing secret.
 * - `passkey_enrolments` (0005): a started enrolment: its creation challenge, the SHA-256 of its
 *   one-time code (never the code), wrong tries, expiry, when it was used.
 * - `passkey_challenges` (0005): one assertion challenge per step token (it commits to the
 *   step), single use, short-lived.
 * - `audit_log` (0003): the hash-chained audit trail (audit-log.ts); triggers refuse UPDATE and
 *   DELETE, so not even a bug in this service can rewrite it.
 *
 * @module
 */
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { MIGRATIONS } from './migrations.ts';

/** File name of the database inside DATA_DIR. */
export const DB_FILE_NAME = 'vault.db';

export interface CardsTable {
  token: string;
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  fingerprint: string;
  fingerprint_kid: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  pivot_jti: string;
  conversation_id: string;
  step_id: string;
  subject: string;
  created_at: string;
}

export interface UsedJtiTable {
  jti: string;
  /** `exp` of the token, in epoch seconds: rows may be purged once it is well past. */
  exp: number;
  used_at: string;
}

export interface NoticeOutboxTable {
  /** The notice's `jti`. */
  id: string;
  /** JSON of the notice claims minus iat/exp (which are set at each signing). */
  claims: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  /** Status of the last failed attempt ("http 503", "network"): never a body. */
  last_error: string | null;
}

export interface AddressesTable {
  /** `adr_` + random; the AES-GCM additional data. */
  id: string;
  key_id: string;
  iv: Buffer;
  ciphertext: Buffer;
  auth_tag: Buffer;
  pivot_jti: string;
  conversation_id: string;
  step_id: string;
  subject: string;
  created_at: string;
}

export interface TransferAnswersTable {
  id: string;
  outcome: 'confirmed' | 'declined';
  amount_minor: number;
  currency: string;
  payee_name: string;
  payee_last4: string;
  pivot_jti: string;
  conversation_id: string;
  step_id: string;
  subject: string;
  created_at: string;
}

export interface PayeeAnswersTable {
  id: string;
  outcome: 'confirmed' | 'declined';
  payee_name: string;
  payee_last4: string;
  pivot_jti: string;
  conversation_id: string;
  step_id: string;
  subject: string;
  created_at: string;
}

export interface ChargesTable {
  /** `chg_` + random; also the processor's idempotency key. */
  id: string;
  client_id: string;
  /** Hex SHA-256 of the client's idempotency key. */
  idempotency_key_hash: string;
  /** Hex SHA-256 of the canonical request (token, amount, reference): a reused key must match it. */
  request_hash: string;
  card_token: string;
  amount_minor: number;
  currency: string;
  reference: string;
  /** `pending` while the processor is asked; deleted again when it did not answer. */
  status: 'pending' | 'approved' | 'declined';
  processor_reference: string | null;
  /** 1 when the CVC went with this charge (the card's first), else 0. */
  with_cvc: number;
  created_at: string;
  updated_at: string;
}

export interface UsedClientJtiTable {
  client_id: string;
  jti: string;
  /** `exp` of the credential, in epoch seconds. */
  exp: number;
  used_at: string;
}

export interface AuditLogTable {
  seq: number;
  at: string;
  actor_kind: string;
  actor_id: string;
  action: string;
  resource: string;
  outcome: string;
  origin: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

export interface PasskeysTable {
  credential_id: string;
  subject: string;
  public_key: Buffer;
  counter: number;
  /** JSON array of AuthenticatorTransport. */
  transports: string;
  backed_up: number;
  enrolment_id: string;
  created_at: string;
  last_used_at: string | null;
}

export interface PasskeyEnrolmentsTable {
  id: string;
  subject: string;
  conversation_id: string;
  challenge: string;
  code_hash: string;
  attempts: number;
  /** Epoch ms. */
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface PasskeyChallengesTable {
  challenge: string;
  pivot_jti: string;
  subject: string;
  /** Epoch ms. */
  expires_at: number;
  used_at: number | null;
}

export interface VaultDatabase {
  passkeys: PasskeysTable;
  passkey_enrolments: PasskeyEnrolmentsTable;
  passkey_challenges: PasskeyChallengesTable;
  charges: ChargesTable;
  used_client_jti: UsedClientJtiTable;
  audit_log: AuditLogTable;
  cards: CardsTable;
  addresses: AddressesTable;
  transfer_answers: TransferAnswersTable;
  payee_answers: PayeeAnswersTable;
  used_jti: UsedJtiTable;
  notice_outbox: NoticeOutboxTable;
}

/** Open (creating if needed) and migrate the vault database at `file`. */
export async function openVaultDatabase(file: string): Promise<Kysely<VaultDatabase>> {
  return (await openVaultStore(file)).db;
}

/**
 * Open and migrate the vault database, returning both the Kysely instance (schema, cold queries)
 * and the underlying SQLite handle (hot-path prepared statements, see statements.ts). Both share
 * one connection; no Kysely transaction is ever held open across an `await` at run time.
 */
export async function openVaultStore(file: string): Promise<{ db: Kysely<VaultDatabase>; sqlite: Database.Database }> {
  // Owner-only, like the key file (SQLite gives its -wal/-shm files the same mode).
  closeSync(openSync(file, 'a', 0o600));
  if (process.platform !== 'win32') chmodSync(file, 0o600);
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Freed pages are zeroed, so deleted rows do not linger in the file.
  sqlite.pragma('secure_delete = ON');
  // 32 MiB of page cache (the default is 2 MiB): the random-key indexes stay in memory.
  sqlite.pragma('cache_size = -32768');
  const db = new Kysely<VaultDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...MIGRATIONS }) } });
  const { error } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    throw error instanceof Error ? error : new Error('vault database migration failed');
  }
  await sql`select 1`.execute(db);
  return { db, sqlite };
}
