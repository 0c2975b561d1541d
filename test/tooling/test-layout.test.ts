/**
 * Tests mirror the source: a unit test of server/, vault/ or widget/ sits in the folder of
 * test/<realm>/ that mirrors the module it mainly tests (test/server/auth/login-guard.test.ts for
 * server/auth/login-guard.ts, test/vault/frame/connect.test.ts for vault/frame/connect.ts). Tests
 * of a whole service may sit at the realm's root (test/server/http.test.ts). Two rules:
 *
 * - a test file's folder has a counterpart in the source (no test/server/foo/ without server/foo/);
 * - a test named after a source module of its realm (`login-guard.test.ts`) sits in the folder of
 *   a module of that name, so a test cannot drift back to the realm's root or another folder.
 *
 * Shared helpers (files that are not `*.test.ts`) may sit anywhere. test/attacks, test/e2e and the
 * other cross-cutting folders are not mirrored.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The realms whose tests mirror their source folders. */
export const MIRRORED_REALMS = ['server', 'vault', 'widget'] as const;

/**
 * The problems of a layout: `testFiles` and `sourceFiles` are paths from the repository root with
 * `/` separators (test/server/auth/login-guard.test.ts, server/auth/login-guard.ts); a source
 * folder exists when some source file is in it or below it.
 */
export function layoutProblems(testFiles: readonly string[], sourceFiles: readonly string[]): string[] {
  const folders = new Set<string>();
  const modules = new Map<string, Set<string>>(); // "<realm>:<basename>" -> folders holding it
  for (const file of sourceFiles) {
    const folder = posix.dirname(file);
    for (let f = folder; f !== '.'; f = posix.dirname(f)) folders.add(f);
    const name = posix.basename(file).replace(/\.[^.]+$/, '');
    const key = `${file.split('/')[0]}:${name}`;
    if (!modules.has(key)) modules.set(key, new Set());
    modules.get(key)!.add(folder);
  }
  const problems: string[] = [];
  for (const file of testFiles) {
    const parts = file.split('/');
    const realm = parts[1];
    if (parts[0] !== 'test' || !(MIRRORED_REALMS as readonly string[]).includes(realm ?? '') || !file.endsWith('.test.ts')) continue;
    const folder = parts.slice(1, -1).join('/');
    if (!folders.has(folder)) {
      problems.push(`${file}: no folder ${folder}/ in the source`);
      continue;
    }
    const homes = modules.get(`${realm}:${posix.basename(file, '.test.ts')}`);
    if (homes && !homes.has(folder)) {
      problems.push(`${file}: tests a module of ${[...homes].sort().map((h) => `${h}/`).join(' or ')}; move it to test/${[...homes].sort()[0]}/`);
    }
  }
  return problems;
}

/** Every file below `dir` (relative to the repository root, `/` separators). */
function filesBelow(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((entry) => {
    const rel = `${dir}/${entry}`;
    if (entry === 'node_modules') return [];
    return statSync(join(ROOT, rel)).isDirectory() ? filesBelow(rel) : [rel];
  });
}

describe('test layout', () => {
  const testFiles = MIRRORED_REALMS.flatMap((realm) => filesBelow(`test/${realm}`));
  const sourceFiles = MIRRORED_REALMS.flatMap((realm) => filesBelow(realm));

  it('puts every unit test of server/, vault/ and widget/ in the folder that mirrors its module', () => {
    // The walk found the tree (a broken walk would pass with nothing to check).
    expect(testFiles).toContain('test/server/auth/login-guard.test.ts');
    expect(testFiles).toContain('test/vault/service/steps/step-kinds.test.ts');
    expect(sourceFiles).toContain('server/auth/login-guard.ts');
    expect(layoutProblems(testFiles, sourceFiles)).toEqual([]);
  });

  it('fails for a test in a folder the source does not have', () => {
    expect(layoutProblems(['test/server/foo/x.test.ts', 'test/vault/service/nowhere/y.test.ts'], sourceFiles)).toEqual([
      'test/server/foo/x.test.ts: no folder server/foo/ in the source',
      'test/vault/service/nowhere/y.test.ts: no folder vault/service/nowhere/ in the source',
    ]);
  });

  it('fails for a test of a module that sits outside that module’s folder (flat again, or in the wrong folder)', () => {
    const source = ['server/app.ts', 'server/auth/login-guard.ts', 'server/ws/feed.ts', 'vault/frame/config.ts', 'vault/service/config.ts'];
    expect(
      layoutProblems(
        [
          'test/server/login-guard.test.ts',
          'test/server/ws/login-guard.test.ts',
          'test/server/auth/login-guard.test.ts',
          'test/server/app.test.ts',
          'test/server/http.test.ts',
          'test/vault/frame/config.test.ts',
          'test/vault/service/config.test.ts',
          'test/vault/config.test.ts',
        ],
        source,
      ),
    ).toEqual([
      'test/server/login-guard.test.ts: tests a module of server/auth/; move it to test/server/auth/',
      'test/server/ws/login-guard.test.ts: tests a module of server/auth/; move it to test/server/auth/',
      'test/vault/config.test.ts: tests a module of vault/frame/ or vault/service/; move it to test/vault/frame/',
    ]);
  });

  it('leaves helpers, other folders and the realm roots alone', () => {
    expect(
      layoutProblems(
        ['test/server/helpers.ts', 'test/server/foo/helpers.ts', 'test/attacks/charges.test.ts', 'test/e2e/x.spec.ts', 'test/server/purge.test.ts'],
        ['server/app.ts'],
      ),
    ).toEqual([]);
  });
});
