/**
 * Every step kind is complete in every realm: declared once in protocol/steps, served by the
 * vault's pipeline at its own path, completed by the chat server from its own notices, offered by
 * the console and shown by the widget. Adding a kind to STEP_KINDS without a module in one realm
 * fails here (docs/adding-a-step-kind.md).
 */
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { StepRequestSchema } from '../../protocol/chat.ts';
import { CUSTOMER_VIEWS, DisplayInfoSchema, STEP_DEFINITIONS, STEP_FIELDS, STEP_KINDS, StepSchema } from '../../protocol/steps/index.ts';
import { STEP_NOTICE_EVENTS, VaultNoticeClaimsSchema } from '../../protocol/vault-api.ts';
import { SERVER_STEP_KINDS } from '../../server/steps/index.ts';
import { STEP_KIND_FORMS } from '../../widget/console/step-request.ts';
import { vaultStepKinds } from '../../vault/service/steps/index.ts';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../vault/service/store/migrations.ts';
import { Kysely, Migrator, SqliteDialect } from 'kysely';

async function migratedSqlite(): Promise<Database.Database> {
  const sqlite = new Database(':memory:');
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } }).migrateToLatest();
  if (error) throw error;
  return sqlite;
}

describe('the step kind registry', () => {
  it('declares each kind once, with its own vault path, a body limit and a bound on refused answers', () => {
    const paths = STEP_KINDS.map((kind) => STEP_DEFINITIONS[kind].vaultPath);
    expect(new Set(paths).size).toBe(STEP_KINDS.length);
    for (const kind of STEP_KINDS) {
      const definition = STEP_DEFINITIONS[kind];
      expect(definition.kind).toBe(kind);
      expect(definition.vaultPath).toMatch(/^\/v1\/[a-z-]+$/);
      expect(definition.maxBodyBytes).toBeGreaterThan(1024);
      expect(definition.maxRefusedPerToken).toBeGreaterThan(0);
      // The widget's list is the very same objects, kept apart for its bundle.
      expect(CUSTOMER_VIEWS[kind]).toBe(definition.customer);
    }
  });

  it('has the vault serve every kind at its declared path and limit, in STEP_KINDS order', async () => {
    const sqlite = await migratedSqlite();
    const kinds = vaultStepKinds({ sqlite, keys: undefined as never });
    expect(kinds.map((k) => k.kind)).toEqual([...STEP_KINDS]);
    for (const k of kinds) {
      expect(k.path).toBe(STEP_DEFINITIONS[k.kind].vaultPath);
      expect(k.maxBodyBytes).toBe(STEP_DEFINITIONS[k.kind].maxBodyBytes);
    }
    sqlite.close();
  });

  it('has the chat server complete every kind from notices that no other kind claims (the passkey events are no step\'s)', () => {
    const events = VaultNoticeClaimsSchema.options.map((option) => option.entries.event.literal);
    const claimed = STEP_KINDS.flatMap((kind) => SERVER_STEP_KINDS[kind].noticeEvents);
    expect([...claimed].sort()).toEqual([...STEP_NOTICE_EVENTS].sort());
    expect(events.filter((e) => !claimed.includes(e as never)).sort()).toEqual(['passkey_code', 'passkey_enrolled']);
    for (const kind of STEP_KINDS) expect(SERVER_STEP_KINDS[kind].kind).toBe(kind);
  });

  it('lists every kind in the step, request, display and console schemas', () => {
    const variantKinds = (schema: { options: readonly { entries: { kind: { literal: string } } }[] }) => schema.options.map((o) => o.entries.kind.literal);
    expect(variantKinds(StepSchema)).toEqual([...STEP_KINDS]);
    expect(variantKinds(StepRequestSchema)).toEqual([...STEP_KINDS]);
    expect(variantKinds(DisplayInfoSchema)).toEqual([...STEP_KINDS]);
    expect(Object.keys(STEP_FIELDS)).toEqual([...STEP_KINDS]);
    expect(STEP_KIND_FORMS.map((f) => f.kind)).toEqual([...STEP_KINDS]);
  });

  it('asks the agent for exactly the fields of each kind (amount, payee, purpose, reference)', () => {
    const fields = Object.fromEntries(STEP_KIND_FORMS.map((f) => [f.kind, f.fields]));
    expect(fields).toEqual({
      card_payment: ['amount', 'currency', 'purpose', 'reference'],
      address_change: ['purpose', 'reference'],
      transfer: ['amount', 'currency', 'payeeName', 'payeeAccount', 'purpose', 'reference'],
      payee_confirmation: ['payeeName', 'payeeAccount', 'purpose', 'reference'],
    });
  });

  it('copies a step through its kind schema, dropping what the kind does not have', () => {
    const step = { id: 'stp_payee0123456789abcd', kind: 'payee_confirmation', payee: { name: 'B. Okafor', accountLast4: '9876' }, purpose: 'Add payee', reference: 'PAY-1', amount: { minor: 1, currency: 'EUR' } };
    const parsed = v.parse(StepSchema, step);
    expect(parsed).toEqual({ id: step.id, kind: step.kind, payee: step.payee, purpose: step.purpose, reference: step.reference });
  });
});
