/**
 * Change detection (PCI DSS 4.0 req. 11.6.1) inside `npm test`: the frame page rendered from
 * the CURRENT build (dist/vault, which `npm test` builds before the unit tests) loads exactly
 * the scripts and stylesheets of the committed inventory vault/frame-inventory.json.
 *
 * Sound only because `vite build --mode vault` is byte-for-byte deterministic (two clean builds
 * give the same hashes). This test builds nothing: it reads dist/vault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFrameAssets, renderFramePage } from '../../vault/service/http/frame-page.ts';
import { buildInventory, compareInventory, describeChanges, parseInventory, scanFramePage } from '../../scripts/lib/inventory.ts';

const root = resolve(import.meta.dirname, '../..');
const distDir = join(root, 'dist/vault');

describe('vault/frame-inventory.json', () => {
  it('lists exactly the scripts and stylesheets the frame page loads, as built from the current source', () => {
    expect(existsSync(join(distDir, 'frame.js')), 'dist/vault/frame.js missing: run "npm run build" first').toBe(true);
    const assets = loadFrameAssets(distDir);
    const html = renderFramePage(assets, {
      version: 1,
      allowedParentOrigins: ['http://bank.localhost:8080'],
      issuer: 'http://chat.localhost:8081',
      audience: 'http://vault.localhost:8082',
    });
    const served = buildInventory(
      scanFramePage(html).assets.map((a) => {
        const file = a.url.slice(a.url.lastIndexOf('/') + 1);
        const asset = assets.files.get(file);
        if (!asset) throw new Error(`${a.url}: not in dist/vault`);
        expect(a.integrity, `${a.url}: integrity attribute`).toBe(asset.integrity);
        return { path: a.url, kind: a.kind, sha384: asset.integrity };
      }),
    );
    const committed = parseInventory(JSON.parse(readFileSync(join(root, 'vault/frame-inventory.json'), 'utf8')));
    const { changes } = compareInventory(committed, served);
    expect(
      describeChanges(changes),
      'The vault frame\'s scripts changed without vault/frame-inventory.json (PCI DSS 11.6.1). If the change is intended, ' +
        'review it, then run "npm run audit:boundary -- --update-inventory" and commit the inventory with the change.',
    ).toEqual([]);
  });
});
