/**
 * The frame page and its assets.
 *
 * At start the service reads every `.js`/`.css` file directly in `dist/vault/` into memory and
 * computes its sha384 Subresource Integrity value. `GET /frame/assets/:file` serves only those
 * exact names (a lookup in that table: no path is ever joined from the request, so there is no
 * traversal). The page references them with `integrity`, and carries the frame's configuration
 * as non-executable JSON (`<script type="application/json">`): no inline script, no inline style.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FRAME_ASSETS_PATH, FRAME_CONFIG_ELEMENT_ID, serializeFrameConfig, type FrameConfig } from '../../shared/frame-config.ts';

/** The frame's script file name in dist/vault (vite.config.ts, realm `vault`). */
export const FRAME_SCRIPT_FILE = 'frame.js';

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface FrameAsset {
  readonly body: Buffer;
  readonly contentType: string;
  /** `sha384-<base64>` */
  readonly integrity: string;
}

export interface FrameAssets {
  /** File name -> asset, for the names found at start only. */
  readonly files: ReadonlyMap<string, FrameAsset>;
  /** True when the frame script exists (else /frame cannot be served). */
  readonly hasScript: boolean;
}

export function sri(body: Buffer): string {
  return `sha384-${createHash('sha384').update(body).digest('base64')}`;
}

/** Load the built assets from `distDir` (missing dir: no assets). */
export function loadFrameAssets(distDir: string): FrameAssets {
  const files = new Map<string, FrameAsset>();
  if (existsSync(distDir)) {
    for (const name of readdirSync(distDir)) {
      const ext = name.slice(name.lastIndexOf('.'));
      const contentType = TYPES[ext];
      if (!contentType || !/^[A-Za-z0-9._-]+$/.test(name)) continue;
      const path = join(distDir, name);
      if (!statSync(path).isFile()) continue;
      const body = readFileSync(path);
      files.set(name, { body, contentType, integrity: sri(body) });
    }
  }
  return { files, hasScript: files.has(FRAME_SCRIPT_FILE) };
}

function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The HTML of `GET /frame`. */
export function renderFramePage(assets: FrameAssets, config: FrameConfig): string {
  const script = assets.files.get(FRAME_SCRIPT_FILE);
  if (!script) throw new Error(`${FRAME_SCRIPT_FILE} missing`);
  const styles = [...assets.files.entries()]
    .filter(([name]) => name.endsWith('.css'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, asset]) => `<link rel="stylesheet" href="${attr(`${FRAME_ASSETS_PATH}/${name}`)}" integrity="${attr(asset.integrity)}">`);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    // Until the step is known; the frame then names it (protocol/steps FRAME_TITLES).
    '<title>Secure form</title>',
    ...styles,
    `<script type="application/json" id="${FRAME_CONFIG_ELEMENT_ID}">${serializeFrameConfig(config)}</script>`,
    `<script src="${attr(`${FRAME_ASSETS_PATH}/${FRAME_SCRIPT_FILE}`)}" integrity="${attr(script.integrity)}" defer></script>`,
    '</head>',
    '<body>',
    '<main id="spc-root"></main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
