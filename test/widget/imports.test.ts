/** The widget realm imports only widget/, protocol/ and npm packages (docs/design.md, "Code layout and import rules"). */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('widget imports', () => {
  it('reach only widget/, protocol/ and npm packages', () => {
    const offending: string[] = [];
    for (const file of files(join(ROOT, 'widget'))) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)) {
        if (!spec!.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(file), spec!));
        if (!target.startsWith('widget/') && !target.startsWith('protocol/')) offending.push(`${relative(ROOT, file)} -> ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
