/**
 * The frame's script inventory (PCI DSS 4.0 req. 6.4.3) and its change detection (req. 11.6.1):
 * scripts/lib/inventory.ts, used by `npm run audit:boundary`.
 */
import { describe, expect, it } from 'vitest';
import {
  buildInventory,
  compareInventory,
  describeChanges,
  parseInventory,
  scanFramePage,
  serializeInventory,
  sha384Integrity,
  type Inventory,
} from '../../scripts/lib/inventory.ts';

const hash = (text: string) => sha384Integrity(Buffer.from(text));

const committed: Inventory = buildInventory([
  { path: '/frame/assets/frame.js', kind: 'script', sha384: hash('frame v1') },
  { path: '/frame/assets/frame.css', kind: 'stylesheet', sha384: hash('css v1') },
]);

describe('compareInventory', () => {
  it('identical inventories (in any order) -> ok, no changes', () => {
    const served = buildInventory([...committed.entries].reverse());
    expect(compareInventory(committed, served)).toEqual({ ok: true, changes: [] });
  });

  it('a changed hash -> fails, naming the file with both hashes', () => {
    const served = buildInventory([
      { path: '/frame/assets/frame.js', kind: 'script', sha384: hash('frame v2 (injected skimmer)') },
      { path: '/frame/assets/frame.css', kind: 'stylesheet', sha384: hash('css v1') },
    ]);
    const result = compareInventory(committed, served);
    expect(result.ok).toBe(false);
    expect(result.changes).toEqual([
      { change: 'changed', path: '/frame/assets/frame.js', expected: `script ${hash('frame v1')}`, actual: `script ${hash('frame v2 (injected skimmer)')}` },
    ]);
    expect(describeChanges(result.changes)[0]).toContain('changed: /frame/assets/frame.js');
  });

  it('an added script -> fails, naming it', () => {
    const served = buildInventory([...committed.entries, { path: '/frame/assets/extra.js', kind: 'script', sha384: hash('extra') }]);
    const result = compareInventory(committed, served);
    expect(result.ok).toBe(false);
    expect(result.changes).toEqual([{ change: 'added', path: '/frame/assets/extra.js', actual: hash('extra') }]);
    expect(describeChanges(result.changes)[0]).toMatch(/^added: \/frame\/assets\/extra\.js/);
  });

  it('a removed script -> fails, naming it', () => {
    const served = buildInventory(committed.entries.filter((e) => e.kind !== 'script'));
    const result = compareInventory(committed, served);
    expect(result.ok).toBe(false);
    expect(result.changes).toEqual([{ change: 'removed', path: '/frame/assets/frame.js', expected: hash('frame v1') }]);
    expect(describeChanges(result.changes)[0]).toMatch(/^removed: \/frame\/assets\/frame\.js/);
  });

  it('the same bytes served as another kind -> fails', () => {
    const served = buildInventory(committed.entries.map((e) => (e.kind === 'stylesheet' ? { ...e, kind: 'script' as const } : e)));
    expect(compareInventory(committed, served).changes.map((c) => c.change)).toEqual(['changed']);
  });
});

describe('inventory file', () => {
  it('round-trips through serializeInventory / parseInventory, sorted by path', () => {
    const text = serializeInventory(committed);
    const parsed = parseInventory(JSON.parse(text));
    expect(parsed).toEqual(committed);
    expect(parsed.entries.map((e) => e.path)).toEqual(['/frame/assets/frame.css', '/frame/assets/frame.js']);
    expect(serializeInventory(parsed)).toBe(text);
  });

  it('refuses a malformed file: wrong version, duplicate path, bad hash, bad kind', () => {
    const entry = { path: '/frame/assets/frame.js', kind: 'script', sha384: hash('x') };
    expect(() => parseInventory({ version: 2, entries: [] })).toThrow(/version/);
    expect(() => parseInventory({ version: 1, entries: [entry, entry] })).toThrow(/twice/);
    expect(() => parseInventory({ version: 1, entries: [{ ...entry, sha384: 'sha256-abc' }] })).toThrow(/sha384/);
    expect(() => parseInventory({ version: 1, entries: [{ ...entry, kind: 'image' }] })).toThrow(/kind/);
  });
});

describe('scanFramePage', () => {
  it('finds every script and stylesheet with its integrity, the JSON config, and counts inline scripts', () => {
    const html = [
      '<link rel="stylesheet" href="/frame/assets/a.css" integrity="sha384-AAA">',
      '<link rel="icon" href="/favicon.ico">',
      '<script type="application/json" id="spc-vault-config">{"version":1}</script>',
      '<script src="/frame/assets/frame.js" integrity="sha384-BBB" defer></script>',
      "<script src='/other.js'></script>",
      '<script>alert(1)</script>',
      '<script type="module">import "/x.js"</script>',
    ].join('\n');
    const scan = scanFramePage(html);
    expect(scan.assets).toEqual([
      { kind: 'stylesheet', url: '/frame/assets/a.css', integrity: 'sha384-AAA' },
      { kind: 'script', url: '/frame/assets/frame.js', integrity: 'sha384-BBB' },
      { kind: 'script', url: '/other.js', integrity: null },
    ]);
    expect(scan.jsonData).toEqual({ 'spc-vault-config': '{"version":1}' });
    expect(scan.inlineScripts).toBe(2);
  });
});
