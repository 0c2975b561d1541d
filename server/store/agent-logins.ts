/**
 * Agent sign-in guard state and audit trail (migration 0008). The counters live in the store,
 * not in memory, so a restart does not hand an attacker fresh tries and several chat server
 * instances share them; the policy itself is server/auth/login-guard.ts, run by {@link
 * AgentLoginStore.update} inside one transaction so that parallel tries are counted one by one.
 *
 * @module
 */
import type { Kysely, Selectable } from 'kysely';
import type { AgentLoginAuditTable, AgentLoginGuardTable, ChatDatabase } from '../db/schema.ts';
import type { SyncExecutor } from '../db/sync.ts';

export interface LoginCounter {
  /** Failures counted (tries in progress included). */
  readonly failures: number;
  readonly lastFailureAt: number;
  /** No try before this time (ms). */
  readonly nextAttemptAt: number;
  /** Set when the account locked; only an operator (or a success already under way) clears it. */
  readonly lockedAt: number | null;
}

export type LoginScope = 'account' | 'client';

/** The two counters one try is judged by: the account name as typed and the client address. */
export interface LoginKeys {
  readonly account: string;
  readonly client: string;
}

export interface LoginCounters {
  readonly account: LoginCounter | undefined;
  readonly client: LoginCounter | undefined;
}

export interface CounterUpdate<T> {
  /** The new row (`null` deletes it). */
  readonly account: LoginCounter | null;
  readonly client: LoginCounter | null;
  readonly result: T;
}

export interface GuardedKey extends LoginCounter {
  readonly scope: LoginScope;
  readonly key: string;
}

export type LoginAuditOutcome = 'bad_credentials' | 'locked' | 'unlocked';

export interface LoginAuditEntry {
  readonly at: number;
  readonly outcome: LoginAuditOutcome;
  /** The name shown for the audit (server/routes/agent.ts decides how much of an unknown one). */
  readonly name: string;
  readonly nameKnown: boolean;
  /** Client address, or for an operator's unlock null. */
  readonly client: string | null;
  readonly accountFailures: number | null;
  readonly clientFailures: number | null;
}

export interface AgentLoginStore {
  /**
   * In one transaction: reads both counters, gives them to `step`, writes (or deletes) what it
   * returns and returns its result.
   */
  update<T>(keys: LoginKeys, step: (stored: LoginCounters) => CounterUpdate<T>): Promise<T>;
  /** Appends one row to the durable audit trail. */
  audit(entry: LoginAuditEntry): Promise<void>;
  /** The newest audit rows, newest first. */
  listAudit(limit: number): Promise<LoginAuditEntry[]>;
  /** Counters that lock or delay at `now`, locked first. */
  listGuarded(now: number): Promise<GuardedKey[]>;
  /** Deletes the counter (lifting a lock or a delay); whether there was one. */
  clear(scope: LoginScope, key: string): Promise<boolean>;
  /** Deletes unlocked counters whose last failure is at or before the scope's cut-off, and audit rows before `auditBefore`. */
  purge(input: { accountBefore: number; clientBefore: number; auditBefore: number }): Promise<number>;
}

export class SqliteAgentLoginStore implements AgentLoginStore {
  readonly #db: Kysely<ChatDatabase>;
  readonly #sync: SyncExecutor;

  constructor(db: Kysely<ChatDatabase>, sync: SyncExecutor) {
    this.#db = db;
    this.#sync = sync;
  }

