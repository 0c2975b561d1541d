/**
 * The trust-zone import rules are enforced by dependency-cruiser inside `npm test`. These tests
 * prove the check can fail: each rule is broken once in a scratch tree laid out like ours, and
 * the real tree is checked to have been read at all (a cruiser that sees nothing passes anything).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const depcruise = join(root, 'node_modules/.bin/depcruise');
const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spc-depcruise-'));
  scratch.push(dir);
  cpSync(join(root, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', allowImportingTsExtensions: true, noEmit: true } }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const run = spawnSync(depcruise, ['--config', '.dependency-cruiser.cjs', 'protocol', 'widget', 'vault', 'server'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

const base = {
  'protocol/chat.ts': 'export const x = 1;\n',
  'vault/service/app.ts': "import { x } from '../../protocol/chat.ts';\nexport const y = x;\n",
  'server/app.ts': "import { x } from '../protocol/chat.ts';\nexport const z = x;\n",
  'widget/app.ts': "import { x } from '../protocol/chat.ts';\nexport const w = x;\n",
};

describe('import rules', () => {
  it('passes a tree that keeps every rule', () => {
    const run = cruise(base);
    expect(run.output).toContain('no dependency violations');
    expect(run.status).toBe(0);
  });

  const cases: Array<[rule: string, file: string, text: string]> = [
    ['server-imports-only-protocol', 'server/leak.ts', "import { y } from '../vault/service/app.ts';\nexport const l = y;\n"],
    ['nothing-imports-vault', 'widget/leak.ts', "import { y } from '../vault/service/app.ts';\nexport const l = y;\n"],
    ['widget-imports-only-protocol', 'widget/leak.ts', "import { z } from '../server/app.ts';\nexport const l = z;\n"],
    ['vault-imports-only-protocol', 'vault/frame/leak.ts', "import { z } from '../../server/app.ts';\nexport const l = z;\n"],
    ['protocol-imports-no-project-code', 'protocol/leak.ts', "import { w } from '../widget/app.ts';\nexport const l = w;\n"],
    ['no-unresolvable', 'server/leak.ts', "import { q } from '../nowhere/missing.ts';\nexport const l = q;\n"],
  ];

  for (const [rule, file, text] of cases) {
    it(`fails when ${file} breaks ${rule}`, () => {
      const run = cruise({ ...base, [file]: text });
      expect(run.status).not.toBe(0);
      expect(run.output).toContain(rule);
    });
  }

  it('cruises the real tree and finds modules in every zone', () => {
    const out = execFileSync(depcruise, ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'protocol', 'widget', 'vault', 'server'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const result = JSON.parse(out) as { modules: Array<{ source: string }>; summary: { violations: unknown[] } };
    const zones = new Set(result.modules.map((m) => m.source.split('/')[0]));
    for (const zone of ['protocol', 'widget', 'vault', 'server']) expect(zones.has(zone)).toBe(true);
    expect(result.modules.length).toBeGreaterThan(20);
    expect(result.summary.violations).toEqual([]);
  });
});
