/**
 * The frame's script inventory (PCI DSS 4.0 req. 6.4.3) and its change detection (req. 11.6.1).
 *
 * `vault/frame-inventory.json` lists every script and stylesheet the vault frame page loads, with
 * its SHA-384 in Subresource Integrity form, as built from the committed source. The evidence
 * pack (`scripts/audit-boundary.ts`) compares what the running vault serves with it; any added,
 * removed or changed file fails the audit until the inventory is rewritten on purpose
 * (`npm run audit:boundary -- --update-inventory`), which is a reviewable change in a commit.
 *
 * Pure: no file or network access, so that test/tooling/inventory.test.ts can cover it with
 * fixtures. Nothing here imports vault/ code.
 *
 * @module
 */
import { createHash } from 'node:crypto';

export type AssetKind = 'script' | 'stylesheet';

export interface InventoryEntry {
  /** Path on the vault origin, as the frame page references it (e.g. `/frame/assets/frame.js`). */
  readonly path: string;
  readonly kind: AssetKind;
  /** `sha384-<base64>` (the SRI form). */
  readonly sha384: string;
}

export interface Inventory {
  readonly version: 1;
  readonly entries: readonly InventoryEntry[];
}

export interface InventoryChange {
  readonly change: 'added' | 'removed' | 'changed';
  readonly path: string;
  /** What the committed inventory says (removed, changed). */
  readonly expected?: string;
  /** What is served now (added, changed). */
  readonly actual?: string;
}

export interface InventoryComparison {
  readonly ok: boolean;
  readonly changes: readonly InventoryChange[];
}

/** What the inventory file says about itself (kept in the file, ignored by the comparison). */
export const INVENTORY_NOTE =
  'Every script and stylesheet the vault frame page (GET /frame) loads, with its SHA-384 as built from the committed source ' +
  '(PCI DSS 4.0 req. 6.4.3). `npm run audit:boundary` fails when the served files differ (req. 11.6.1). After reviewing a ' +
  'change, rewrite this file with `npm run audit:boundary -- --update-inventory` and commit it.';

const SRI = /^sha384-[A-Za-z0-9+/]{64}$/;

/** SHA-384 of `body` in SRI form (`sha384-<base64>`). */
export function sha384Integrity(body: Uint8Array): string {
  return `sha384-${createHash('sha384').update(body).digest('base64')}`;
}

function sortEntries(entries: readonly InventoryEntry[]): InventoryEntry[] {
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** An inventory of `entries` (sorted by path; fails on duplicates or a malformed hash). */
export function buildInventory(entries: readonly InventoryEntry[]): Inventory {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.path)) throw new Error(`inventory: ${e.path} listed twice`);
    seen.add(e.path);
    if (!SRI.test(e.sha384)) throw new Error(`inventory: ${e.path}: sha384 must be "sha384-<base64>"`);
  }
  return { version: 1, entries: sortEntries(entries).map(({ path, kind, sha384 }) => ({ path, kind, sha384 })) };
}

