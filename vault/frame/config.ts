/**
 * Reading the frame's configuration and checking where the frame is embedded.
 *
 * The vault service writes the configuration into the page as a non-executable
 * `<script type="application/json" id="spc-vault-config">` element; it is parsed here with the
 * same schema the service used to write it. A missing or invalid config means no form.
 *
 * @module
 */
import * as v from 'valibot';
import { FRAME_CONFIG_ELEMENT_ID, FrameConfigSchema, type FrameConfig } from '../shared/frame-config.ts';

/** Read and validate the embedded config; `null` when absent or invalid. */
export function readFrameConfig(doc: Document): FrameConfig | null {
  const el = doc.getElementById(FRAME_CONFIG_ELEMENT_ID);
  if (!el || el.tagName !== 'SCRIPT' || el.getAttribute('type') !== 'application/json') return null;
  try {
    const parsed = v.safeParse(FrameConfigSchema, JSON.parse(el.textContent ?? ''));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

/**
 * True when the frame is framed, and every frame above it (the parent, and anything the parent
 * is itself nested in) is an allowed bank origin: a bank page framed by another site could be
 * dressed up by that site, so the vault refuses to render there too. Browsers without
 * `location.ancestorOrigins` (Firefox) rely on CSP `frame-ancestors` (which also checks every
 * ancestor) and the `connect` origin check instead.
 */
export function isEmbeddedByAllowedOrigin(win: Window, allowedOrigins: readonly string[]): boolean {
  if (win.parent === win) return false;
  const ancestors = (win.location as Partial<Location>).ancestorOrigins;
  if (ancestors === undefined) return true;
  if (ancestors.length === 0) return false;
  for (let i = 0; i < ancestors.length; i++) {
    const origin = ancestors[i];
    if (typeof origin !== 'string' || !allowedOrigins.includes(origin)) return false;
  }
  return true;
}