  async update<T>(keys: LoginKeys, step: (stored: LoginCounters) => CounterUpdate<T>): Promise<T> {
    return this.#sync.transaction(() => {
      const stored = { account: this.#read('account', keys.account), client: this.#read('client', keys.client) };
      const next = step(stored);
      // A refused try changes nothing: no write, so a flood of them costs reads only.
      if (!sameCounter(stored.account, next.account)) this.#write('account', keys.account, next.account);
      if (!sameCounter(stored.client, next.client)) this.#write('client', keys.client, next.client);
      return next.result;
    });
  }

  async audit(entry: LoginAuditEntry): Promise<void> {
    this.#sync.run(
      this.#db.insertInto('agent_login_audit').values({
        at: entry.at,
        outcome: entry.outcome,
        name: entry.name,
        name_known: entry.nameKnown ? 1 : 0,
        client: entry.client,
        account_failures: entry.accountFailures,
        client_failures: entry.clientFailures,
      }),
    );
  }

  async listAudit(limit: number): Promise<LoginAuditEntry[]> {
    const rows = this.#sync.all(this.#db.selectFrom('agent_login_audit').selectAll().orderBy('id', 'desc').limit(limit));
    return rows.map(toAuditEntry);
  }

  async listGuarded(now: number): Promise<GuardedKey[]> {
    const rows = this.#sync.all(
      this.#db
        .selectFrom('agent_login_guard')
        .selectAll()
        .where((eb) => eb.or([eb('locked_at', 'is not', null), eb('next_attempt_at', '>', now)]))
        .orderBy('locked_at', 'desc')
        .orderBy('scope')
        .orderBy('key'),
    );
    return rows.map((row) => ({ scope: row.scope, key: row.key, ...toCounter(row) }));
  }

  async clear(scope: LoginScope, key: string): Promise<boolean> {
    return this.#sync.run(this.#db.deleteFrom('agent_login_guard').where('scope', '=', scope).where('key', '=', key)) > 0;
  }

  async purge(input: { accountBefore: number; clientBefore: number; auditBefore: number }): Promise<number> {
    return this.#sync.transaction(() => {
      const stale = (scope: LoginScope, before: number) =>
        this.#sync.run(
          this.#db
            .deleteFrom('agent_login_guard')
            .where('scope', '=', scope)
            .where('locked_at', 'is', null)
            .where('last_failure_at', '<=', before),
        );
      return (
        stale('account', input.accountBefore) +
        stale('client', input.clientBefore) +
        this.#sync.run(this.#db.deleteFrom('agent_login_audit').where('at', '<', input.auditBefore))
      );
    });
  }

  #read(scope: LoginScope, key: string): LoginCounter | undefined {
    const row = this.#sync.first(this.#db.selectFrom('agent_login_guard').selectAll().where('scope', '=', scope).where('key', '=', key));
    return row && toCounter(row);
  }

  #write(scope: LoginScope, key: string, counter: LoginCounter | null): void {
    if (counter === null) {
      this.#sync.run(this.#db.deleteFrom('agent_login_guard').where('scope', '=', scope).where('key', '=', key));
      return;
    }
    const values = {
      failures: counter.failures,
      last_failure_at: counter.lastFailureAt,
      next_attempt_at: counter.nextAttemptAt,
      locked_at: counter.lockedAt,
    };
    this.#sync.run(
      this.#db
        .insertInto('agent_login_guard')
        .values({ scope, key, ...values })
        .onConflict((oc) => oc.columns(['scope', 'key']).doUpdateSet(values)),
    );
  }
}

function sameCounter(a: LoginCounter | undefined, b: LoginCounter | null): boolean {
  if (a === undefined || b === null) return a === undefined && b === null;
  return a.failures === b.failures && a.lastFailureAt === b.lastFailureAt && a.nextAttemptAt === b.nextAttemptAt && a.lockedAt === b.lockedAt;
}

function toCounter(row: Selectable<AgentLoginGuardTable>): LoginCounter {
  return { failures: row.failures, lastFailureAt: row.last_failure_at, nextAttemptAt: row.next_attempt_at, lockedAt: row.locked_at };
}

function toAuditEntry(row: Selectable<AgentLoginAuditTable>): LoginAuditEntry {
  return {
    at: row.at,
    outcome: row.outcome === 'locked' || row.outcome === 'unlocked' ? row.outcome : 'bad_credentials',
    name: row.name,
    nameKnown: row.name_known === 1,
    client: row.client,
    accountFailures: row.account_failures,
    clientFailures: row.client_failures,
  };
}
