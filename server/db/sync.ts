/**
 * Executes Kysely-built queries synchronously on a better-sqlite3 handle, with a prepared
 * statement cache. See database.ts for why the chat store runs synchronously.
 *
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Compilable } from 'kysely';

/**
 * A query compiled ONCE by Kysely, with named slots for its values: hot paths (append, replay,
 * summaries) skip Kysely's per-call compile (~40 µs a query) and run a cached statement.
 */
export interface PreparedQuery<R, K extends string> {
  all(values: Readonly<Record<K, unknown>>): R[];
  first(values: Readonly<Record<K, unknown>>): R | undefined;
  run(values: Readonly<Record<K, unknown>>): number;
}

type Slot<K extends string> = { readonly name: K } | { readonly constant: unknown };

/** Distinct SQL texts kept prepared; the store issues a few dozen. */
export const STATEMENT_CACHE_SIZE = 200;

export class SyncExecutor {
  readonly #db: BetterSqlite3.Database;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  /** All rows of a SELECT (or of a statement with RETURNING). */
  all<R>(query: Compilable<R>): R[] {
    const { sql, parameters } = query.compile();
    return this.#statement(sql).all(...parameters) as R[];
  }

  /** The first row, or undefined. */
  first<R>(query: Compilable<R>): R | undefined {
    const { sql, parameters } = query.compile();
    const stmt = this.#statement(sql);
    return (stmt.reader ? stmt.get(...parameters) : undefined) as R | undefined;
  }

  /** Runs a statement without rows; returns the number of rows changed. */
  run(query: Compilable<unknown>): number {
    const { sql, parameters } = query.compile();
    return this.#statement(sql).run(...parameters).changes;
  }

  /**
   * Compiles `build` once. `build` receives one placeholder per name (typed `never`, so it fits
   * any column) and must use each only as a plain value; at run time the placeholders are
   * replaced, by position, with the values given.
   */
  prepare<R, K extends string>(names: readonly K[], build: (p: Readonly<Record<K, never>>) => Compilable<R>): PreparedQuery<R, K> {
    const marker = (name: string) => `\u0000slot:${name}\u0000`;
    const placeholders = Object.fromEntries(names.map((n) => [n, marker(n)])) as unknown as Record<K, never>;
    const byMarker = new Map<unknown, K>(names.map((n) => [marker(n), n]));
    const { sql, parameters } = build(placeholders).compile();
    const slots: Slot<K>[] = parameters.map((p) => {
      const name = byMarker.get(p);
      return name === undefined ? { constant: p } : { name };
    });
    for (const name of names) {
      if (!slots.some((s) => 'name' in s && s.name === name)) throw new Error(`prepared query does not use ${name}`);
    }
    const stmt = this.#db.prepare(sql);
    const bind = (values: Readonly<Record<K, unknown>>) => slots.map((s) => ('name' in s ? values[s.name] : s.constant));
    return {
      all: (values) => stmt.all(...bind(values)) as R[],
      first: (values) => (stmt.reader ? stmt.get(...bind(values)) : undefined) as R | undefined,
      run: (values) => stmt.run(...bind(values)).changes,
    };
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  #statement(sql: string): BetterSqlite3.Statement {
    let stmt = this.#cache.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}