/** Validate the parsed JSON of an inventory file; throws with the reason. */
export function parseInventory(json: unknown): Inventory {
  const fail = (why: string): never => {
    throw new Error(`inventory: ${why}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('not an object');
  const o = json as Record<string, unknown>;
  if (o.version !== 1) fail('version must be 1');
  if (!Array.isArray(o.entries)) return fail('entries must be an array');
  const entries = o.entries.map((raw, i): InventoryEntry => {
    if (typeof raw !== 'object' || raw === null) return fail(`entries[${i}] not an object`);
    const e = raw as Record<string, unknown>;
    if (typeof e.path !== 'string' || !e.path.startsWith('/')) fail(`entries[${i}].path must be an absolute path`);
    if (e.kind !== 'script' && e.kind !== 'stylesheet') fail(`entries[${i}].kind must be script or stylesheet`);
    if (typeof e.sha384 !== 'string') fail(`entries[${i}].sha384 missing`);
    return { path: e.path as string, kind: e.kind as AssetKind, sha384: e.sha384 as string };
  });
  return buildInventory(entries);
}

/** The file text of an inventory (stable: sorted, two-space JSON, final newline). */
export function serializeInventory(inventory: Inventory): string {
  const { entries } = buildInventory(inventory.entries);
  return `${JSON.stringify({ $comment: INVENTORY_NOTE, version: 1, entries }, null, 2)}\n`;
}

/** Compare the committed inventory with what is served now. */
export function compareInventory(committed: Inventory, served: Inventory): InventoryComparison {
  const before = new Map(committed.entries.map((e) => [e.path, e]));
  const now = new Map(served.entries.map((e) => [e.path, e]));
  const changes: InventoryChange[] = [];
  for (const path of [...new Set([...before.keys(), ...now.keys()])].sort()) {
    const a = before.get(path);
    const b = now.get(path);
    if (a && !b) changes.push({ change: 'removed', path, expected: a.sha384 });
    else if (!a && b) changes.push({ change: 'added', path, actual: b.sha384 });
    else if (a && b && (a.sha384 !== b.sha384 || a.kind !== b.kind)) {
      changes.push({ change: 'changed', path, expected: `${a.kind} ${a.sha384}`, actual: `${b.kind} ${b.sha384}` });
    }
  }
  return { ok: changes.length === 0, changes };
}

/** One line per change, for a terminal or a report. */
export function describeChanges(changes: readonly InventoryChange[]): string[] {
  return changes.map((c) =>
    c.change === 'added'
      ? `added: ${c.path} (${c.actual}) is loaded by the frame but not in the inventory`
      : c.change === 'removed'
        ? `removed: ${c.path} is in the inventory but no longer loaded by the frame`
        : `changed: ${c.path}: inventory ${c.expected}, served ${c.actual}`,
  );
}

// ---- the frame page's HTML ----

export interface PageAsset {
  readonly kind: AssetKind;
  /** The `src`/`href` as written in the page. */
  readonly url: string;
  /** The `integrity` attribute, or null when absent. */
  readonly integrity: string | null;
}

export interface FramePageScan {
  /** External scripts and stylesheets, in page order. */
  readonly assets: readonly PageAsset[];
  /** `<script>` elements without `src` whose type is executable (should be none). */
  readonly inlineScripts: number;
  /** Text of every `<script type="application/json">` element, by `id`. */
  readonly jsonData: Readonly<Record<string, string>>;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attributes(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const body = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  for (const m of body.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    attrs.set(m[1]!.toLowerCase(), decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

const EXECUTABLE_SCRIPT_TYPES = new Set(['', 'text/javascript', 'application/javascript', 'module']);

/** Every `<script>` and `<link rel=stylesheet>` of an HTML page, with its integrity attribute. */
export function scanFramePage(html: string): FramePageScan {
  const assets: PageAsset[] = [];
  const jsonData: Record<string, string> = {};
  let inlineScripts = 0;
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>|<link\b[^>]*>/gi)) {
    const isLink = /^<link/i.test(m[0]);
    const attrs = attributes(isLink ? m[0] : `<script${m[1]}>`);
    if (isLink) {
      const rel = (attrs.get('rel') ?? '').toLowerCase().split(/\s+/);
      if (rel.includes('stylesheet') || rel.includes('modulepreload') || rel.includes('preload')) {
        assets.push({ kind: rel.includes('stylesheet') ? 'stylesheet' : 'script', url: attrs.get('href') ?? '', integrity: attrs.get('integrity') ?? null });
      }
      continue;
    }
    const type = (attrs.get('type') ?? '').trim().toLowerCase();
    if (attrs.has('src')) {
      assets.push({ kind: 'script', url: attrs.get('src') ?? '', integrity: attrs.get('integrity') ?? null });
    } else if (type === 'application/json') {
      const id = attrs.get('id') ?? '';
      jsonData[id] = m[2] ?? '';
    } else if (EXECUTABLE_SCRIPT_TYPES.has(type)) {
      inlineScripts += 1;
    }
  }
  return { assets, inlineScripts, jsonData };
}
